#include "nbd/copy_loop.hpp"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "config/defaults.hpp"

namespace mk::nbd {

namespace {

/// A duration in seconds from an option, on the clock's own tick.
std::chrono::steady_clock::duration after(double secs) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(secs));
}

}  // namespace

copy_loop::copy_loop(const copy_options& opts, endpoint& src, endpoint& dst, checkpoint cp,
                     stop_signals& signals)
    : opts_(opts),
      src_(src),
      dst_(dst),
      cp_(std::move(cp)),
      signals_(signals),
      progress_(opts.progress),
      planner_(src, dst, cp_.done, {opts.request_size, defaults::copy::max_zero_size}) {
  flush_ref_ = io_ref{this, 0};
  // One worker per connection pair; the requests in flight are shared out among them.
  unsigned n = std::max(1u, std::min({src.connections(), dst.connections(), opts.requests}));
  for (unsigned id = 0; id < n; ++id) {
    unsigned slots = opts.requests / n + (id < opts.requests % n ? 1 : 0);
    copy_worker::config cfg{.id = id,
                            .slots = slots,
                            .request_size = opts.request_size,
                            .io_timeout_s = opts.io_timeout_s,
                            .drain = after(opts.drain_timeout_s),
                            .plan = id == 0 ? &planner_ : nullptr,
                            .flush_ref = id == 0 ? &flush_ref_ : nullptr,
                            .queue_target = std::size_t{2} * opts.requests,
                            .gather_bytes = opts.request_size < defaults::copy::gather_below
                                                ? defaults::copy::gather_bytes
                                                : 0};
    workers_.push_back(std::make_unique<copy_worker>(cfg, src, dst, shared_));
  }
  shared_.planner_wake_fd = workers_.front()->wake_fd();
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  shared_.coordinator_wake_fd = wake_fd_;
}

copy_loop::~copy_loop() {
  shared_.quit = true;
  wake_all();
  for (auto& w : workers_) w->join();
  if (wake_fd_ != -1) ::close(wake_fd_);
}

