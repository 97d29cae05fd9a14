#include "bus/encodings.hpp"

namespace mk::bus {

namespace {

constexpr std::string_view base32_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view base64url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `bytes` as characters of `alphabet`, each carrying `width` bits; the last one padded with
/// zero bits.
std::string encode(std::span<const std::uint8_t> bytes, std::string_view alphabet, int width) {
  const std::uint32_t mask = (1u << width) - 1;
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (auto b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= width) {
      out.push_back(alphabet[(buffer >> (bits - width)) & mask]);
      bits -= width;
    }
  }
  if (bits > 0) out.push_back(alphabet[(buffer << (width - bits)) & mask]);
  return out;
}

expected<std::vector<std::uint8_t>, std::string> decode(std::string_view text,
                                                        std::string_view alphabet, int width,
                                                        const char* name) {
  std::vector<std::uint8_t> out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const auto at = alphabet.find(c);
    if (at == std::string_view::npos)
      return unexpected("not " + std::string(name) + ": '" + std::string(1, c) + "'");
    buffer = (buffer << width) | static_cast<std::uint32_t>(at);
    bits += width;
    if (bits >= 8) {
      out.push_back(static_cast<std::uint8_t>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

}  // namespace

std::string base32(std::span<const std::uint8_t> bytes) {
  return encode(bytes, base32_alphabet, 5);
}

expected<std::vector<std::uint8_t>, std::string> base32_decode(std::string_view text) {
  return decode(text, base32_alphabet, 5, "base32");
}

std::string base64url(std::span<const std::uint8_t> bytes) {
  return encode(bytes, base64url_alphabet, 6);
}

expected<std::vector<std::uint8_t>, std::string> base64url_decode(std::string_view text) {
  return decode(text, base64url_alphabet, 6, "base64url");
}

}  // namespace mk::bus
