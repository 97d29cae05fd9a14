#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actors/actor_config.hpp"
#include "agent/vma_agent.hpp"
#include "bus/nats_transport.hpp"
#include "cmd/daemon.hpp"
#include "cmd/folder_lock.hpp"

namespace mk::cmd {

struct vma_node_options {
  /// Where the bus is (URLs separated by commas) and this agent's credentials there.
  std::string nats_url;
  std::filesystem::path creds_file;
  /// The CA the bus's TLS certificate is checked against; empty: no TLS (the loopback).
  std::filesystem::path ca_file;
  /// Set: the join file the OMA made for this agent (docs/security.md), which gives the id,
  /// prefix, bus, credentials and volume key; its secrets are kept under DATA (0600).
  std::filesystem::path join_file;
  /// id, prefix, mover arguments; data_dir, binary and source_roots are filled in from below.
  actors::vma_agent_options agent;
  std::filesystem::path data_dir;
  std::vector<std::filesystem::path> source_roots;
};

/// A VMA agent as one object, for `migratekit vma` and the agent "local" of `migratekit up`:
/// its own bus connection and its own actor system with the vma_agent actor in it.
///
/// Its own actor system, also inside `up`: the node is then the same wherever it runs, and
/// its shutdown waits for its own actors only (await_all_actors_done knows no other scope),
/// so `up` can take the agent down before the OMA or after it. The price is a second
/// scheduler's threads. Which thread starts a mover does not matter: movers are started
/// without a parent-death signal and in a session of their own (agent/mover/mover_process.hpp), so
/// neither the end of an actor thread nor a Ctrl-C on the terminal reaches them.
class vma_node {
 public:
  /// The caller must have called block_stop_signals() first.
  static expected<std::unique_ptr<vma_node>, start_error> start(vma_node_options options);

  /// shutdown().
  ~vma_node();
  vma_node(const vma_node&) = delete;
  vma_node& operator=(const vma_node&) = delete;

  /// Idempotent: ends the agent's subscriptions and actors, then the connection. Movers keep
  /// running; the next agent on the same data directory adopts them.
  void shutdown();

  /// Turns true if the agent ended on its own (an error, already logged).
  const std::atomic<bool>& down() const { return down_; }

 private:
  vma_node() = default;
  expected<void, start_error> run(vma_node_options options);

  std::optional<folder_lock> lock_;  // first in, last out: held while anything else lives
  std::atomic<bool> down_{false};
  std::shared_ptr<bus::transport> transport_;
  std::unique_ptr<actors::actor_config> config_;
  std::unique_ptr<caf::actor_system> system_;
  caf::actor agent_;
  /// Where a reconnect's hello goes: written by this thread, read on NATS.c's.
  std::mutex hello_mu_;
  caf::actor hello_to_;
  bool reconnect_untold_ = false;  ///< a reconnect came before there was an agent to tell
};

/// --mover-arg (repeatable, or MIGRATEKIT_MOVER_ARGS): what `vma` and `up` append to every
/// mover's command line.
void add_mover_arg_option(CLI::App& cmd, std::vector<std::string>& mover_args);

}  // namespace mk::cmd
