#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "nbd/checkpoint.hpp"
#include "nbd/copier.hpp"
#include "nbd/endpoint.hpp"
#include "nbd/planner.hpp"
#include "nbd/progress.hpp"
#include "nbd/stop_signals.hpp"

namespace mk::nbd {

/// The copy engine: one thread, one poll loop over every connection of both endpoints and the
/// stop signals, a fixed set of request slots with buffers allocated once.
///
///   copying --signal--> draining --in flight done, flushed--> stopped      (exit 3)
///   copying --all planned, done, flushed-----------------------> completed (exit 0)
///   copying | draining --error--> failed --in flight done---> failed       (exit 1)
///   draining | failed --second signal or drain deadline--> last durable checkpoint kept
///
/// A range joins the checkpoint only after a flush that began after its write completed.
class copy_loop final : public completion_sink {
 public:
  copy_loop(const copy_options& opts, endpoint& src, endpoint& dst, checkpoint cp,
            stop_signals& signals);

  copy_report run();

  void on_complete(std::uint32_t tag, int err) override { events_.emplace_back(tag, err); }

 private:
  using clock = std::chrono::steady_clock;
  enum class slot_state { idle, reading, writing };
  struct slot {
    copy_op op{};
    slot_state state = slot_state::idle;
    char* buf = nullptr;
    io_ref ref{};
    clock::time_point issued{};
  };
  static constexpr std::uint32_t flush_tag = UINT32_MAX;

  void dispatch();
  void start(std::uint32_t index, const copy_op& op);
  void submitted(slot& s, slot_state state, result<> r);
  void on_read_done(slot& s, int err);
  void on_write_done(slot& s, int err);
  void release(slot& s);
  void mark_written(std::uint64_t offset, std::uint64_t length, bool skipped);
  void begin_flush();
  void on_flush_done(int err);
  void poll_once();
  void check_stalls();
  void fail_with(error e);
  void save(copy_state state);
  copy_report finish(copy_state state, bool close_politely);
  progress_sample sample() const;

  const copy_options& opts_;
  endpoint& src_;
  endpoint& dst_;
  checkpoint cp_;  ///< the durable state: cp_.done only grows after a flush
  stop_signals& signals_;
  progress_reporter progress_;
  planner planner_;

  copy_state phase_ = copy_state::copying;
  std::optional<error> error_;
  std::optional<copy_op> pending_op_;
  bool plan_done_ = false;

  std::unique_ptr<char[]> buffers_;
  std::vector<char> zeroes_;  ///< for targets that cannot zero cheaply
  std::vector<slot> slots_;
  std::vector<std::uint32_t> free_;
  unsigned in_flight_ = 0;
  std::vector<std::pair<std::uint32_t, int>> events_;
  std::vector<pollfd> pollfds_;

  struct written_range {
    std::uint64_t offset;
    std::uint64_t length;
    std::uint64_t skipped;  ///< of which the source reported zeroes
  };
  std::vector<written_range> written_;   ///< done, not yet flushing
  std::vector<written_range> flushing_;  ///< covered by the flush in flight
  std::uint64_t pending_bytes_ = 0;      ///< in written_ and flushing_
  std::uint64_t pending_skipped_ = 0;
  bool flush_in_flight_ = false;
  io_ref flush_ref_{};
  clock::time_point flush_issued_{};

  clock::time_point started_;
  clock::time_point next_checkpoint_;
  clock::time_point deadline_ = clock::time_point::max();
};

}  // namespace mk::nbd