copy_report copy_loop::run() {
  started_ = clock::now();
  last_checkpoint_ = started_;
  save(copy_state::copying);  // records the sizes at once, for a supervisor to read
  for (auto& w : workers_) w->start();
  while (true) {
    if (flush_pending_)
      if (int r = flush_result_.exchange(-1); r != -1) on_flush_done(r);
    copy_state phase;
    bool idle, unflushed, failed;
    std::uint64_t unflushed_bytes;
    clock::time_point deadline;
    {
      std::lock_guard lock(shared_.mu);
      phase = shared_.phase.load();
      // Once copying has ended only writes are waited for: reads have no effect to drain.
      idle = phase == copy_state::copying
                 ? shared_.in_flight.load() == 0 && shared_.plan_done && shared_.queue.empty()
                 : shared_.writes_in_flight() == 0;
      unflushed = !shared_.written.empty();
      unflushed_bytes = shared_.pending_bytes;
      failed = shared_.err.has_value();
      deadline = shared_.deadline;
    }
    if (idle && !flush_pending_) {
      if (unflushed) {
        begin_flush();  // the last flush, also after an error: keep what was written
      } else {
        return finish(failed                          ? copy_state::failed
                      : phase == copy_state::draining ? copy_state::stopped
                                                      : copy_state::completed,
                      true);
      }
    }
    auto now = clock::now();
    if (now >= deadline || aborted_) {
      auto left = shared_.writes_in_flight() + (flush_pending_ ? 1u : 0u);
      shared_.fail(error{errc::timeout,
                         aborted_ ? "aborted by a second signal; the checkpoint keeps what was "
                                    "flushed before"
                                  : "drain timeout: " + std::to_string(left) +
                                        " request(s) abandoned; the checkpoint keeps what was "
                                        "flushed before"},
                   {}, false);
      return finish(failed ? copy_state::failed : copy_state::stopped, false);
    }
    if (flush_pending_ && now - flush_issued_ > after(opts_.io_timeout_s))
      shared_.fail(
          error{errc::timeout, dst_.name() + ": no reply to a flush for " +
                                   std::to_string(static_cast<int>(opts_.io_timeout_s)) + " s"},
          {}, true);
    if (opts_.checkpoint_path && phase == copy_state::copying && !flush_pending_ &&
        checkpoint_due(now, unflushed_bytes)) {
      last_checkpoint_ = now;
      begin_flush();
    }
    progress_.update(sample(), false);
    // Sleep until the next thing due: the workers and the signals wake us for the rest.
    auto next = std::min({now + defaults::copy::progress_interval, deadline,
                          now + after(opts_.checkpoint_interval_s)});
    if (flush_pending_) next = std::min(next, flush_issued_ + after(opts_.io_timeout_s));
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
    pollfd p[2] = {{signals_.fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(p, 2, static_cast<int>(std::clamp<long long>(wait, 0, 1000))) > 0) {
      if (p[1].revents & POLLIN) {
        std::uint64_t n;
        [[maybe_unused]] auto r = ::read(wake_fd_, &n, sizeof n);
      }
      if (p[0].revents & POLLIN) on_signals(signals_.take());
    }
  }
}

bool copy_loop::checkpoint_due(clock::time_point now, std::uint64_t unflushed_bytes) const {
  const auto since = now - last_checkpoint_;
  if (since >= after(opts_.checkpoint_interval_s)) return true;
  return since >=
             after(std::min(defaults::copy::checkpoint_spacing_s, opts_.checkpoint_interval_s)) &&
         unflushed_bytes >= opts_.checkpoint_bytes;
}

void copy_loop::on_signals(int count) {
  if (count <= 0) return;
  bool first = false;
  {
    std::lock_guard lock(shared_.mu);
    if (shared_.phase.load() == copy_state::copying && count == 1) {
      shared_.phase = copy_state::draining;
      shared_.deadline = clock::now() + after(opts_.drain_timeout_s);
      first = true;
    }
  }
  if (first)
    spdlog::info("stop requested: draining {} write(s) in flight, abandoning {} read(s)",
                 shared_.writes_in_flight(), shared_.reading.load());
  else
    aborted_ = true;  // a second signal: go now; the last durable checkpoint stays valid
  wake_all();
}

void copy_loop::begin_flush() {
  {
    std::lock_guard lock(shared_.mu);
    flushing_.swap(shared_.written);
    shared_.written.clear();
  }
  flush_pending_ = true;
  flush_issued_ = clock::now();
  flush_result_ = -1;
  shared_.flush_requested = true;
  workers_.front()->wake();
}

void copy_loop::on_flush_done(int err) {
  flush_pending_ = false;
  {
    std::lock_guard lock(shared_.mu);
    for (const auto& w : flushing_) {
      shared_.pending_bytes -= w.length;
      shared_.pending_skipped -= w.skipped;
    }
  }
  if (!err) {
    for (const auto& w : flushing_) {
      cp_.done.insert(w.offset, w.length);
      cp_.bytes_skipped += w.skipped;
    }
  }
  flushing_.clear();
  if (err) {
    shared_.fail(error{errc::io, dst_.name() + ": flush failed: " + errno_text(err)},
                 after(opts_.drain_timeout_s), false);
    return;
  }
  if (shared_.phase.load() == copy_state::copying) save(copy_state::copying);
}

void copy_loop::wake_all() {
  for (auto& w : workers_) w->wake();
}

void copy_loop::save(copy_state state) {
  if (!opts_.checkpoint_path) return;
  cp_.state = state;
  {
    std::lock_guard lock(shared_.mu);
    cp_.error = shared_.err ? std::optional(shared_.err->message) : std::nullopt;
  }
  if (auto r = save_checkpoint(*opts_.checkpoint_path, cp_); !r)
    shared_.fail(std::move(r.error()), after(opts_.drain_timeout_s), false);
}

copy_report copy_loop::finish(copy_state state, bool close_politely) {
  shared_.quit = true;
  wake_all();
  for (auto& w : workers_) w->join();
  save(state);
  std::optional<error> err;
  {
    std::lock_guard lock(shared_.mu);
    err = shared_.err;
  }
  if (state == copy_state::completed && err)  // saving the final checkpoint failed
    state = copy_state::failed;
  shared_.phase = state;
  // Endpoints close while the workers live: late completions still land in their queues.
  // The target first: the volume is let go of before anything else. Reads still in flight on
  // the source are left to a process of their own (nbd/read_drainer.hpp).
  int wait_ms = close_politely ? 1000 : 0;
  dst_.close(wait_ms);
  src_.close(wait_ms);
  auto s = sample();
  progress_.update(s, true);
  return copy_report{state, err, s.bytes_done, s.bytes_total, s.bytes_skipped};
}

progress_sample copy_loop::sample() {
  std::lock_guard lock(shared_.mu);
  return progress_sample{shared_.phase.load(), cp_.done.bytes() + shared_.pending_bytes,
                         src_.size(), cp_.bytes_skipped + shared_.pending_skipped,
                         std::chrono::duration<double>(clock::now() - started_).count()};
}

}  // namespace mk::nbd
