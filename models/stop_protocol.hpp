#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/defaults.hpp"
#include "messages/enums.hpp"

namespace mk::actors {

/// The stop protocol of docs/stop-protocol.md as a pure state machine: events in, actions out, time
/// passed in, no I/O. The job actor wraps it (persisting, publishing, settling), so every
/// rule can be tested on its own, to the millisecond.
///
///   quiesce: scheduler, poller, vma_process in parallel --vma_process confirms--> volumes
///   volumes: the volume keeps or deletes, only after vma_process said no mover runs
///   settled:  every participant confirmed -> stopped | cancelled | completed | failed
///
/// Unconfirmed participants get the stop again every `republish` until their phase's deadline;
/// a miss settles as failed with `stop_unconfirmed: <participant>`, and while vma_process is
/// unconfirmed the volume is never asked to act.
class stop_protocol {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  struct timing {
    std::chrono::milliseconds grace = defaults::vma::grace;
    std::chrono::milliseconds quiesce_extra = defaults::jobs::quiesce_extra;
    std::chrono::milliseconds volumes_deadline = defaults::jobs::volumes_deadline;
    std::chrono::milliseconds republish = defaults::jobs::republish;
  };

  struct options {
    msg::stop_mode mode = msg::stop_mode::graceful;
    msg::volume_action volumes = msg::volume_action::keep;
  };

  /// Send (again) the stop to one participant; `mode` escalates to force when asked.
  struct send_stop {
    msg::participant to;
    msg::stop_mode mode;
    msg::volume_action volumes;
  };

  /// The end of the stop: the job's final state and, for `failed`, the error.
  struct settlement {
    msg::job_state state;
    std::string error;
  };

  enum class phase { quiesce, volumes, settled };

  stop_protocol(options opts, timing t, time_point now);

  /// The first sends, to the three participants of the quiesce phase.
  std::vector<send_stop> begin();

  /// A participant's confirmation. `mover_completed` says the mover had finished the copy
  /// (exit 0) before it could be stopped: the stop then settles as `completed`.
  std::vector<send_stop> confirm(msg::participant who, msg::outcome result, std::string detail,
                                 time_point now, bool mover_completed = false);

  /// A repeated request with `force`: escalates the stop that is in progress.
  std::vector<send_stop> escalate(time_point now);

  /// Time passes: re-sends to the unconfirmed, and enforces the deadlines.
  std::vector<send_stop> tick(time_point now);

  phase current() const { return phase_; }
  const std::optional<settlement>& settled() const { return settled_; }
  /// A participant's outcome so far (nothing: pending), for the job object and the JobLog.
  const std::optional<msg::outcome>& outcome_of(msg::participant who) const;
  const std::string& detail_of(msg::participant who) const;
  /// When the next tick has something to do.
  time_point next_deadline() const;

 private:
  struct state {
    std::optional<msg::outcome> result;
    std::string detail;
    time_point last_sent{};
    bool asked = false;
  };

  state& at(msg::participant who) { return parts_[static_cast<std::size_t>(who)]; }
  const state& at(msg::participant who) const { return parts_[static_cast<std::size_t>(who)]; }
  void ask(msg::participant who, time_point now, std::vector<send_stop>& out);
  void maybe_settle(time_point now, std::vector<send_stop>& out);
  void settle(msg::job_state s, std::string error);

  options opts_;
  timing timing_;
  time_point started_;
  time_point quiesce_deadline_;
  time_point volumes_deadline_ = time_point::max();
  phase phase_ = phase::quiesce;
  bool mover_completed_ = false;
  std::array<state, 4> parts_{};
  std::optional<settlement> settled_;
};

}  // namespace mk::actors
