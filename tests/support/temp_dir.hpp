#pragma once

#include <filesystem>
#include <string_view>

namespace mk::test {

/// A fresh directory under /tmp, removed with everything in it when the test ends, passed or
/// not. Short paths on purpose: Unix socket paths must fit in 108 bytes.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace mk::test
