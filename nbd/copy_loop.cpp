#include "nbd/copy_loop.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "config/defaults.hpp"

namespace mk::nbd {

namespace {

using seconds = std::chrono::duration<double>;

/// A duration in seconds from an option, on the clock's own tick.
std::chrono::steady_clock::duration after(double secs) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(seconds(secs));
}

bool all_zero(const char* p, std::uint64_t n) {
  constexpr std::uint64_t head = 16;
  if (n < head)
    return std::all_of(p, p + n, [](char c) { return c == 0; });
  // A zero head compared with the buffer shifted by its length covers every byte.
  return std::all_of(p, p + head, [](char c) { return c == 0; }) &&
         std::memcmp(p, p + head, n - head) == 0;
}

std::string where(const char* what, const copy_op& op) {
  return std::string(what) + " at offset " + std::to_string(op.offset) + " (length " +
         std::to_string(op.length) + ") failed: ";
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
      planner_(src, dst, cp_.done, {opts.request_size, defaults::copy::max_zero_size}),
      buffers_(new char[std::size_t{opts.requests} * opts.request_size]),
      slots_(opts.requests) {
  for (std::uint32_t i = 0; i < slots_.size(); ++i) {
    slots_[i].buf = buffers_.get() + std::size_t{i} * opts.request_size;
    slots_[i].ref = io_ref{this, i};
    free_.push_back(static_cast<std::uint32_t>(slots_.size()) - 1 - i);
  }
  if (!dst_.can_zero())
    zeroes_.assign(opts.request_size, 0);
  flush_ref_ = io_ref{this, flush_tag};
  events_.reserve(slots_.size() * 2 + 2);
}

copy_report copy_loop::run() {
  started_ = clock::now();
  next_checkpoint_ = started_ + after(opts_.checkpoint_interval_s);
  save(copy_state::copying);  // records the sizes at once, for a supervisor to read
  while (true) {
    dispatch();
    if (in_flight_ == 0 && !flush_in_flight_ && (phase_ != copy_state::copying || plan_done_)) {
      if (!written_.empty()) {
        begin_flush();  // the last flush, also after an error: keep what was written
      } else {
        auto final_state = error_ ? copy_state::failed
                           : phase_ == copy_state::draining ? copy_state::stopped
                                                            : copy_state::completed;
        return finish(final_state, true);
      }
    }
    if (clock::now() >= deadline_) {
      auto left = in_flight_ + (flush_in_flight_ ? 1 : 0);
      if (!error_)
        error_ = error{errc::timeout, "drain timeout: " + std::to_string(left) +
                                          " request(s) abandoned; the checkpoint keeps what "
                                          "was flushed before"};
      return finish(phase_ == copy_state::failed ? copy_state::failed : copy_state::stopped,
                    false);
    }
    if (opts_.checkpoint_path && phase_ == copy_state::copying && !flush_in_flight_ &&
        clock::now() >= next_checkpoint_) {
      next_checkpoint_ = clock::now() + after(opts_.checkpoint_interval_s);
      begin_flush();
    }
    poll_once();
    if (int n = signals_.take(); n > 0) {
      if (phase_ == copy_state::copying && n == 1) {
        spdlog::info("stop requested: draining {} request(s) in flight", in_flight_);
        phase_ = copy_state::draining;
        deadline_ = clock::now() + after(opts_.drain_timeout_s);
      } else {
        // A second signal: go now; the last durable checkpoint stays valid.
        error_ = error{errc::system, "aborted by a second signal; the checkpoint keeps what "
                                     "was flushed before"};
        return finish(phase_ == copy_state::failed ? copy_state::failed : copy_state::stopped,
                      false);
      }
    }
    // Completions can trigger new submissions that complete at once (files): index, not
    // iterators, because the vector grows while we walk it.
    for (std::size_t i = 0; i < events_.size(); ++i) {
      auto [tag, err] = events_[i];
      if (tag == flush_tag) {
        on_flush_done(err);
        continue;
      }
      auto& s = slots_[tag];
      if (s.state == slot_state::reading)
        on_read_done(s, err);
      else
        on_write_done(s, err);
    }
    events_.clear();
    check_stalls();
    progress_.update(sample(), false);
  }
}

void copy_loop::dispatch() {
  while (phase_ == copy_state::copying && !plan_done_) {
    if (!pending_op_) {
      auto op = planner_.next();
      if (!op) {
        fail_with(op.error());
        return;
      }
      if (!*op) {
        plan_done_ = true;
        return;
      }
      pending_op_ = **op;
    }
    if (pending_op_->type == copy_op::kind::skip) {
      mark_written(pending_op_->offset, pending_op_->length, true);
      pending_op_.reset();
      continue;
    }
    if (free_.empty())
      return;
    auto index = free_.back();
    free_.pop_back();
    start(index, *pending_op_);
    pending_op_.reset();
  }
}

void copy_loop::start(std::uint32_t index, const copy_op& op) {
  auto& s = slots_[index];
  s.op = op;
  unsigned conn = index;  // spreads slots over the connections
  if (op.type == copy_op::kind::data) {
    submitted(s, slot_state::reading, src_.read(conn, s.buf, op.length, op.offset, &s.ref));
    return;
  }
  submitted(s, slot_state::writing,
            dst_.can_zero() ? dst_.zero(conn, op.length, op.offset, &s.ref)
                            : dst_.write(conn, zeroes_.data(), op.length, op.offset, &s.ref));
}

void copy_loop::submitted(slot& s, slot_state state, result<> r) {
  if (!r) {
    fail_with(std::move(r.error()));
    s.state = slot_state::idle;
    free_.push_back(s.ref.tag);
    return;
  }
  s.state = state;
  s.issued = clock::now();
  ++in_flight_;
}

void copy_loop::on_read_done(slot& s, int err) {
  --in_flight_;
  if (err) {
    fail_with(error{errc::io, src_.name() + ": " + where("read", s.op) + errno_text(err)});
    release(s);
    return;
  }
  // Data that reads as zeroes becomes a zero request: the target stays sparse.
  unsigned conn = s.ref.tag;
  if (dst_.can_zero() && all_zero(s.buf, s.op.length))
    submitted(s, slot_state::writing, dst_.zero(conn, s.op.length, s.op.offset, &s.ref));
  else
    submitted(s, slot_state::writing, dst_.write(conn, s.buf, s.op.length, s.op.offset, &s.ref));
}

void copy_loop::on_write_done(slot& s, int err) {
  --in_flight_;
  if (err) {
    const char* what = s.op.type == copy_op::kind::zero ? "zero" : "write";
    fail_with(error{errc::io, dst_.name() + ": " + where(what, s.op) + errno_text(err)});
  } else {
    mark_written(s.op.offset, s.op.length, s.op.type == copy_op::kind::zero);
  }
  release(s);
}

void copy_loop::release(slot& s) {
  s.state = slot_state::idle;
  free_.push_back(s.ref.tag);
}

void copy_loop::mark_written(std::uint64_t offset, std::uint64_t length, bool skipped) {
  std::uint64_t skip = skipped ? length : 0;
  auto& w = written_;
  if (!w.empty() && w.back().offset + w.back().length == offset) {
    w.back().length += length;
    w.back().skipped += skip;
  } else {
    w.push_back(written_range{offset, length, skip});
  }
  pending_bytes_ += length;
  pending_skipped_ += skip;
}

void copy_loop::begin_flush() {
  flushing_.swap(written_);
  written_.clear();
  flush_in_flight_ = true;
  flush_issued_ = clock::now();
  if (auto r = dst_.flush(&flush_ref_); !r) {
    fail_with(std::move(r.error()));
    on_flush_done(EIO);  // nothing of it became durable
  }
}

void copy_loop::on_flush_done(int err) {
  flush_in_flight_ = false;
  for (const auto& w : flushing_) {
    pending_bytes_ -= w.length;
    pending_skipped_ -= w.skipped;
    if (!err) {
      cp_.done.insert(w.offset, w.length);
      cp_.bytes_skipped += w.skipped;
    }
  }
  flushing_.clear();
  if (err) {
    fail_with(error{errc::io, dst_.name() + ": flush failed: " + errno_text(err)});
    return;
  }
  if (phase_ == copy_state::copying)
    save(copy_state::copying);
}

void copy_loop::poll_once() {
  pollfds_.clear();
  pollfds_.push_back(pollfd{signals_.fd(), POLLIN, 0});
  src_.add_pollfds(pollfds_);
  auto src_count = pollfds_.size() - 1;
  dst_.add_pollfds(pollfds_);
  // Completions already queued (synchronous endpoints) must not wait for a timeout.
  int timeout = events_.empty() ? 100 : 0;
  if (poll(pollfds_.data(), pollfds_.size(), timeout) == -1) {
    if (errno != EINTR)
      fail_with(error{errc::system, "poll: " + errno_text(errno)});
    return;
  }
  if (auto r = src_.handle_events(pollfds_.data() + 1); !r)
    fail_with(std::move(r.error()));
  if (auto r = dst_.handle_events(pollfds_.data() + 1 + src_count); !r)
    fail_with(std::move(r.error()));
}

void copy_loop::check_stalls() {
  auto limit = seconds(opts_.io_timeout_s);
  auto now = clock::now();
  auto secs = std::to_string(static_cast<int>(opts_.io_timeout_s));
  std::optional<error> stall;
  for (auto& s : slots_)
    if (!stall && s.state != slot_state::idle && now - s.issued > limit)
      stall = error{errc::timeout,
                    (s.state == slot_state::reading ? src_ : dst_).name() + ": no reply for " +
                        secs + " s to a request at offset " + std::to_string(s.op.offset)};
  if (!stall && flush_in_flight_ && now - flush_issued_ > limit)
    stall = error{errc::timeout, dst_.name() + ": no reply to a flush for " + secs + " s"};
  if (!stall)
    return;
  fail_with(std::move(*stall));
  deadline_ = now;  // a hung server will not answer the rest either: do not wait for it
}

void copy_loop::fail_with(error e) {
  if (error_)
    return;  // the first cause is the one worth reporting
  spdlog::debug("failing: {}", e.message);
  error_ = std::move(e);
  if (phase_ == copy_state::copying)
    deadline_ = clock::now() + after(opts_.drain_timeout_s);
  phase_ = copy_state::failed;
}

void copy_loop::save(copy_state state) {
  if (!opts_.checkpoint_path)
    return;
  cp_.state = state;
  cp_.error = error_ ? std::optional(error_->message) : std::nullopt;
  if (auto r = save_checkpoint(*opts_.checkpoint_path, cp_); !r)
    fail_with(std::move(r.error()));
}

copy_report copy_loop::finish(copy_state state, bool close_politely) {
  save(state);
  if (state == copy_state::completed && error_)  // saving the final checkpoint failed
    state = copy_state::failed;
  phase_ = state;
  // Endpoints close while this object lives: late completions still land in events_.
  int wait_ms = close_politely ? 1000 : 0;
  src_.close(wait_ms);
  dst_.close(wait_ms);
  progress_.update(sample(), true);
  auto s = sample();
  return copy_report{state, error_, s.bytes_done, s.bytes_total, s.bytes_skipped};
}

progress_sample copy_loop::sample() const {
  return progress_sample{phase_,
                         cp_.done.bytes() + pending_bytes_,
                         src_.size(),
                         cp_.bytes_skipped + pending_skipped_,
                         seconds(clock::now() - started_).count()};
}

}  // namespace mk::nbd
