#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include "nbd/checkpoint.hpp"
#include "nbd/copier.hpp"
#include "nbd/copy_shared.hpp"
#include "nbd/copy_worker.hpp"
#include "nbd/endpoint.hpp"
#include "nbd/planner.hpp"
#include "nbd/progress.hpp"
#include "nbd/stop_signals.hpp"

namespace mk::nbd {

/// The copy's coordinator, on the calling thread: starts one worker per connection pair,
/// watches the stop signals, makes checkpoints durable, reports progress, settles the end.
///
///   copying --signal--> draining --writes done, flushed--> stopped         (exit 3)
///   copying --all planned, done, flushed-----------------------> completed (exit 0)
///   copying | draining --error--> failed --writes done-----> failed        (exit 1)
///   draining | failed --second signal or drain deadline--> last durable checkpoint kept
///
/// A range joins the checkpoint only after a flush that began after its write completed. Reads
/// in flight when copying ends are abandoned: their ranges stay undone, and the source's
/// connection is left to a process that reads their replies out (nbd/read_drainer.hpp).
class copy_loop final : public completion_sink {
 public:
  copy_loop(const copy_options& opts, endpoint& src, endpoint& dst, checkpoint cp,
            stop_signals& signals);
  ~copy_loop();

  copy_report run();

  /// Only flushes complete here, on worker 0's thread.
  void on_complete(std::uint32_t, int err) override {
    flush_result_.store(err);
    shared_.wake_coordinator();
  }

 private:
  using clock = std::chrono::steady_clock;

  void begin_flush();
  void on_flush_done(int err);
  void on_signals(int count);
  void wake_all();
  void save(copy_state state);
  copy_report finish(copy_state state, bool close_politely);
  /// Whether a durable checkpoint is due: `checkpoint_bytes` written since the last (at most
  /// every `checkpoint_spacing_s`), or `checkpoint_interval_s` passed.
  bool checkpoint_due(clock::time_point now, std::uint64_t unflushed_bytes) const;
  progress_sample sample();

  const copy_options& opts_;
  endpoint& src_;
  endpoint& dst_;
  checkpoint cp_;  ///< the durable state: cp_.done only grows after a flush
  stop_signals& signals_;
  progress_reporter progress_;
  planner planner_;
  copy_shared shared_;
  std::vector<std::unique_ptr<copy_worker>> workers_;

  std::vector<written_range> flushing_;  ///< covered by the flush in flight
  bool flush_pending_ = false;
  clock::time_point flush_issued_{};
  std::atomic<int> flush_result_{-1};
  io_ref flush_ref_{};
  bool aborted_ = false;

  int wake_fd_ = -1;  ///< shared_.coordinator_wake_fd, owned here
  clock::time_point started_;
  clock::time_point last_checkpoint_;
};

}  // namespace mk::nbd
