#pragma once

#include <caf/atom.hpp>

/// Every atom of the actors, in one place (CAF 0.17: at most 10 characters each).
namespace mk::actors {

using tick_atom = caf::atom_constant<caf::atom("tick")>;          ///< a timer fired
using start_atom = caf::atom_constant<caf::atom("start")>;        ///< begin a job's replication
using resume_atom = caf::atom_constant<caf::atom("resume")>;      ///< a stopped job back to queued
using get_atom = caf::atom_constant<caf::atom("get")>;            ///< the current record, as JSON
using attach_atom = caf::atom_constant<caf::atom("attach")>;      ///< volume: create if new, serve
using finish_atom = caf::atom_constant<caf::atom("finish")>;      ///< volume: detach and mark
using hello_atom = caf::atom_constant<caf::atom("hello")>;        ///< agent: say hello again
using status_atom = caf::atom_constant<caf::atom("status")>;      ///< agent: its movers
using exited_atom = caf::atom_constant<caf::atom("exited")>;      ///< a mover ended
using output_atom = caf::atom_constant<caf::atom("output")>;      ///< a mover wrote a line
using lost_atom = caf::atom_constant<caf::atom("lost")>;          ///< a mover or agent vanished
using stalled_atom = caf::atom_constant<caf::atom("stalled")>;    ///< no progress for too long
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;  ///< the latest progress
using trigger_atom = caf::atom_constant<caf::atom("trigger")>;    ///< scheduler: a per-job trigger
using retry_atom = caf::atom_constant<caf::atom("retry")>;        ///< try failed writes again
using absent_atom = caf::atom_constant<caf::atom("absent")>;      ///< nobody took a request
using remove_atom = caf::atom_constant<caf::atom("remove")>;  ///< DELETE: the job and its volume
using plan_atom = caf::atom_constant<caf::atom("plan")>;      ///< a stop's dry run
using list_atom = caf::atom_constant<caf::atom("list")>;      ///< registry: every job's state
using gate_atom = caf::atom_constant<caf::atom("gate")>;      ///< registry: refuse in a scope
using schedule_atom = caf::atom_constant<caf::atom("schedule")>;  ///< scheduler: add a schedule
using agents_atom = caf::atom_constant<caf::atom("agents")>;      ///< registry: the agents it knows
using watch_atom = caf::atom_constant<caf::atom("watch")>;        ///< poller: ask an agent's health
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;  ///< end timers and subscriptions

}  // namespace mk::actors
