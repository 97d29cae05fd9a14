#pragma once

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "actors/blocking_lanes.hpp"
#include "actors/bus_link.hpp"
#include "actors/participant.hpp"
#include "agent/mover/mover_process.hpp"
#include "agent/mover_record.hpp"
#include "config/defaults.hpp"
#include "messages/catalogue.hpp"
#include "sys/fd_watch.hpp"

/// The vma-process actor: one per running mover, spawned by its VMA agent (docs/overview.md and
/// docs/stop-protocol.md).
///
///   running --stop request--> stopping --mover ended--> confirm on .stopped, tell agent, quit
///   running --mover ended by itself--> `exited` progress, tell agent, quit
///   running | stopping --shutdown or agent down--> detach the mover (it runs on), quit
///
/// The agent's `watch` tells it at once when the mover writes a progress line (output_atom to
/// itself) and when it ends (exited_atom); the lines are published on
/// `<prefix>.job.<job>.progress` at most every `progress_interval` (a line that comes sooner
/// is held until then). A timer (tick_atom to itself) looks all the same, every
/// `watched_tick_interval`, or every `tick_interval` when nothing tells it (an adopted mover
/// has no pipe: its checkpoint file says its progress), and every `stop_tick_interval` once a
/// stop was sent, to escalate an overdue stop to SIGKILL.
///
/// Exit codes it reports: the mover's own; for an adopted mover (not our child, its status
/// lost) 0 if its checkpoint says completed, else -1.
///
/// Messages it takes:
///   msg::stop_request           a stop forwarded by the agent (`to` vma_process); replies
///                               with an empty message once taken, and confirms on the bus
///   tick_atom, generation       its own timer (a stale generation is dropped)
///   output_atom                 from `watch`: the mover wrote; or a held line is due
///   exited_atom                 from `watch`: the mover has ended
///   shutdown_atom               the agent shuts down: let the mover run on, quit
/// Messages it sends to the agent:
///   msg::progress                                  each published progress, for status replies
///   exited_atom, msg::mover_info, msg::stop_confirm, bool completed, msg::progress
///                                                  once the mover has ended: the agent records
///                                                  the end, then publishes the confirmation, or
///                                                  when no stop was asked (empty stop_id) the
///                                                  `exited` progress
namespace mk::actors {

struct vma_process_args {
  std::shared_ptr<const bus_link> bus;
  caf::actor agent;
  std::string vma;  ///< the agent's id: the mover's subjects are under it
  std::string job;
  /// Taken over by the actor: started by the agent just before, or adopted.
  std::shared_ptr<vma::mover_process> mover;
  std::filesystem::path checkpoint;
  std::filesystem::path stderr_log;
  /// The mover's record and its folder: a graceful stop is written to it before SIGTERM goes
  /// out, and a stop found in it is carried on (see mover_record::stopping).
  mover_record record;
  std::filesystem::path movers_dir;
  /// Where that record is written (fsync'd): the agent's lanes.
  std::shared_ptr<blocking_lanes> lanes;
  /// Tells the moment the mover writes or ends (the agent's one watcher); without it, both are
  /// seen at the next tick.
  std::shared_ptr<sys::fd_watch> watch;
  std::chrono::milliseconds tick_interval = defaults::vma::tick_interval;
  std::chrono::milliseconds watched_tick_interval = defaults::vma::watched_tick_interval;
  std::chrono::milliseconds stop_tick_interval = defaults::vma::stop_tick_interval;
  std::chrono::milliseconds progress_interval = defaults::copy::progress_interval;
};

struct vma_process_state {
  using clock = std::chrono::steady_clock;

  vma_process_state() = default;
  /// Lets a mover that is still running go on unsupervised, whatever ends the actor: movers
  /// outlive their agent (docs/recovery.md); only a stop request ends one.
  ~vma_process_state();
  vma_process_state(const vma_process_state&) = delete;
  vma_process_state& operator=(const vma_process_state&) = delete;

  vma_process_args args;
  stop_answers answers{msg::participant::vma_process};
  /// The stop being carried out, until the mover has ended.
  std::optional<msg::stop_request> stopping;
  bool forced = false;
  std::chrono::milliseconds grace{};
  /// The last progress published, and when.
  std::optional<msg::progress> last;
  clock::time_point last_sent{};
  /// The timer in force: a stop starts a faster one, and the slower one then fizzles out.
  std::uint64_t tick_generation = 0;
  bool done = false;
  /// The watches on the mover's end and on its stdout.
  std::optional<sys::fd_watch::id> exit_watched;
  std::optional<sys::fd_watch::id> output_watched;
  /// A line came within `progress_interval` of the last publish: an output_atom is due.
  bool publish_held = false;

  static inline const char* name = "vma_process";
};

caf::behavior vma_process(caf::stateful_actor<vma_process_state>* self, vma_process_args args);

/// The `exited` progress of a mover that ended by itself (no stop asked for it): one shape
/// for the vma_process, which saw the end, and for the agent, which found the mover ended
/// while nobody watched it.
msg::progress exited_progress(const msg::mover_info& info, std::uint64_t bytes_total,
                              std::uint64_t bytes_skipped);

}  // namespace mk::actors
