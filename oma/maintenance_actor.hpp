#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <functional>
#include <memory>
#include <string>

#include "actors/blocking_lanes.hpp"
#include "actors/bus_link.hpp"
#include "oma/document_bucket.hpp"
#include "oma/interfaces.hpp"

namespace mk::actors {

/// Maintenance mode (docs/operations.md). Turned on, it closes the registry's gate for its scope
/// (new replications and resumes there are refused with `unavailable`) and stops every active
/// job in scope (graceful, volumes kept, reason `maintenance`), at most `max_parallel` stops in
/// flight at once: a stop counts from the request until the job's state says it settled.
/// Turned off with `resume_after`, it resumes exactly the jobs whose stop it asked for and that
/// settled as `stopped`. The mode and those jobs are stored (settings bucket) on every change,
/// so an OMA restart carries on where it was.
///
/// Messages (replies: the mode as JSON, see maintenance_mode.hpp; or a caf::error of
/// actors/errors.hpp):
///   (get_atom) -> mode
///   (msg::maintenance) -> mode     switch it (PUT /maintenance). On again with the same scope
///                                  changes the reason and max_parallel; with another scope it
///                                  is a `conflict`. Off when off changes nothing.
///   (start_atom)                   once the registry has recovered the jobs: carry on
///   (shutdown_atom)                ends subscriptions and the actor
///
/// Bus: publishes every switch on `<prefix>.maintenance`; subscribes it (a switch from another
/// publisher, such as a schedule, is applied like a request) and `<prefix>.job.*.state`.
/// `changed`, if set, hears the mode (as GET shows it) after every stored change: the API's
/// live events. It runs on the actor's thread and must not block. The settings are read and
/// written on `lanes` (actors/blocking_lanes.hpp), awaited.
caf::actor spawn_maintenance(caf::actor_system& system, std::shared_ptr<bus_link> bus,
                             registry_hdl registry, std::shared_ptr<document_bucket> settings,
                             std::shared_ptr<blocking_lanes> lanes,
                             std::function<void(const std::string&)> changed = {});

}  // namespace mk::actors
