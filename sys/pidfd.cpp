#include "sys/pidfd.hpp"

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

namespace mk::sys {

result<unique_fd> open_pidfd(pid_t pid) {
  unique_fd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0u)));
  if (!fd) return fail_errno("pid " + std::to_string(pid) + ": pidfd_open", errno);
  return fd;
}

result<> pidfd_send_signal(int pidfd, int sig) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0u) != 0)
    return fail_errno("pidfd_send_signal", errno);
  return {};
}

result<bool> pidfd_exited(int pidfd) { return pidfd_wait(pidfd, std::chrono::milliseconds(0)); }

result<bool> pidfd_wait(int pidfd, std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  // A day at a time at most: a longer timeout fits neither poll's int nor the clock.
  constexpr std::chrono::milliseconds day = std::chrono::hours(24);
  auto left = std::max(timeout, std::chrono::milliseconds(0));
  for (;;) {
    const auto start = clock::now();
    pollfd p{pidfd, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min(left, day).count()));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return fail_errno("poll pidfd", errno);
    left -= std::chrono::ceil<std::chrono::milliseconds>(clock::now() - start);
    if (left <= std::chrono::milliseconds(0)) return false;
  }
}

}  // namespace mk::sys
