#include "sys/random_hex.hpp"

#include <sys/random.h>

#include <cerrno>
#include <vector>

namespace mk::sys {

result<std::string> random_hex(std::size_t bytes) {
  std::vector<unsigned char> key(bytes);
  std::size_t got = 0;
  while (got < bytes) {
    const auto n = ::getrandom(key.data() + got, bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("getrandom", errno);
    got += static_cast<std::size_t>(n);
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * bytes);
  for (const unsigned char b : key) {
    hex += digits[b >> 4];
    hex += digits[b & 15];
  }
  return hex;
}

}  // namespace mk::sys
