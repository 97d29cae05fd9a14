#include "nbd/copy_worker.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "config/defaults.hpp"

namespace mk::nbd {

namespace {

constexpr std::uint32_t flush_tag = UINT32_MAX;
constexpr std::uint32_t gather_tag = UINT32_MAX - 1;

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
  if (dst_.max_request() > 0) cfg_.gather_bytes = std::min(cfg_.gather_bytes, dst_.max_request());
  if (cfg_.gather_bytes >= 2 * cfg_.request_size) {
    gathered_.buf.reset(new char[cfg_.gather_bytes]);
    gathered_.ref = io_ref{this, gather_tag};
  }
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
    write_gathered_if_due();
    poll_once();
    const bool completions = !events_.empty();
    // Completions can start requests that complete at once (files): index, not iterators,
    // because the vector grows while we walk it.
    for (std::size_t i = 0; i < events_.size(); ++i) {
      auto [tag, err] = events_[i];
      if (tag == gather_tag) {
        on_gathered_written(err);
        continue;
      }
      auto& s = slots_[tag];
      if (s.state == slot_state::reading)
        on_read_done(s, err);
      else
        on_write_done(s, err);
    }
    events_.clear();
    // Drained after a stop, or every planned request done: the final flush need not wait for
    // the coordinator's next look.
    if (completions && (shared_.phase.load() != copy_state::copying
                            ? shared_.writes_in_flight() == 0
                            : shared_.in_flight.load() == 0 && copy_over()))
      shared_.wake_coordinator();
    check_stalls();
  }
}

bool copy_worker::copy_over() {
  std::lock_guard lock(shared_.mu);
  return shared_.plan_done && shared_.queue.empty();
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
      if (op.type == copy_op::kind::data) ++shared_.reading;
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
    auto r = src_.read(conn, s.buf, op.length, op.offset, &s.ref);
    if (!r) --shared_.reading;
    submitted(s, slot_state::reading, std::move(r));
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
  if (state == slot_state::reading) ++reads_out_;
}

void copy_worker::on_read_done(slot& s, int err) {
  --reads_out_;
  bool copying;
  {
    std::lock_guard lock(shared_.mu);
    --shared_.reading;
    copying = shared_.phase.load() == copy_state::copying;
  }
  if (!copying || err) {
    // After a stop or a failure a read is abandoned: its range stays undone, and a resume
    // reads it again (docs/stop-protocol.md). A read that fails while copying fails the copy.
    if (copying)
      fail(error{errc::io, src_.name() + ": " + failed_at("read", s.op) + errno_text(err)});
    --shared_.in_flight;
    release(s);
    return;
  }
  if (gather(s)) {
    --shared_.in_flight;  // the gathered write is counted in flight instead
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

bool copy_worker::gather(const slot& s) {
  auto& g = gathered_;
  if (!g.buf || g.writing) return false;
  if (g.length > 0 && g.offset + g.length != s.op.offset) {
    write_gathered();  // what was gathered goes as it is; this read is written by itself
    return false;
  }
  if (g.length + s.op.length > cfg_.gather_bytes) return false;
  if (g.length == 0) {
    g.offset = s.op.offset;
    g.since = clock::now();
    ++shared_.in_flight;  // before the read's own count goes: never zero in between
  }
  std::memcpy(g.buf.get() + g.length, s.buf, s.op.length);
  g.length += s.op.length;
  if (g.length + cfg_.request_size > cfg_.gather_bytes) write_gathered();
  return true;
}

void copy_worker::write_gathered_if_due() {
  const auto& g = gathered_;
  if (g.writing || g.length == 0) return;
  // Nothing being read (the copy ends, or the planner is behind), a stop or a failure, or the
  // first read waited long enough: write what there is.
  if (reads_out_ == 0 || shared_.phase.load() != copy_state::copying ||
      clock::now() - g.since >= defaults::copy::gather_delay)
    write_gathered();
}

void copy_worker::write_gathered() {
  auto& g = gathered_;
  if (g.writing || g.length == 0) return;
  g.writing = true;
  g.issued = clock::now();
  unsigned conn = cfg_.id;
  auto r = dst_.can_zero() && all_zero(g.buf.get(), g.length)
               ? dst_.zero(conn, g.length, g.offset, &g.ref)
               : dst_.write(conn, g.buf.get(), g.length, g.offset, &g.ref);
  if (!r) on_gathered_written(EIO, std::move(r.error()));
}

void copy_worker::on_gathered_written(int err, std::optional<error> why) {
  auto& g = gathered_;
  if (err) {
    const copy_op op{.type = copy_op::kind::data, .offset = g.offset, .length = g.length};
    fail(why ? std::move(*why)
             : error{errc::io, dst_.name() + ": " + failed_at("write", op) + errno_text(err)});
  } else {
    std::lock_guard lock(shared_.mu);
    shared_.mark_written(g.offset, g.length, false);
  }
  g.writing = false;
  g.length = 0;
  --shared_.in_flight;  // after the mark, as for any write
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
  if (gathered_.length > 0 && !gathered_.writing) {
    const auto due = std::chrono::duration_cast<std::chrono::milliseconds>(
                         gathered_.since + defaults::copy::gather_delay - clock::now())
                         .count();
    timeout = std::min(timeout, static_cast<int>(std::max<long long>(due + 1, 0)));
  }
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
  // A hung server will not answer the rest either: do not wait for it.
  auto stalled = [&](const endpoint& ep, std::uint64_t offset) {
    fail(error{errc::timeout, ep.name() + ": no reply for " +
                                  std::to_string(static_cast<int>(cfg_.io_timeout_s)) +
                                  " s to a request at offset " + std::to_string(offset)},
         true);
  };
  if (gathered_.writing && now - gathered_.issued > limit) return stalled(dst_, gathered_.offset);
  for (auto& s : slots_) {
    if (s.state == slot_state::idle || now - s.issued <= limit) continue;
    return stalled(s.state == slot_state::reading ? src_ : dst_, s.op.offset);
  }
}

void copy_worker::fail(error e, bool abandon) { shared_.fail(std::move(e), cfg_.drain, abandon); }

}  // namespace mk::nbd
