#include "vma/error.hpp"

#include <cstring>

namespace mk::vma {

const char* to_string(errc e) {
  switch (e) {
    case errc::invalid:
      return "invalid";
    case errc::not_running:
      return "not_running";
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

}  // namespace mk::vma
