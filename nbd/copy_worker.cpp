#include "nbd/copy_worker.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace mk::nbd {

namespace {

constexpr std::uint32_t flush_tag = UINT32_MAX;

bool all_zero(const char* p, std::uint64_t n) {
  constexpr std::uint64_t head = 16;
  if (n < head) return std::all_of(p, p + n, [](char c) { return c == 0; });
  // A zero head compared with the buffer shifted by its length covers every byte.
  return std::all_of(p, p + head, [](char c) { return c == 0; }) &&
         std::memcmp(p, p + head, n - head) == 0;
}

std::string failed_at(const char* what, const copy_op& op) {
  return std::string(what) + " at offset " + std::to_string(op.offset) + " (length " +
         std::to_string(op.length) + ") failed: ";
}

}  // namespace

copy_worker::copy_worker(const config& cfg, endpoint& src, endpoint& dst, copy_shared& shared)
    : cfg_(cfg),
      src_(src),
      dst_(dst),
      shared_(shared),
      buffers_(new char[std::size_t{cfg.slots} * cfg.request_size]),
      slots_(cfg.slots) {
  for (std::uint32_t i = 0; i < slots_.size(); ++i) {
    slots_[i].buf = buffers_.get() + std::size_t{i} * cfg.request_size;
    slots_[i].ref = io_ref{this, i};
    free_.push_back(static_cast<std::uint32_t>(slots_.size()) - 1 - i);
  }
  if (!dst_.can_zero()) zeroes_.assign(cfg.request_size, 0);
  events_.reserve(slots_.size() * 2 + 2);
  starting_.reserve(slots_.size());
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

copy_worker::~copy_worker() {
  join();
  if (wake_fd_ != -1) ::close(wake_fd_);
}

void copy_worker::start() {
  thread_ = std::thread([this] { run(); });
}

void copy_worker::join() {
  if (thread_.joinable()) thread_.join();
}

void copy_worker::wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

int copy_worker::wake_fd() const { return wake_fd_; }

void copy_worker::run() {
  while (!shared_.quit.load()) {
    if (cfg_.plan) {
      refill();
      if (shared_.flush_requested.exchange(false)) {
        if (auto r = dst_.flush(cfg_.id, cfg_.flush_ref); !r) {
          fail(std::move(r.error()));
          cfg_.flush_ref->sink->on_complete(flush_tag, EIO);
        }
      }
    }
    dispatch();
    poll_once();
    const bool completions = !events_.empty();
    // Completions can start requests that complete at once (files): index, not iterators,
    // because the vector grows while we walk it.
    for (std::size_t i = 0; i < events_.size(); ++i) {
      auto [tag, err] = events_[i];
      auto& s = slots_[tag];
      if (s.state == slot_state::reading)
        on_read_done(s, err);
      else
        on_write_done(s, err);
    }
    events_.clear();
    if (completions && shared_.in_flight.load() == 0 && shared_.phase.load() != copy_state::copying)
      shared_.wake_coordinator();  // drained: the final flush need not wait for its next look
    check_stalls();
  }
}

void copy_worker::refill() {
  std::size_t have;
  {
    std::lock_guard lock(shared_.mu);
    if (shared_.plan_done || shared_.phase.load() != copy_state::copying) return;
    have = shared_.queue.size();
  }
  if (have >= cfg_.queue_target / 2) return;
  // Plan outside the lock: block status may wait on the servers.
  std::vector<copy_op> batch;
  bool done = false;
  while (have + batch.size() < cfg_.queue_target) {
    auto op = cfg_.plan->next();
    if (!op) {
      fail(std::move(op.error()));
      return;
    }
    if (!*op) {
      done = true;
      break;
    }
    batch.push_back(**op);
  }
  std::lock_guard lock(shared_.mu);
  shared_.queue.insert(shared_.queue.end(), batch.begin(), batch.end());
  shared_.plan_done = done;
}

void copy_worker::dispatch() {
  bool starved = false;
  {
    std::lock_guard lock(shared_.mu);
    auto& q = shared_.queue;
    starved = !free_.empty() && q.empty() && !shared_.plan_done;
    while (!free_.empty() && !q.empty() && shared_.phase.load() == copy_state::copying) {
      auto op = q.front();
      q.pop_front();
      if (op.type == copy_op::kind::skip) {
        shared_.mark_written(op.offset, op.length, true);
        continue;
      }
      auto& s = slots_[free_.back()];
      free_.pop_back();
      s.op = op;
      ++shared_.in_flight;  // counted with the take, under one lock
      starting_.push_back(&s);
    }
  }
  if (starved && !cfg_.plan) {  // tell the planner: it may be waiting on its own replies
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(shared_.planner_wake_fd, &one, sizeof one);
  }
  for (auto* s : starting_) start(*s);
  starting_.clear();
}

void copy_worker::start(slot& s) {
  unsigned conn = cfg_.id;
  const auto& op = s.op;
  if (op.type == copy_op::kind::data) {
    submitted(s, slot_state::reading, src_.read(conn, s.buf, op.length, op.offset, &s.ref));
    return;
  }
  submitted(s, slot_state::writing,
            dst_.can_zero() ? dst_.zero(conn, op.length, op.offset, &s.ref)
                            : dst_.write(conn, zeroes_.data(), op.length, op.offset, &s.ref));
}

void copy_worker::submitted(slot& s, slot_state state, result<> r) {
  if (!r) {
    fail(std::move(r.error()));
    --shared_.in_flight;
    release(s);
    return;
  }
  s.state = state;
  s.issued = clock::now();
}

void copy_worker::on_read_done(slot& s, int err) {
  if (err) {
    fail(error{errc::io, src_.name() + ": " + failed_at("read", s.op) + errno_text(err)});
    --shared_.in_flight;
    release(s);
    return;
  }
  // Data that reads as zeroes becomes a zero request: the target stays sparse.
  unsigned conn = cfg_.id;
  if (dst_.can_zero() && all_zero(s.buf, s.op.length))
    submitted(s, slot_state::writing, dst_.zero(conn, s.op.length, s.op.offset, &s.ref));
  else
    submitted(s, slot_state::writing, dst_.write(conn, s.buf, s.op.length, s.op.offset, &s.ref));
}

void copy_worker::on_write_done(slot& s, int err) {
  if (err) {
    const char* what = s.op.type == copy_op::kind::zero ? "zero" : "write";
    fail(error{errc::io, dst_.name() + ": " + failed_at(what, s.op) + errno_text(err)});
  } else {
    std::lock_guard lock(shared_.mu);
    shared_.mark_written(s.op.offset, s.op.length, s.op.type == copy_op::kind::zero);
  }
  --shared_.in_flight;  // after the mark: nothing in flight means everything is marked
  release(s);
}

void copy_worker::release(slot& s) {
  s.state = slot_state::idle;
  free_.push_back(s.ref.tag);
}

void copy_worker::poll_once() {
  pollfd fds[3] = {{wake_fd_, POLLIN, 0}, src_.poll_for(cfg_.id), dst_.poll_for(cfg_.id)};
  // Completions already queued (synchronous endpoints) must not wait; a worker without work
  // looks again soon, since worker 0 may have planned more meanwhile.
  int timeout = 100;
  if (!events_.empty())
    timeout = 0;
  else if (!free_.empty() && shared_.phase.load() == copy_state::copying)
    timeout = 5;
  if (poll(fds, 3, timeout) == -1) {
    if (errno != EINTR) fail(error{errc::system, "poll: " + errno_text(errno)});
    return;
  }
  if (fds[0].revents & POLLIN) {
    std::uint64_t n;
    [[maybe_unused]] auto r = ::read(wake_fd_, &n, sizeof n);
  }
  if (fds[1].fd >= 0)
    if (auto r = src_.handle_events(cfg_.id, fds[1].revents); !r) fail(std::move(r.error()));
  if (fds[2].fd >= 0)
    if (auto r = dst_.handle_events(cfg_.id, fds[2].revents); !r) fail(std::move(r.error()));
}

void copy_worker::check_stalls() {
  auto limit = std::chrono::duration<double>(cfg_.io_timeout_s);
  auto now = clock::now();
  for (auto& s : slots_) {
    if (s.state == slot_state::idle || now - s.issued <= limit) continue;
    auto& ep = s.state == slot_state::reading ? src_ : dst_;
    fail(error{errc::timeout, ep.name() + ": no reply for " +
                                  std::to_string(static_cast<int>(cfg_.io_timeout_s)) +
                                  " s to a request at offset " + std::to_string(s.op.offset)},
         true);  // a hung server will not answer the rest either: do not wait for it
    return;
  }
}

void copy_worker::fail(error e, bool abandon) { shared_.fail(std::move(e), cfg_.drain, abandon); }

}  // namespace mk::nbd
