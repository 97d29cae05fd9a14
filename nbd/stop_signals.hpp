#pragma once

#include <signal.h>

#include "nbd/error.hpp"

namespace mk::nbd {

/// SIGTERM and SIGINT as a descriptor the copy loop polls (signalfd), so a stop request is
/// handled between requests rather than in a handler. Also ignores SIGPIPE, so a closed
/// progress pipe cannot kill the mover. Restores the signal mask when destroyed.
class stop_signals {
 public:
  stop_signals() = default;
  stop_signals(const stop_signals&) = delete;
  stop_signals& operator=(const stop_signals&) = delete;
  ~stop_signals();

  result<> install();
  int fd() const { return fd_; }
  /// Signals received since the last call (each SIGTERM or SIGINT counts once).
  int take();

 private:
  int fd_ = -1;
  sigset_t old_mask_{};
};

}  // namespace mk::nbd
