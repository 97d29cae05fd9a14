#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "oma/interfaces.hpp"
#include "oma/job_actor.hpp"

namespace mk::actors {

/// The OMA's directory of jobs: it spawns a job actor per job (all of them again from the store
/// after a restart), and routes to them what arrives for a job from the bus and from the other
/// actors of the OMA. `deps` is what each job actor gets; the registry subscribes for itself
/// on the bus of `deps.bus`.
///
/// Bus: `<prefix>.job.*.stopped` (confirmations, to the job), `<prefix>.control.stop`
/// (a StopRequest from an authorised publisher; a request gets a control_reply),
/// `<prefix>.control.replicate`, `<prefix>.control.resume` (requests; control_reply), and
/// `<prefix>.vma.*.hello` (an agent's movers, reconciled job by job), `<prefix>.job.*.state`
/// (each job's state, for the list).
///
/// Nothing happens before `(start_atom, poller)`: the poller (which reports to the registry,
/// so it is spawned after it) is wired in, the jobs of the store are recovered, and the
/// registry subscribes.
///
/// Messages (the interface registry_hdl, oma/interfaces.hpp; replies: the job's record, or a
/// caf::error of actors/errors.hpp; a request for one job is delegated to its actor, which
/// answers the asker):
///   (msg::replicate_request) -> job_record   a new job, queued, then started
///   (msg::stop_request) -> job_record      to the job named in it
///   (resume_atom, id) -> job_record        back to queued, then started
///   (remove_atom, msg::stop_request) -> job_record   DELETE: a stop with volumes delete; the
///                                          record goes once cancelled (at once if completed)
///   (plan_atom, msg::stop_request) -> stop_plan   a stop's dry run, changing nothing
///   (get_atom, id) -> job_record
///   (snapshot_atom | exited_atom | lost_atom | stalled_atom, job, ...)   to the job
///   (trigger_atom, job, trigger_action)    a scheduler's trigger: start, stop or resume
///   (list_atom) -> [job_summary]           every job, as it last said on the bus
///   (agents_atom) -> [agent_status]        GET /agents: every agent that reported (a hello, or
///                                          an answer to the poller), expected, or named by a
///                                          job (oma/agent_table.hpp)
///   (watch_atom, vma)                      an agent to expect (`migratekit up`'s own, whose
///                                          hello comes before the OMA listens): listed, and
///                                          polled for its health like every agent that reported
///   (msg::vma_status)                      from the poller: an agent answered it
///   (gate_atom, closed, maintenance_scope, reason)   maintenance mode: while closed, new
///                                          replications and resumes of agents in scope are
///                                          refused with `unavailable`, and
///                                          queued jobs recovered after a restart wait
registry_hdl spawn_registry(caf::actor_system& system, job_deps deps);

}  // namespace mk::actors
