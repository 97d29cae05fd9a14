#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <cstdint>
#include <functional>
#include <memory>

#include "actors/bus_link.hpp"

namespace mk::actors {

struct scheduler_options {
  /// The wall clock that `at` times are read against, in unix milliseconds. The wait itself
  /// runs on the actor clock (CAF's virtual time in tests), so a test that fixes this clock
  /// and advances virtual time fires triggers to the millisecond.
  std::function<std::int64_t()> now_unix_ms = unix_ms;
};

/// The OMA's scheduler, for now its per-job triggers (the schedules of SPEC section 7 will
/// arm them). A trigger waits on the actor clock; nothing re-arms, so an ended scheduler
/// holds up no shutdown.
///
/// Messages (errors: actors/errors.hpp, category `mk`):
///   (trigger_atom, job, action, std::int64_t at_unix_ms) -> std::string trigger_id
///       action one of start|stop|resume (else `invalid`, as for a bad job id or a time more
///       than 10 years ahead); once due (at once if `at` has passed) sends
///       (trigger_atom, job, action) to `registry`, once.
///   (get_atom) -> std::string   the pending triggers, by time:
///       [{"id","job","action","at_unix_ms"}]
///   (shutdown_atom)             drops every trigger and ends the actor (an exit message too)
///
/// Bus: subscribes `<prefix>.job.*.stop`; a stop to "scheduler" drops that job's triggers and
/// confirms ok with "dropped N triggers" (idempotent by stop id).
caf::actor spawn_scheduler(caf::actor_system& system, std::shared_ptr<bus_link> bus,
                           caf::actor registry, scheduler_options options = {});

}  // namespace mk::actors
