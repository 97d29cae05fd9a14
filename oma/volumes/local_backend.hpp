#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/defaults.hpp"
#include "oma/volumes/backend.hpp"
#include "sys/unique_fd.hpp"

namespace mk::volumes {

struct local_backend_options {
  /// The data directory; volumes live in DATA/volumes (created if missing).
  std::filesystem::path data_dir;
  /// The NBD server, a path (no PATH search).
  std::filesystem::path nbdkit{defaults::volumes::nbdkit};
  std::chrono::milliseconds ready_timeout = defaults::volumes::server_ready_timeout;
  std::chrono::milliseconds stop_timeout = defaults::volumes::server_stop_timeout;
};

/// Volumes as sparse files DATA/volumes/<id>.img with their record in <id>.json, served on
/// attach by `nbdkit -U <id>.sock -P <id>.pid file <id>.img` on a Unix socket, or for a mover
/// on another host by `nbdkit -i HOST -p PORT --tls=require --tls-psk=<id>.psk ...` (the key
/// file 0600, one line: the job's agent and its key). A server
/// belongs to its volume, not to the process that started it: it outlives this object and
/// this process (a crash, a restart, an upgrade), because a mover may still be writing to it
/// and docs/recovery.md re-adopts such movers after an OMA restart. So nbdkit is started in a
/// session of its own and forks into the background (nbdkit sets a parent-death signal for
/// itself, which only a fork clears), and every server, ours or found, is followed by a pidfd
/// from its pid file (checked against /proc, so a reused pid is never taken for it). The next
/// backend on the same folder adopts a server that still runs; one that died is cleaned up,
/// its volume back at rest. Only detach stops a server.
///
/// Thread-safe: each volume has a mutex of its own, held across a start or stop of its nbdkit
/// (both bounded), so different volumes are attached and detached at once.
class local_backend final : public volume_backend {
 public:
  /// Creates DATA/volumes if needed and recovers the volumes left attached.
  static result<std::unique_ptr<local_backend>> open(local_backend_options options);

  /// Leaves the servers running: their records keep saying "attached", which is true, and
  /// the next backend on the folder adopts them. Nothing is flushed here: a mover flushes
  /// what it counts as done, and detach flushes before a volume is at rest.
  ~local_backend() override;
  local_backend(const local_backend&) = delete;
  local_backend& operator=(const local_backend&) = delete;

  result<volume_info> create(const std::string& id, std::uint64_t size) override;
  result<std::string> attach(const std::string& id,
                             const std::optional<remote_access>& remote = {}) override;
  result<void> detach(const std::string& id, bool flush) override;
  result<void> remove(const std::string& id) override;
  result<volume_info> info(const std::string& id) override;
  std::string location(const std::string& id) const override;
  result<std::vector<volume_info>> list() override;
  result<void> mark_partial(const std::string& id, const std::string& checkpoint) override;
  result<void> mark_complete(const std::string& id) override;

  /// DATA/volumes.
  const std::filesystem::path& dir() const { return dir_; }

  /// The volumes that open() could not load or settle ("volume v-1: open ...: No such file"),
  /// e.g. an image removed by hand. They do not keep the others down; their jobs find out
  /// when they use them.
  const std::vector<std::string>& damaged() const { return damaged_; }

 private:
  explicit local_backend(local_backend_options options);

  std::filesystem::path file(const std::string& id, std::string_view ext) const;
  std::string uri(const std::string& id) const;
  result<volume_info> load(const std::string& id);
  /// The ids of the volumes recorded in the folder, sorted.
  result<std::vector<std::string>> ids();
  result<void> set_state(const std::string& id, volume_state state, const std::string* checkpoint);
  bool serving(const std::string& id);
  /// The volume's lock: every public step holds it throughout.
  std::unique_lock<std::mutex> lock_volume(const std::string& id);
  /// The pidfd of the volume's server, if one is known (-1 if not), and forgetting it.
  int server_of(const std::string& id);
  void forget_server(const std::string& id);
  /// nbdkit's arguments to serve `id` to a remote agent, and the URI its mover writes to.
  struct listener {
    std::vector<std::string> args;
    std::string uri;
  };
  result<listener> tcp_listener(const std::string& id, const remote_access& remote);
  result<void> stop_server(const std::string& id);
  result<void> settle(const std::string& id, bool flush);

  local_backend_options options_;
  std::filesystem::path dir_;
  std::mutex locks_mu_;  ///< guards locks_
  std::map<std::string, std::shared_ptr<std::mutex>> locks_;
  std::mutex ports_mu_;    ///< remote attaches: from choosing a port to the server's bind
  std::mutex servers_mu_;  ///< guards servers_ (its entries change under their volume's lock)
  /// Servers that run, started here or found at open or attach, by volume id: a pidfd each.
  /// They are never our children (nbdkit forks away), so nothing here reaps them.
  std::map<std::string, sys::unique_fd> servers_;
  std::vector<std::string> damaged_;
};

}  // namespace mk::volumes
