#pragma once

#include <sys/types.h>

#include <cstdint>

#include "vma/error.hpp"
#include "vma/unique_fd.hpp"

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

/// pidfd_open(2) and pidfd_send_signal(2) as system calls: Debian 12's glibc 2.36 declares
/// them in <sys/pidfd.h> without extern "C", so C++ cannot link against its wrappers.
int sys_pidfd_open(pid_t pid);
int sys_pidfd_send_signal(int pidfd, int sig);

/// The start time of whatever process has `pid` now; not_running if there is none.
result<std::uint64_t> read_start_time(pid_t pid);

/// A pidfd for the process `id` names. Opens the pidfd first and reads the start time after:
/// if the pidfd's process is still alive once the start time matched, the two belong to the
/// same process, whatever happened to the pid in between. not_running when the pid is gone or
/// belongs to another process now.
result<unique_fd> open_identified(const proc_identity& id);

/// Whether the process behind `pidfd` has exited (it may still be an unreaped zombie).
result<bool> pidfd_exited(int pidfd);

}  // namespace mk::vma
