#pragma once

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "actors/bus_link.hpp"
#include "config/defaults.hpp"
#include "oma/interfaces.hpp"
#include "oma/volumes/backend.hpp"

namespace mk::actors {

struct volume_actor_options {
  /// The volume work blocks (nbdkit start and stop, fsync), so it runs on threads of its own
  /// (defaults::volumes::lanes of them); deterministic tests turn this off to run it on CAF's
  /// test scheduler.
  bool detached = true;
  /// How a job's agent reaches its volume: nothing (the default, and for an agent on this
  /// machine) serves it on a Unix socket; a remote_access serves it over TCP with TLS-PSK to
  /// that agent only. May block (it reads the agents' bucket): the actor runs detached.
  std::function<std::optional<volumes::remote_access>(const std::string& agent)> remote_for;
};

/// The owner of the target volumes (docs/overview.md and docs/stop-protocol.md), over a
/// volumes::volume_backend. A job's volume is `volume_id_for(job)`. Each step runs on a lane
/// of the volume's own (actors/blocking_lanes.hpp): one volume's steps in order, different
/// volumes' at once, a step that finds every lane busy waiting in line.
///
/// Messages (the interface volume_hdl, oma/interfaces.hpp; errors: actors/errors.hpp, category
/// `mk`, with a message that names the volume and the cause; `invalid` a bad id or an empty source,
/// `not_found` unknown volume, `conflict` a size that differs from the source's or a volume that is
/// busy, `internal` the backend failed):
///   (attach_atom, volume_id, source_size, agent) -> (std::string nbd_uri, std::uint64_t size)
///       creates the volume at the source's size (as the job's agent measured it: the OMA
///       never opens a source) if it does not exist; an existing one (a resume) must have
///       that size. Served on this machine, or over TLS-PSK to `agent` when `remote_for`
///       says the agent is on another host. Then serves it and answers the URI the mover
///       writes to. Attaching an attached volume answers the same URI.
///   (finish_atom, volume_id, bool complete, std::string checkpoint_ref) -> (done)
///       a mover ended by itself: detach (flushed), then mark complete, or partial with the
///       checkpoint reference (failed and resumable). A volume already complete stays so.
///   (get_atom, volume_id) -> volumes::volume_info
///   (shutdown_atom)
///       ends the subscription and the actor (an exit message does too).
///
/// Bus: subscribes `<prefix>.job.*.stop` and acts on the stops addressed to "volume" (phase 2
/// of the stop protocol), idempotent by stop id: `keep` detaches (flushed) and marks the
/// volume partial with checkpoint_ref(vma, job) ("kept as partial, 1.2 GiB allocated"), a
/// complete volume stays complete; `delete` detaches and removes it ("deleted"); a job without
/// a volume is "no volume". Any failure confirms `failed` with the cause.
volume_hdl spawn_volume_actor(caf::actor_system& system, std::shared_ptr<bus_link> bus,
                              std::shared_ptr<volumes::volume_backend> backend,
                              volume_actor_options options = {});

}  // namespace mk::actors
