#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/defaults.hpp"
#include "vma/unique_fd.hpp"
#include "volumes/backend.hpp"

namespace mk::bus {
class child_process;
}

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
/// attach by `nbdkit -f -U <id>.sock -P <id>.pid file <id>.img` on a Unix socket. nbdkit is
/// started with bus::child_process, so it dies with this process: a crashed OMA leaves records
/// that say "attached" and dead servers, which the next backend on the same folder finds (pid
/// file, /proc) and cleans up, the volume back at rest. A server that still runs (started by
/// another backend object of this process) is adopted rather than started twice.
///
/// Thread-safe: one mutex, held across a start or stop of nbdkit (both bounded).
class local_backend final : public volume_backend {
 public:
  /// Creates DATA/volumes if needed and recovers the volumes left attached.
  static result<std::unique_ptr<local_backend>> open(local_backend_options options);

  /// Stops the servers this object started (SIGTERM, bounded) and fsyncs their files; their
  /// records keep saying "attached", as after a crash, and the next open cleans them up.
  ~local_backend() override;
  local_backend(const local_backend&) = delete;
  local_backend& operator=(const local_backend&) = delete;

  result<volume_info> create(const std::string& id, std::uint64_t size) override;
  result<std::string> attach(const std::string& id) override;
  result<void> detach(const std::string& id, bool flush) override;
  result<void> remove(const std::string& id) override;
  result<volume_info> info(const std::string& id) override;
  result<std::vector<volume_info>> list() override;
  result<void> mark_partial(const std::string& id, const std::string& checkpoint) override;
  result<void> mark_complete(const std::string& id) override;

  /// DATA/volumes.
  const std::filesystem::path& dir() const { return dir_; }

 private:
  explicit local_backend(local_backend_options options);

  std::filesystem::path file(const std::string& id, std::string_view ext) const;
  std::string uri(const std::string& id) const;
  result<volume_info> load(const std::string& id);
  result<void> set_state(const std::string& id, volume_state state, const std::string* checkpoint);
  bool serving(const std::string& id);
  result<void> stop_server(const std::string& id);
  result<void> settle(const std::string& id, bool flush);

  local_backend_options options_;
  std::filesystem::path dir_;
  std::mutex mutex_;
  /// Servers this object started, by volume id.
  std::map<std::string, std::unique_ptr<bus::child_process>> servers_;
  /// Servers found running at open or attach, not ours to reap: a pidfd each.
  std::map<std::string, vma::unique_fd> adopted_;
};

}  // namespace mk::volumes
