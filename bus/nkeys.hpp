#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/expected.hpp"

/// NATS nkeys: Ed25519 key pairs written as NATS writes them, so that nats-server takes the
/// JWTs this product mints (docs/security.md). A public key is base32 (no padding) of a
/// prefix byte, the 32-byte key and a CRC16/XMODEM (little-endian); a seed ("S" then the
/// kind's letter) holds the 32-byte private key under two prefix bytes. Keys are made and
/// used through OpenSSL 3; errors are values naming what failed.
namespace mk::bus::nkeys {

/// Whose key it is: its first letter ("O", "A", "U") and its prefix byte.
enum class kind : std::uint8_t { operator_key = 14 << 3, account = 0, user = 20 << 3 };

class key_pair {
 public:
  /// A new random key pair.
  static expected<key_pair, std::string> generate(kind k);
  /// The key pair of a seed as seed() writes it ("SO...", "SA...", "SU..."); the checksum and
  /// the kind are checked.
  static expected<key_pair, std::string> from_seed(std::string_view seed_text);

  key_pair(const key_pair&) = default;
  key_pair& operator=(const key_pair&) = default;
  /// Wipes the private key.
  ~key_pair();

  kind type() const { return kind_; }
  /// "O...", "A..." or "U...": how JWTs and server configurations name the key.
  std::string public_key() const;
  /// The private key as a seed: a secret, kept in files of mode 0600.
  std::string seed() const;
  /// An Ed25519 signature of `data`.
  expected<std::array<std::uint8_t, 64>, std::string> sign(
      std::span<const std::uint8_t> data) const;

 private:
  key_pair() = default;
  kind kind_ = kind::user;
  std::array<std::uint8_t, 32> private_{};
  std::array<std::uint8_t, 32> public_{};
};

/// Whether `signature` is `data` signed by the key named `public_key` ("O...", "A...",
/// "U..."); false for anything malformed.
bool verify(std::string_view public_key, std::span<const std::uint8_t> data,
            std::span<const std::uint8_t> signature);

}  // namespace mk::bus::nkeys
