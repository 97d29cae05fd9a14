#include "nbd/read_drainer.hpp"

#include <fcntl.h>
#include <libnbd.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <mutex>
#include <thread>

#include "nbd/nbd_handles.hpp"
#include "sys/process_title.hpp"

namespace mk::nbd {

namespace {

using clock = std::chrono::steady_clock;

/// Handles handed off: never used again in this process, kept reachable until it ends.
std::mutex abandoned_mu;
std::vector<nbd_handle*>& abandoned() {
  static std::vector<nbd_handle*> handles;
  return handles;
}

std::int64_t outstanding(const std::vector<nbd_handle*>& handles) {
  std::int64_t n = 0;
  for (auto* h : handles)
    if (nbd_aio_is_closed(h) != 1 && nbd_aio_is_dead(h) != 1)
      n += std::max(0, nbd_aio_in_flight(h));
  return n;
}

/// Reads replies until none is outstanding, or none came for `io_timeout_s`; then
/// NBD_CMD_DISC on each connection and a short wait for the server to close it.
void read_out(const std::vector<nbd_handle*>& handles, double io_timeout_s) {
  const auto quiet =
      std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(io_timeout_s));
  auto deadline = clock::now() + quiet;
  auto left = outstanding(handles);
  while (left > 0 && clock::now() < deadline) {
    std::vector<pollfd> fds;
    for (auto* h : handles) fds.push_back(poll_entry(h));
    if (::poll(fds.data(), fds.size(), 100) < 0 && errno != EINTR) break;
    for (std::size_t i = 0; i < fds.size(); ++i) notify(handles[i], fds[i].revents);
    const auto now_left = outstanding(handles);
    if (now_left < left) deadline = clock::now() + quiet;
    left = now_left;
  }
  disconnect_all(handles, clock::now() + std::chrono::seconds(1));
}

/// The child: only the sockets of `handles` stay open (the mover's stdout is a pipe its agent
/// reads to the end; the target, the checkpoint and the rest are not the child's business).
[[noreturn]] void drain_in_child(const std::vector<nbd_handle*>& handles, double io_timeout_s,
                                 const std::string& source_name) {
  ::setsid();  // a signal to the mover's process group must not cut the connections
  std::vector<int> keep;
  for (auto* h : handles) keep.push_back(nbd_aio_get_fd(h));
  std::ranges::sort(keep);
  unsigned from = 0;
  for (int fd : keep) {
    if (fd < 0) continue;
    if (static_cast<unsigned>(fd) > from) ::close_range(from, static_cast<unsigned>(fd) - 1, 0);
    from = static_cast<unsigned>(fd) + 1;
  }
  ::close_range(from, UINT_MAX, 0);
  const int null = ::open("/dev/null", O_RDWR);  // the lowest free descriptors: 0, 1, 2
  for (int fd = 0; null >= 0 && fd <= 2; ++fd)
    if (fd != null && !std::ranges::binary_search(keep, fd)) ::dup2(null, fd);
  sys::set_process_title("migratekit drain-reads " + source_name);
  read_out(handles, io_timeout_s);
  ::_exit(0);
}

}  // namespace

void hand_off_reads(const std::vector<nbd_handle*>& handles, double io_timeout_s,
                    const std::string& source_name) {
  if (handles.empty()) return;
  {
    std::lock_guard lock(abandoned_mu);
    abandoned().insert(abandoned().end(), handles.begin(), handles.end());
  }
  // The mover need not wait for its helper: a thread of ours reaps it whenever it ends (a
  // process that copies in-process, the tests, gathers no zombies), and once the mover has
  // exited the helper is an orphan like any other.
  const pid_t pid = ::fork();
  if (pid == 0) drain_in_child(handles, io_timeout_s, source_name);
  if (pid > 0) {
    for (auto* h : handles) ::close(nbd_aio_get_fd(h));
    std::thread([pid] {
      int status = 0;
      while (::waitpid(pid, &status, 0) == -1 && errno == EINTR) {
      }
    }).detach();
    return;
  }
  spdlog::warn("{}: cannot fork to leave its reads in flight; waiting for them", source_name);
  read_out(handles, io_timeout_s);
  std::lock_guard lock(abandoned_mu);
  auto& all = abandoned();
  for (auto* h : handles) {
    all.erase(std::ranges::find(all, h));
    nbd_close(h);
  }
}

}  // namespace mk::nbd
