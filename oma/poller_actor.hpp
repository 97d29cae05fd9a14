#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <memory>

#include "actors/bus_link.hpp"
#include "config/defaults.hpp"
#include "oma/interfaces.hpp"

namespace mk::actors {

struct poller_options {
  /// A followed job whose bytes_done has not moved for this long is reported stalled, once.
  std::chrono::milliseconds stall_after = defaults::oma::stall_after;
  /// How often each agent with followed jobs is asked for its movers, and how long an answer
  /// may take.
  std::chrono::milliseconds status_interval = defaults::oma::status_interval;
  std::chrono::milliseconds status_timeout = defaults::oma::status_timeout;
  /// Unanswered status polls in a row before an agent's followed jobs are lost.
  unsigned missed_limit = defaults::oma::missed_limit;
  /// A job's snapshot goes to the registry at most this often.
  std::chrono::milliseconds snapshot_interval = defaults::oma::snapshot_interval;
  /// A followed job's mover may be missing from its agent's list this long after following
  /// began before it counts as lost.
  std::chrono::milliseconds list_grace = defaults::oma::list_grace;
  /// The status request blocks (bus::transport::request) for up to `status_timeout`, so each
  /// agent's requests run in a helper actor of their own, on a thread of its own: a silent
  /// agent never holds up progress or another agent. Deterministic tests turn this off to
  /// run the helpers on CAF's test scheduler (with a responder that answers inline).
  bool detach_requests = true;
};

/// The OMA's poller (docs/stop-protocol.md and docs/bus.md): the latest progress of every job, and
/// the watch over the movers of the jobs it follows. Time is the actor clock's (CAF's virtual time
/// in tests).
///
/// Bus: subscribes `<prefix>.job.*.progress` (a malformed message, or one whose job is not
/// its subject's, is logged, counted and dropped) and `<prefix>.job.*.stop` (stops to
/// "poller"); asks `<prefix>.vma.<vma>.status` (request/reply) every `status_interval` for
/// each agent with followed jobs and each watched agent.
///
/// To `registry`:
///   (snapshot_atom, job, msg::progress)   the latest progress, at most every
///                                         `snapshot_interval` per job (the latest wins)
///   (exited_atom, job, msg::progress)     at once, state "exited": from the agent's progress,
///                                         or from a status that lists the mover as exited
///                                         (exit_code, detail, bytes_done); once per following
///   (lost_atom, job, std::string why)     a followed job's mover is not in its agent's list
///                                         (after `list_grace`), or the agent did not answer
///                                         `missed_limit` polls in a row; once, until the
///                                         mover is listed again
///   (stalled_atom, job, std::uint64_t s)  a followed job's bytes_done has not moved for
///                                         `stall_after` (s seconds); once, until it moves
///   (msg::vma_status)                     every answer to a status request, its `vma` the
///                                         agent asked (for the registry's agents table)
///
/// Messages:
///   (start_atom, job, vma)                begin following a job (again: its agent changes)
///   (finish_atom, job)                    end following it and forget its snapshot
///   (watch_atom, vma)                     ask the agent for its status now and every
///                                         `status_interval` from then on, jobs or none
///   (get_atom, job) -> msg::progress      the latest snapshot; error not_found when none
///   (get_atom) -> std::string             {"followed":[{"job","vma"}],"malformed":N}
///   (shutdown_atom)                       ends subscriptions, timers and helpers, then the
///                                         actor (an exit message does too)
///
/// A stop to "poller" (idempotent by stop id): forwards the job's final snapshot, stops
/// following it and confirms ok with "last progress: N of M bytes" or "no progress seen".
caf::actor spawn_poller(caf::actor_system& system, std::shared_ptr<bus_link> bus,
                        registry_hdl registry, poller_options options);

}  // namespace mk::actors
