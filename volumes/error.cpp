#include "volumes/error.hpp"

#include <cstring>

namespace mk::volumes {

const char* to_string(errc e) {
  switch (e) {
    case errc::invalid:
      return "invalid";
    case errc::not_found:
      return "not_found";
    case errc::exists:
      return "exists";
    case errc::busy:
      return "busy";
    case errc::timeout:
      return "timeout";
    case errc::system:
      return "system";
  }
  return "unknown";
}

std::unexpected<error> fail_errno(errc code, const std::string& what, int err) {
  char buf[256];
  // GNU strerror_r returns the message, which may or may not live in buf.
  return fail(code, what + ": " + ::strerror_r(err, buf, sizeof buf));
}

}  // namespace mk::volumes
