#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "config/defaults.hpp"
#include "config/expected.hpp"

namespace mk::cmd {

/// An exclusive hold on a data folder, so that two processes never drive the same jobs,
/// volumes or movers (two `up`s on one folder stop each other's demo source and movers).
/// flock(2) on FOLDER/ROLE.lock: the kernel lets go when the process ends, even by kill -9, and
/// the descriptor is close-on-exec, so the servers and movers started from here do not keep it.
class folder_lock {
 public:
  /// Creates the folder if needed; waits up to `wait` for a holder that is going away. The
  /// error names the process that holds it.
  static expected<folder_lock, std::string> take(
      const std::filesystem::path& folder, std::string_view role,
      std::chrono::milliseconds wait = defaults::nodes::lock_wait);

  folder_lock(folder_lock&& other) noexcept;
  folder_lock& operator=(folder_lock&& other) noexcept;
  folder_lock(const folder_lock&) = delete;
  folder_lock& operator=(const folder_lock&) = delete;
  ~folder_lock();

 private:
  explicit folder_lock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace mk::cmd
