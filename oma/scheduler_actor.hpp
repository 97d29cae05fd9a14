#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "actors/bus_link.hpp"
#include "config/defaults.hpp"
#include "oma/interfaces.hpp"

namespace mk::actors {

class blocking_lanes;
class document_bucket;
class job_store;

struct scheduler_options {
  /// The wall clock that `at` times and windows are read against, in unix milliseconds. The
  /// waits run on the actor clock (CAF's virtual time in tests), so a test that derives this
  /// clock from the virtual one fires schedules to the millisecond.
  std::function<std::int64_t()> now_unix_ms = unix_ms;
  /// Where the schedules are kept (`<prefix>_schedules`); in memory if unset.
  std::shared_ptr<document_bucket> documents;
  /// Where a schedule's JobLog entries go; none are written if unset.
  std::shared_ptr<job_store> store;
  /// Where those stores are read and written (actors/blocking_lanes.hpp); a lane of the
  /// scheduler's own if unset.
  std::shared_ptr<blocking_lanes> lanes;
  /// Hears the list (as GET /schedules shows it) after every change: the API's live events.
  /// It runs on the actor's thread and must not block.
  std::function<void(const std::string&)> changed;
  /// How long a fired one-shot stays listed.
  std::chrono::milliseconds fired_retention = defaults::schedules::fired_retention;
};

/// The OMA's scheduler (docs/operations.md): the schedules, and per-job triggers.
///
/// A one-shot schedule fires once at its time (at once after a restart that missed it):
/// `stop` and `resume` publish a msg::stop_request (reason `schedule`, a comment naming the
/// schedule) on `<prefix>.control.stop` or a msg::resume_request on `<prefix>.control.resume`
/// for every job in its target that is active (stop) or stopped or failed (resume);
/// `maintenance_on|off` publishes a msg::maintenance on `<prefix>.maintenance` (off resumes
/// what the maintenance stopped). A daily window stops the active jobs in its target while it
/// is closed (also jobs that become queued then), remembers them, and resumes those whose
/// current stop is still its own when it opens. Each job acted on gets a JobLog entry
/// `schedule_fired` naming the schedule. Schedules and what they did are stored on every
/// change, and a restart carries on (a closed window stops again what runs in its scope).
/// A fired one-shot leaves the list `fired_retention` after it fired.
///
/// Messages (errors: actors/errors.hpp, category `mk`):
///   (schedule_atom, body_json, by) -> json   add a schedule (a POST /schedules body; see
///       models/schedule.hpp): the schedule as shown. `invalid` names the field; an unknown
///       target job is `not_found`.
///   (list_atom) -> json                      {"schedules":[...]} in creation order
///   (remove_atom, id) -> json                the schedule removed; a closed window first
///                                            resumes the jobs it stopped
///   (start_atom)                             the registry has recovered the jobs: begin
///   (trigger_atom, job, trigger_action, std::int64_t at_unix_ms) -> std::string trigger_id
///       a per-job trigger: once due, (trigger_atom, job, trigger_action) goes
///       to `registry`, once.
///   (get_atom) -> json                       the pending triggers, by time
///   (shutdown_atom)                          drops everything and ends the actor
///
/// Bus: subscribes `<prefix>.job.*.stop` (a stop to "scheduler" drops that job's triggers
/// and confirms ok, idempotent by stop id) and `<prefix>.job.*.state`.
caf::actor spawn_scheduler(caf::actor_system& system, std::shared_ptr<bus_link> bus,
                           registry_hdl registry, scheduler_options options = {});

}  // namespace mk::actors
