#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "nbd/checkpoint.hpp"
#include "nbd/error.hpp"
#include "nbd/planner.hpp"

namespace mk::nbd {

/// A range whose write completed: durable only after the next flush.
struct written_range {
  std::uint64_t offset;
  std::uint64_t length;
  std::uint64_t skipped;  ///< of which the source reported zeroes
};

/// What the coordinator and the workers of one copy share. Everything not atomic is guarded
/// by `mu`. Taking an op and counting it in flight happen under one lock, so "nothing in
/// flight and nothing queued" really means the work is over.
struct copy_shared {
  using clock = std::chrono::steady_clock;

  std::mutex mu;
  std::deque<copy_op> queue;  ///< planned, not yet taken; filled by worker 0
  bool plan_done = false;
  std::vector<written_range> written;  ///< completed since the last flush began
  std::uint64_t pending_bytes = 0;     ///< completed, not yet durable (with the flush's)
  std::uint64_t pending_skipped = 0;
  std::optional<error> err;
  clock::time_point deadline = clock::time_point::max();

  std::atomic<copy_state> phase{copy_state::copying};  ///< copying, draining or failed
  std::atomic<unsigned> in_flight{0};
  /// Of those, reads sent and not yet answered. Once copying ends (a stop, a failure) reads
  /// are abandoned: their data would only be written, and the stop waits for writes alone.
  std::atomic<unsigned> reading{0};
  std::atomic<bool> quit{false};             ///< workers leave at once
  std::atomic<bool> flush_requested{false};  ///< worker 0 issues the flush
  int planner_wake_fd = -1;  ///< an eventfd: others write to it when the queue runs dry
  /// An eventfd that cuts the coordinator's wait short when what it waits for has happened:
  /// the last request in flight ended while draining (or failed), or a flush completed.
  int coordinator_wake_fd = -1;

  /// Writes (and zero requests) in flight: what a stop waits for. A read is counted in
  /// `reading` from its take to its answer, both under `mu`, and the answer is written only if
  /// the phase, looked at under `mu` too, is still copying: a snapshot under `mu` never misses
  /// a write.
  unsigned writes_in_flight() const {
    const auto all = in_flight.load();
    const auto reads = reading.load();
    return all > reads ? all - reads : 0;
  }

  void wake_coordinator() const {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(coordinator_wake_fd, &one, sizeof one);
  }

  /// Records the first failure; the copy stops taking work and drains within `drain`, or at
  /// once when `abandon` (a hung server will not answer the requests in flight either).
  void fail(error e, clock::duration drain, bool abandon) {
    {
      std::lock_guard lock(mu);
      if (!err) {
        err = std::move(e);
        if (phase.load() == copy_state::copying) deadline = clock::now() + drain;
        phase = copy_state::failed;
      }
      if (abandon) deadline = clock::now();
    }
    wake_coordinator();  // it waits for the next thing due, which may now be sooner
  }

  /// Call with `mu` held.
  void mark_written(std::uint64_t offset, std::uint64_t length, bool skipped) {
    std::uint64_t skip = skipped ? length : 0;
    if (!written.empty() && written.back().offset + written.back().length == offset) {
      written.back().length += length;
      written.back().skipped += skip;
    } else {
      written.push_back(written_range{offset, length, skip});
    }
    pending_bytes += length;
    pending_skipped += skip;
  }
};

}  // namespace mk::nbd
