#include "oma/volumes/backend.hpp"

namespace mk::volumes {

const char* to_string(volume_state s) {
  switch (s) {
    case volume_state::detached:
      return "detached";
    case volume_state::attached:
      return "attached";
    case volume_state::partial:
      return "partial";
    case volume_state::complete:
      return "complete";
  }
  return "unknown";
}

std::optional<volume_state> parse_volume_state(std::string_view text) {
  for (auto s : {volume_state::detached, volume_state::attached, volume_state::partial,
                 volume_state::complete}) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

}  // namespace mk::volumes
