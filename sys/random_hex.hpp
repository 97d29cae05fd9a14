#pragma once

#include <cstddef>
#include <string>

#include "sys/error.hpp"

namespace mk::sys {

/// `bytes` random bytes from the kernel (getrandom, waiting for its pool), in lowercase hex:
/// keys and passwords.
result<std::string> random_hex(std::size_t bytes);

}  // namespace mk::sys
