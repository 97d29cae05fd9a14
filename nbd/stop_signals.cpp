#include "nbd/stop_signals.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

namespace mk::nbd {

stop_signals::~stop_signals() {
  if (fd_ != -1) {
    ::close(fd_);
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
}

result<> stop_signals::install() {
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &mask, &old_mask_) != 0)
    return fail(errc::system, "cannot block SIGTERM and SIGINT");
  fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd_ == -1) {
    int err = errno;
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    return fail(errc::system, "signalfd: " + errno_text(err));
  }
  return {};
}

int stop_signals::take() {
  int count = 0;
  signalfd_siginfo info;
  while (::read(fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) ++count;
  return count;
}

}  // namespace mk::nbd
