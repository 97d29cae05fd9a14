#include "bus/nkeys.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>

#include "bus/encodings.hpp"

namespace mk::bus::nkeys {

namespace {

constexpr std::uint8_t seed_prefix = 18 << 3;  // "S"

struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;

std::uint16_t crc16(std::span<const std::uint8_t> bytes) {
  std::uint16_t crc = 0;  // CRC16/XMODEM: polynomial 0x1021, no reflection, initial 0
  for (auto b : bytes) {
    crc ^= static_cast<std::uint16_t>(b << 8);
    for (int i = 0; i < 8; ++i)
      crc = (crc & 0x8000) ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<std::uint16_t>(crc << 1);
  }
  return crc;
}

/// `head` then `key`, with the checksum of both, in base32.
std::string encode(std::span<const std::uint8_t> head, std::span<const std::uint8_t> key) {
  std::vector<std::uint8_t> raw(head.begin(), head.end());
  raw.insert(raw.end(), key.begin(), key.end());
  const auto crc = crc16(raw);
  raw.push_back(static_cast<std::uint8_t>(crc & 0xff));
  raw.push_back(static_cast<std::uint8_t>(crc >> 8));
  return base32(raw);
}

bool known_kind(std::uint8_t prefix) {
  return prefix == static_cast<std::uint8_t>(kind::operator_key) ||
         prefix == static_cast<std::uint8_t>(kind::account) ||
         prefix == static_cast<std::uint8_t>(kind::user);
}

/// The decoded bytes of an encoded key, its checksum checked and removed.
expected<std::vector<std::uint8_t>, std::string> checked_bytes(std::string_view text) {
  auto raw = base32_decode(text);
  if (!raw) return unexpected(raw.error());
  if (raw->size() < 3) return unexpected(std::string("too short"));
  const auto n = raw->size() - 2;
  const auto want = static_cast<std::uint16_t>((*raw)[n] | ((*raw)[n + 1] << 8));
  if (crc16(std::span(raw->data(), n)) != want) return unexpected(std::string("bad checksum"));
  raw->resize(n);
  return raw;
}

}  // namespace

key_pair::~key_pair() { OPENSSL_cleanse(private_.data(), private_.size()); }

expected<key_pair, std::string> key_pair::generate(kind k) {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!raw) return unexpected(std::string("Ed25519 key generation failed"));
  pkey_ptr key(raw);
  key_pair out;
  out.kind_ = k;
  std::size_t priv_len = out.private_.size(), pub_len = out.public_.size();
  if (EVP_PKEY_get_raw_private_key(key.get(), out.private_.data(), &priv_len) != 1 ||
      EVP_PKEY_get_raw_public_key(key.get(), out.public_.data(), &pub_len) != 1 || priv_len != 32 ||
      pub_len != 32)
    return unexpected(std::string("Ed25519 key: cannot read its raw bytes"));
  return out;
}

expected<key_pair, std::string> key_pair::from_seed(std::string_view seed_text) {
  auto raw = checked_bytes(seed_text);
  if (!raw) return unexpected("seed: " + raw.error());
  if (raw->size() != 34 || ((*raw)[0] & 0xf8) != seed_prefix)
    return unexpected(std::string("seed: not an nkey seed"));
  const auto prefix = static_cast<std::uint8_t>((((*raw)[0] & 7) << 5) | ((*raw)[1] >> 3));
  if (!known_kind(prefix))
    return unexpected(std::string("seed: not an operator, account or user key"));
  pkey_ptr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, raw->data() + 2, 32));
  if (!key) return unexpected(std::string("seed: not an Ed25519 key"));
  key_pair out;
  out.kind_ = static_cast<kind>(prefix);
  std::copy(raw->begin() + 2, raw->end(), out.private_.begin());
  std::size_t pub_len = out.public_.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), out.public_.data(), &pub_len) != 1 || pub_len != 32)
    return unexpected(std::string("seed: cannot derive its public key"));
  return out;
}

std::string key_pair::public_key() const {
  const std::array<std::uint8_t, 1> head{static_cast<std::uint8_t>(kind_)};
  return encode(head, public_);
}

std::string key_pair::seed() const {
  const auto t = static_cast<std::uint8_t>(kind_);
  const std::array<std::uint8_t, 2> head{static_cast<std::uint8_t>(seed_prefix | (t >> 5)),
                                         static_cast<std::uint8_t>((t & 31) << 3)};
  return encode(head, private_);
}

expected<std::array<std::uint8_t, 64>, std::string> key_pair::sign(
    std::span<const std::uint8_t> data) const {
  pkey_ptr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, private_.data(), 32));
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  std::array<std::uint8_t, 64> sig{};
  std::size_t len = sig.size();
  if (!key || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, data.data(), data.size()) != 1 || len != 64)
    return unexpected(std::string("Ed25519 signature failed"));
  return sig;
}

bool verify(std::string_view public_key, std::span<const std::uint8_t> data,
            std::span<const std::uint8_t> signature) {
  auto raw = checked_bytes(public_key);
  if (!raw || raw->size() != 33 || !known_kind((*raw)[0]) || signature.size() != 64) return false;
  pkey_ptr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw->data() + 1, 32));
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  return key && ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), data.data(),
                          data.size()) == 1;
}

}  // namespace mk::bus::nkeys
