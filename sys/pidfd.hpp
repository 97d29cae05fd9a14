#pragma once

#include <sys/types.h>

#include <chrono>

#include "sys/error.hpp"
#include "sys/unique_fd.hpp"

/// A pidfd names one process for good: unlike its pid, it cannot come to mean another process
/// once this one has exited. pidfd_open(2) and pidfd_send_signal(2) are made as system calls:
/// Debian 12's glibc 2.36 declares them in <sys/pidfd.h> without extern "C", so C++ cannot
/// link against its wrappers.
namespace mk::sys {

/// A pidfd for the process `pid` is now; the code is ESRCH if there is none.
result<unique_fd> open_pidfd(pid_t pid);

/// Sends `sig` to the process behind `pidfd`; the code is ESRCH if it has exited.
result<> pidfd_send_signal(int pidfd, int sig);

/// Whether the process behind `pidfd` has exited (it may still be an unreaped zombie).
result<bool> pidfd_exited(int pidfd);

/// Waits up to `timeout` for the process behind `pidfd` to exit; whether it did.
result<bool> pidfd_wait(int pidfd, std::chrono::milliseconds timeout);

}  // namespace mk::sys
