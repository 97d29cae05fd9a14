#include "agent/mover/error.hpp"

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

}  // namespace mk::vma
