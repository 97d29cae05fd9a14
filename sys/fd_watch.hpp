#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "sys/error.hpp"
#include "sys/unique_fd.hpp"

namespace mk::sys {

/// Tells when descriptors become readable, for many of them, with one thread: each watched
/// descriptor (a copy of it) sits in an epoll set, and its callback runs on that thread.
/// Instead of every supervisor looking every few milliseconds, which costs a wake-up per look
/// and still answers late: an agent's movers' ends (pidfds) and progress lines (pipes).
///
/// Callbacks run on the watcher's thread: they must be quick and must not block (say, a
/// message to an actor). A watch cancelled, or the watcher destroyed, calls nothing more.
class fd_watch {
 public:
  using id = std::uint64_t;

  static result<std::unique_ptr<fd_watch>> make();
  ~fd_watch();
  fd_watch(const fd_watch&) = delete;
  fd_watch& operator=(const fd_watch&) = delete;

  /// Calls `fn` once, when `fd` is readable (at once if it is already): for a pidfd, when its
  /// process has ended. The watch ends with that call.
  result<id> once(int fd, std::function<void()> fn);
  /// Calls `fn` each time new data arrives on `fd` (edge-triggered), and once at its end
  /// (hang-up), until cancelled: for a pipe. The callee reads until EAGAIN, or data already
  /// there when it looked may go untold.
  result<id> each(int fd, std::function<void()> fn);
  /// No call for that watch from now on (one under way may still finish). `fd` stays the
  /// caller's in both: a copy is watched.
  void cancel(id w);

 private:
  fd_watch() = default;
  result<id> add(int fd, std::uint32_t events, bool repeat, std::function<void()> fn);
  void run();

  struct entry {
    unique_fd fd;
    bool repeat = false;
    std::shared_ptr<std::function<void()>> fn;  ///< shared: a repeating call outlives the lock
  };
  unique_fd epoll_;
  unique_fd wake_;  ///< an eventfd: tells the thread to leave
  std::mutex mu_;
  std::map<id, entry> entries_;
  id next_ = 1;
  std::thread thread_;
};

}  // namespace mk::sys
