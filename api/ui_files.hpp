#pragma once
// The web UI's files (api/ui/), built into the binary by api/embed_ui.cmake.
#include <string_view>
#include <vector>

namespace mk::api {

struct ui_file {
  std::string_view name;  ///< the file name under api/ui/, served as /ui/NAME
  std::string_view bytes;
};

const std::vector<ui_file>& ui_files();

}  // namespace mk::api
