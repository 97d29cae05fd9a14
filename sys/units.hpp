#pragma once

#include <cstdint>
#include <string>

namespace mk::sys {

/// "12 B", "512.0 KiB", "1.2 GiB": sizes as people read them, in the mover's progress line,
/// stop details, logs and the client's tables.
std::string human_bytes(std::uint64_t bytes);

}  // namespace mk::sys
