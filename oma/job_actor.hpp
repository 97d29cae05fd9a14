#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

#include "actors/blocking_lanes.hpp"
#include "actors/bus_link.hpp"
#include "config/defaults.hpp"
#include "models/job_record.hpp"
#include "models/stop_protocol.hpp"
#include "oma/interfaces.hpp"
#include "oma/job_observer.hpp"
#include "oma/job_store.hpp"

namespace mk::actors {

/// What a job actor works with. `volume` and `poller` may be empty handles (deterministic tests
/// of the stop protocol run without them).
struct job_deps {
  std::shared_ptr<bus_link> bus;
  std::shared_ptr<job_store> store;
  volume_hdl volume;
  caf::actor poller;
  /// May be empty: the deterministic tests run without the API.
  std::shared_ptr<job_observer> observer;
  stop_protocol::timing timing;
  std::chrono::milliseconds start_timeout = defaults::jobs::start_timeout;
  /// Where the job's store writes run (keyed by job id: in order) and its requests to the
  /// agent (they wait for the answer): never on the scheduler's threads.
  std::shared_ptr<blocking_lanes> store_lanes;
  std::shared_ptr<blocking_lanes> request_lanes;
};

/// One replication job (docs/states.md and docs/stop-protocol.md): its state machine, persisted in
/// the store on every transition and before anything acts on it, and the stop protocol with its
/// JobLog.
///
/// Messages (the interface job_actor_hdl, oma/interfaces.hpp; replies are the job's record as
/// it is after the request, or a caf::error of actors/errors.hpp):
///   (start_atom)                          queued -> starting -> replicating
///   (msg::stop_request) -> job_record     a stop; the same stop id while one is in progress
///   (resume_atom) -> job_record           stopped|failed with the volume kept -> queued
///   (get_atom) -> job_record
///   (remove_atom, msg::stop_request) -> job_record   DELETE: a stop with volumes delete whose
///                                         settlement removes the record (the actor then ends)
///   (plan_atom, msg::stop_request) -> stop_plan      the stop's dry run: each participant's part
///   (bus::envelope)                       a msg::stop_confirm from `<prefix>.job.<id>.stopped`
///   (snapshot_atom, job, msg::progress)   the poller's latest progress
///   (exited_atom, job, msg::progress)     the mover ended by itself
///   (lost_atom, job, std::string why)     the mover or its agent vanished
///   (stalled_atom, job, std::uint64_t s)  no progress for `s` seconds
///   (status_atom, msg::mover_info, bool)  the agent's account of the job's mover (hello, or a
///                                         status after an OMA restart): listed or not
///   (start_atom, absent_atom, why)        its own: no agent took the start request
///   (start_atom, retry_atom)              its own: ask the agent for the mover again
///
/// `recovering` says the record was read back after an OMA restart: a stop in progress goes
/// on with the same stop id, and a job that was starting or replicating asks its agent.
job_actor_hdl spawn_job_actor(caf::actor_system& system, job_deps deps, job_record job,
                              std::uint64_t revision, bool recovering);

}  // namespace mk::actors
