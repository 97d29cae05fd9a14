#pragma once

// Inside the job actor: its state and the functions its three source files share. The
// actor's contract is job_actor.hpp; nothing else includes this.
//   job_actor.cpp    running: start, the mover's start and end, resume, the agent's account,
//                    recovery after a restart, and the behaviour
//   job_stop.cpp     the stop protocol: requests, confirmations, ticks, settlement
//   job_journal.cpp  the record in the store, the JobLog, the state on the bus, retries
//
// The state machine. The job's state (docs/states.md) is the stored one, written on every
// transition before anything acts on it (the write is awaited: the actor handles nothing
// else meanwhile, see actors/blocking_lanes.hpp):
//
//   queued ──start──▶ starting ──mover started──▶ replicating ──mover exited 0──▶ completed
//     ▲                  │ volume, agent or mover       │ mover exited ≠0, mover lost
//     │                  ▼ failed                       ▼
//     └──── resume ─── failed ◀─────────────────────────┘
//     └──── resume ─── stopped ◀── settled ── stopping ◀── stop (from queued, starting,
//                                                │           replicating, failed)
//                                                └─ settled ─▶ failed | completed | cancelled
//   cancelled with a DELETE ──▶ removal: the JobLog is written, the record erased, the actor ends
//
// Beside it run three steps, each waiting for an answer; a stop may take over while one is
// under way, and the step ends when its answer comes:
//
//   start_step   none ──start──▶ probing ──size──▶ attaching ──attached──▶ asking_agent ──answer──▶
//   none
//                                  │                 └── failed ──▶ none       │
//                                  └─ no agent: asked again until agent_wait ──┘ (then none)
//   removal_step none ──DELETE settled──▶ flushing ──JobLog written──▶ erasing ──▶ (actor ends)
//                                            ▲                            │ store away:
//                                            └──── tried again each second┘
//   writes       record_dirty / unwritten_log: failed writes, tried again every second

#include <caf/all.hpp>
#include <deque>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "oma/job_actor.hpp"

namespace mk::actors::job_detail {

using clock_point = caf::actor_clock::time_point;

/// What a start has under way (see the diagram above).
enum class start_step {
  none,
  /// The agent is asked for the source's size (the OMA never opens a source): no volume is
  /// attached for this run yet, and no mover asked for.
  probing,
  /// The volume is being attached and the mover not yet asked for: an agent that says it
  /// runs no mover for this job is not news then, and a progress is not this run's.
  attaching,
  /// A start request is with the agent: a stop holds its request to the vma_process until
  /// the agent has answered, so that the stop cannot overtake the mover's start.
  asking_agent,
};

/// Where a removal is (see the diagram above).
enum class removal_step { none, flushing, erasing };

struct job_actor_state {
  job_deps deps;
  job_record job;
  std::uint64_t revision = 0;
  std::optional<stop_protocol> protocol;
  clock_point stop_began{};
  start_step starting = start_step::none;
  /// A start is under way: its agent has not started this run's mover yet, so what the bus
  /// says of a mover of the job (its end, its absence) is about an earlier one.
  bool start_under_way() const { return starting != start_step::none; }
  /// In probing or asking_agent: since when the start has found no agent to take it (asked
  /// again until agent_wait).
  std::optional<clock_point> agent_absent_since;
  /// Ticks carry the generation they were armed in; an older one is stale and ignored.
  std::uint64_t tick_generation = 0;
  clock_point tick_due = clock_point::max();
  clock_point progress_persisted{};
  /// Writes that failed (the store unreachable, as while nats-server restarts) and are tried
  /// again every second, in order, until they succeed: the record, and JobLog entries.
  bool record_dirty = false;
  std::deque<std::string> unwritten_log;
  bool log_in_flight = false;  ///< a batch of unwritten_log is on the store lane
  bool retry_armed = false;
  /// A DELETE settled: the record is being removed (tried again while the store is away), and
  /// the actor ends once it is gone and the JobLog is written; `on_removed` runs just before.
  removal_step removal = removal_step::none;
  std::function<void()> on_removed;
  static inline const char* name = "job";
};

using job_actor = caf::stateful_actor<job_actor_state, job_actor_hdl::base>;

// -- job_journal.cpp --------------------------------------------------------------------

/// Every change of the job's state: checked against the table of docs/states.md
/// (transition_allowed). One the table does not allow is a bug of this actor: it is logged
/// and not made, and the caller does nothing further.
bool move_to(job_actor* self, msg::job_state to);

/// Writes the record on the job's store lane, then calls `then` with the outcome; the actor
/// handles nothing else meanwhile. On failure the write is tried again every second (see
/// persist's comment).
void persist(job_actor* self, std::function<void(caf::error)> then = {});
/// Tries again the writes that failed.
void on_retry(job_actor* self);
/// One JobLog entry: when, what, which actor, and the details of the step.
void log(job_actor* self, std::string_view event, nlohmann::json detail = nlohmann::json::object(),
         std::string_view actor = "job");
/// Tells the observer (the API) of the job as it is now.
void observe(job_actor* self);
/// Removes the record (the JobLog stays), tells the observer, and ends the actor once done.
/// `removed`, if given, runs once the record is gone, just before the actor ends.
void remove_record(job_actor* self, std::string_view why, std::function<void()> removed = {});
/// Announces the job's state on `<prefix>.job.<id>.state`.
void publish_state(job_actor* self);

/// Marks the job's volume complete or partial, by a request to the volume actor; a failure
/// goes to the JobLog (`volume_not_finished`).
void finish_volume(job_actor* self, bool complete);

/// Sends to an actor the job may run without (tests of the protocol leave some out). The
/// poller is not typed: a typed actor may only send to it anonymously (it answers nothing).
template <class Handle, class... Ts>
void tell(job_actor* self, const Handle& dest, Ts&&... xs) {
  if (!dest) return;
  if constexpr (std::is_same_v<Handle, caf::actor>)
    caf::anon_send(dest, std::forward<Ts>(xs)...);
  else
    self->send(dest, std::forward<Ts>(xs)...);
}

// -- job_stop.cpp -----------------------------------------------------------------------

/// `deleting`: the stop of a DELETE, stored with delete_requested in the same write.
caf::result<job_record> request_stop(job_actor* self, const msg::stop_request& req,
                                     bool deleting = false);
/// Why a stop like `req` cannot be made now (docs/stop-protocol.md, rule 1), if it cannot.
caf::error stop_refusal(const job_record& job, const msg::stop_request& req);
void begin_stop(job_actor* self, const stop_record& stop, bool after_restart);
void on_confirm(job_actor* self, const msg::stop_confirm& c);
void on_tick(job_actor* self, std::uint64_t generation);
/// DELETE: a stop with volumes `delete` whose settlement removes the record; a completed or
/// cancelled job's record goes at once.
caf::result<job_record> request_delete(job_actor* self, const msg::stop_request& req);

// -- job_plan.cpp -----------------------------------------------------------------------

/// A stop's dry run: what each participant would do, changing nothing.
caf::result<stop_plan> plan_stop(job_actor* self, const msg::stop_request& req);
/// Arms the protocol's next timer, if it has one sooner than the one armed.
void arm_tick(job_actor* self);

}  // namespace mk::actors::job_detail
