#include "nbd/error.hpp"

#include <cstring>

namespace mk::nbd {

const char* to_string(errc e) {
  switch (e) {
    case errc::usage:
      return "usage";
    case errc::io:
      return "io";
    case errc::timeout:
      return "timeout";
    case errc::system:
      return "system";
    case errc::stopped:
      return "stopped";
  }
  return "unknown";
}

error&& error::context(const std::string& where) && {
  message = where + ": " + message;
  return std::move(*this);
}

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r returns the message, which may or may not live in buf.
  return strerror_r(err, buf, sizeof buf);
}

}  // namespace mk::nbd
