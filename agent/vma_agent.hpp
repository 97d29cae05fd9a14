#pragma once

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/blocking_lanes.hpp"
#include "actors/bus_link.hpp"
#include "actors/participant.hpp"
#include "agent/mover_record.hpp"
#include "bus/transport.hpp"
#include "config/defaults.hpp"
#include "messages/catalogue.hpp"
#include "sys/fd_watch.hpp"

/// The VMA agent (`migratekit vma --id ID`): starts movers, answers for them on the bus, and
/// spawns one vma_process actor per running mover (docs/overview.md, docs/stop-protocol.md,
/// docs/bus.md and docs/recovery.md).
///
///   OMA --<prefix>.vma.<id>.start (request)--> agent --argv--> mover; spawns vma_process
///   OMA --<prefix>.vma.<id>.status (request)--> agent: the running movers and the newest
///        ended ones (at most `max_ended_reported`)
///   job --<prefix>.job.<job>.stop (to vma_process, vma <id>)--> agent --> that job's
///        vma_process, or, without one, the agent answers `not_running` itself
///   agent --<prefix>.vma.<id>.hello--> OMA, once at start, after re-adopting its movers
///
/// Its files, under DATA: movers/<job>.json (who each mover is, and how it ended, written
/// atomically), checkpoints/<name>.json (the movers' checkpoints), logs/<job>.log (their
/// stderr). On shutdown the movers are detached, never killed: the next agent adopts them.
/// An ended mover's record is forgotten after `ended_retention`, looked for at the start and
/// every `ended_prune_interval` (tick_atom to itself).
///
/// Messages it takes besides the bus's envelopes: shutdown_atom (end subscriptions, let the
/// movers run on, quit), and from its vma_process actors msg::progress and exited_atom.
namespace mk::actors {

struct vma_agent_options {
  std::string id{defaults::vma::agent_id};
  std::filesystem::path data_dir;
  /// The migratekit executable that movers run (`BINARY copy ...`); a path, no PATH search.
  std::filesystem::path binary;
  std::string prefix{defaults::bus::prefix};
  /// Appended to every mover's arguments (`--requests 16`, `--drain-timeout 20`, ...).
  std::vector<std::string> mover_args;
  /// Local sources must lie under one of these; NBD URIs are always accepted.
  std::vector<std::filesystem::path> source_roots;
  std::chrono::milliseconds tick_interval = defaults::vma::tick_interval;
  std::chrono::milliseconds progress_interval = defaults::copy::progress_interval;
  std::chrono::milliseconds ended_retention = defaults::vma::ended_retention;
  std::chrono::milliseconds ended_prune_interval = defaults::vma::ended_prune_interval;
  std::size_t max_ended_reported = defaults::vma::max_ended_reported;
  /// How long a probe waits for a source to tell its size.
  std::chrono::milliseconds probe_timeout = defaults::vma::source_probe_timeout;
};

struct vma_agent_state {
  struct running_mover {
    caf::actor actor;
    msg::mover_info info;  ///< state "running", pid, bytes_done as last reported
    mover_record record;
  };
  struct ended_mover {
    msg::mover_info info;  ///< state "exited", exit_code, detail
    /// The vma_process's answer to the stop that ended it, given again on a repeat.
    std::optional<msg::stop_confirm> answer;
    bool completed = false;
    std::int64_t ended_at = 0;  ///< unix ms
  };

  vma_agent_options opts;
  std::shared_ptr<const bus_link> bus;
  std::vector<bus::subscription> subs;
  std::string start_subject;
  std::string status_subject;
  std::string hello_subject;  ///< set once the agent is ready
  std::map<std::string, running_mover> running;
  std::map<std::string, ended_mover> ended;
  /// Answers the agent gives itself, for jobs without a vma_process.
  stop_answers answers{msg::participant::vma_process};
  /// Where the mover records are written (fsync'd) and movers started or looked for: never
  /// on the scheduler's threads (actors/blocking_lanes.hpp). The vma_process actors share it.
  std::shared_ptr<blocking_lanes> lanes;
  /// Tells the vma_process actors the moment a mover writes a line or ends.
  std::shared_ptr<sys::fd_watch> watch;

  std::filesystem::path movers_dir() const;
  std::filesystem::path checkpoint_path(const std::string& checkpoint) const;
  std::filesystem::path log_path(const std::string& job) const;

  static inline const char* name = "vma_agent";
};

/// Spawn with `system.spawn(vma_agent, options, transport)`; stop with shutdown_atom (or an
/// exit message). It quits at once with an error if its folders or subscriptions fail.
caf::behavior vma_agent(caf::stateful_actor<vma_agent_state>* self, vma_agent_options opts,
                        std::shared_ptr<bus::transport> transport);

}  // namespace mk::actors
