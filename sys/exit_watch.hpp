#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "sys/error.hpp"
#include "sys/unique_fd.hpp"

namespace mk::sys {

/// Tells the moment a process ends, for many processes, with one thread: each watched pidfd
/// (a copy of it) sits in an epoll set, and a process's end calls its callback on that
/// thread, once. Instead of every supervisor looking every few milliseconds, which costs a
/// wake-up per look and still answers late.
///
/// Callbacks run on the watcher's thread: they must be quick and must not block (say, a
/// message to an actor). A watch cancelled, or the watcher destroyed, calls nothing more.
class exit_watch {
 public:
  using id = std::uint64_t;

  static result<std::unique_ptr<exit_watch>> make();
  ~exit_watch();
  exit_watch(const exit_watch&) = delete;
  exit_watch& operator=(const exit_watch&) = delete;

  /// Calls `on_exit` once when the process of `pidfd` has ended (at once if it has already).
  /// `pidfd` stays the caller's: a copy is watched.
  result<id> watch(int pidfd, std::function<void()> on_exit);
  /// No call for that watch from now on (one under way may still finish).
  void cancel(id w);

 private:
  exit_watch() = default;
  void run();

  struct entry {
    unique_fd fd;
    std::function<void()> on_exit;
  };
  unique_fd epoll_;
  unique_fd wake_;  ///< an eventfd: tells the thread to leave
  std::mutex mu_;
  std::map<id, entry> entries_;
  id next_ = 1;
  std::thread thread_;
};

}  // namespace mk::sys
