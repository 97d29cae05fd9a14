#include "oma/volumes/error.hpp"

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

}  // namespace mk::volumes
