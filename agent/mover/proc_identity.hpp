#pragma once

#include <sys/types.h>

#include <cstdint>

#include "agent/mover/error.hpp"
#include "sys/unique_fd.hpp"

namespace mk::vma {

/// Who a mover is, in a form that survives an agent restart (the agent persists it). A pid
/// alone may be reused by an unrelated process once the mover has exited; the pid together
/// with the start time the kernel recorded for it cannot.
struct proc_identity {
  pid_t pid = -1;
  /// Field 22 of /proc/PID/stat: clock ticks after boot at which the process started.
  std::uint64_t start_time = 0;

  friend bool operator==(const proc_identity&, const proc_identity&) = default;
};

/// The start time of whatever process has `pid` now; not_running if there is none.
result<std::uint64_t> read_start_time(pid_t pid);

/// A pidfd for the process `id` names. Opens the pidfd first and reads the start time after:
/// if the pidfd's process is still alive once the start time matched, the two belong to the
/// same process, whatever happened to the pid in between. not_running when the pid is gone or
/// belongs to another process now.
result<sys::unique_fd> open_identified(const proc_identity& id);

}  // namespace mk::vma
