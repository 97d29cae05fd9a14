#include "sys/fd_watch.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <memory>
#include <vector>

namespace mk::sys {

result<std::unique_ptr<fd_watch>> fd_watch::make() {
  std::unique_ptr<fd_watch> w(new fd_watch);
  w->epoll_ = unique_fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!w->epoll_) return fail_errno("epoll_create1", errno);
  w->wake_ = unique_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!w->wake_) return fail_errno("eventfd", errno);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;  // no watch has id 0
  if (::epoll_ctl(w->epoll_.get(), EPOLL_CTL_ADD, w->wake_.get(), &ev) != 0)
    return fail_errno("epoll_ctl", errno);
  w->thread_ = std::thread([raw = w.get()] { raw->run(); });
  return w;
}

fd_watch::~fd_watch() {
  if (thread_.joinable()) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
    thread_.join();
  }
}

result<fd_watch::id> fd_watch::once(int fd, std::function<void()> fn) {
  return add(fd, EPOLLIN | EPOLLONESHOT, false, std::move(fn));
}

result<fd_watch::id> fd_watch::each(int fd, std::function<void()> fn) {
  return add(fd, EPOLLIN | EPOLLET, true, std::move(fn));
}

result<fd_watch::id> fd_watch::add(int fd, std::uint32_t events, bool repeat,
                                   std::function<void()> fn) {
  unique_fd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!copy) return fail_errno("dup of a watched descriptor", errno);
  std::lock_guard lock(mu_);
  const id w = next_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = w;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, copy.get(), &ev) != 0)
    return fail_errno("epoll_ctl on a watched descriptor", errno);
  entries_.emplace(
      w, entry{std::move(copy), repeat, std::make_shared<std::function<void()>>(std::move(fn))});
  return w;
}

void fd_watch::cancel(id w) {
  std::lock_guard lock(mu_);
  entries_.erase(w);  // closing the copy takes it out of the epoll set
}

void fd_watch::run() {
  epoll_event events[16];
  while (true) {
    const int n = ::epoll_wait(epoll_.get(), events, 16, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    std::vector<std::shared_ptr<std::function<void()>>> calls;
    {
      std::lock_guard lock(mu_);
      for (int i = 0; i < n; ++i) {
        const id w = events[i].data.u64;
        if (w == 0) return;  // the destructor's wake-up
        auto it = entries_.find(w);
        if (it == entries_.end()) continue;  // cancelled meanwhile
        calls.push_back(it->second.fn);
        if (!it->second.repeat) entries_.erase(it);
      }
    }
    for (auto& call : calls) (*call)();
  }
}

}  // namespace mk::sys
