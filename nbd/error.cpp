#include "nbd/error.hpp"

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

}  // namespace mk::nbd
