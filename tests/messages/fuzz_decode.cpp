// libFuzzer target for the decoder: whatever the bytes, decoding returns a value or an error,
// and what decodes encodes again to something that decodes to the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "messages/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto any = mk::msg::decode_any(std::span(data, size));
  if (!any) return 0;
  auto wire = std::visit([](const auto& m) { return mk::msg::encode(m); }, *any);
  auto again = mk::msg::decode_any(wire);
  if (!again || again->index() != any->index()) std::abort();
  auto wire2 = std::visit([](const auto& m) { return mk::msg::encode(m); }, *again);
  if (wire2 != wire) std::abort();
  return 0;
}
