#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "config/expected.hpp"
#include "messages/catalogue.hpp"

namespace mk::msg {

/// Why bytes from the bus were not a message; names the key or the limit at fault.
struct decode_error {
  std::string message;
};

template <class T>
using decoded = expected<T, decode_error>;

using bytes = std::vector<std::uint8_t>;

/// The MessagePack wire form of a message (docs/bus.md), header first.
template <catalogued T>
bytes encode(const T& message);

/// Decodes one message of type T. Size and depth are limited, trailing bytes, a wrong `type`,
/// a `v` other than 1, wrong types, unknown enum names and missing required keys are errors;
/// unknown keys are ignored. Never throws.
template <catalogued T>
decoded<T> decode(std::span<const std::uint8_t> data);

/// Decodes whichever message of the catalogue the `type` key names.
decoded<any_message> decode_any(std::span<const std::uint8_t> data);

/// Messages this process failed to decode since it started: each was dropped by its receiver
/// (docs/bus.md counts them in /metrics).
std::uint64_t decode_failures();

}  // namespace mk::msg
