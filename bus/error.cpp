#include "bus/error.hpp"

namespace mk::bus {

const char* to_string(errc e) {
  switch (e) {
    case errc::not_connected:
      return "not_connected";
    case errc::timeout:
      return "timeout";
    case errc::no_responders:
      return "no_responders";
    case errc::permission:
      return "permission";
    case errc::not_found:
      return "not_found";
    case errc::conflict:
      return "conflict";
    case errc::io:
      return "io";
    case errc::invalid:
      return "invalid";
  }
  return "unknown";
}

}  // namespace mk::bus
