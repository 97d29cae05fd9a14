#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/expected.hpp"

/// The two text encodings of NATS credentials, both without padding: base32 (RFC 4648) for
/// nkeys and JWT ids, base64url for the parts of a JWT (nats-server refuses padding).
namespace mk::bus {

std::string base32(std::span<const std::uint8_t> bytes);
/// An error names the first character outside the alphabet.
expected<std::vector<std::uint8_t>, std::string> base32_decode(std::string_view text);

std::string base64url(std::span<const std::uint8_t> bytes);
expected<std::vector<std::uint8_t>, std::string> base64url_decode(std::string_view text);

}  // namespace mk::bus
