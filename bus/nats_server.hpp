#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bus/error.hpp"
#include "bus/server_config.hpp"
#include "config/defaults.hpp"
#include "sys/child_process.hpp"

namespace mk::bus {

/// Where and how `migratekit up` runs its own nats-server.
struct nats_server_options {
  /// DATA: the server's files go to DATA/nats (mode 0700).
  std::filesystem::path data_dir;
  std::string prefix{defaults::bus::prefix};
  /// The agents the vma user may speak for (docs/security.md).
  std::vector<std::string> vma_agents{"local"};
  /// Empty: `nats-server` on PATH, then /usr/sbin (Debian installs it there).
  std::filesystem::path executable;
  /// 0: the port of the previous run on this data folder if it is free, else any free one.
  std::uint16_t port = 0;
  std::chrono::milliseconds ready_timeout = defaults::bus::server_ready_timeout;
  std::chrono::milliseconds stop_timeout = defaults::bus::server_stop_timeout;
  /// Set: operator mode (bus/trust.hpp) instead of one user per role; clients bring `.creds`
  /// files, and DATA/nats/urls says where the server is.
  std::optional<operator_trust> trust;
};

/// The embedded nats-server, a child of this process on 127.0.0.1 with JetStream under
/// DATA/nats/jetstream and one user per role. Its files:
///
///   DATA/nats/server.conf   written at each start (0600)
///   DATA/nats/server.log    the server's output, appended
///   DATA/nats/<role>.url    nats://ROLE:PASSWORD@127.0.0.1:PORT for each role (0600)
///
/// A restart on the same folder keeps the passwords (read back from the url files) and the
/// port when it is free, so clients' url files stay valid. The server runs in a session of its
/// own, so that a terminal's Ctrl-C reaches only its parent (which may still need the bus to
/// shut down cleanly), and gets SIGTERM should its parent die.
class nats_server {
 public:
  /// Writes the files, starts the server and returns once it accepts connections.
  static result<std::unique_ptr<nats_server>> start(const nats_server_options& opts);

  /// stop().
  ~nats_server();
  nats_server(const nats_server&) = delete;
  nats_server& operator=(const nats_server&) = delete;

  /// SIGTERM, then SIGKILL past the stop timeout; returns once the server has exited. Also
  /// reaps a server that died on its own or was killed.
  void stop();

  std::uint16_t port() const { return port_; }
  /// The URL with the role's credentials, as in its url file (not in operator mode).
  std::string url(role r) const;
  /// nats://127.0.0.1:PORT, without credentials (as DATA/nats/urls says in operator mode).
  std::string url() const;
  std::filesystem::path url_file(role r) const;
  /// The server process, for tests that kill it; -1 once stopped.
  pid_t pid() const;
  bool running() const;

 private:
  nats_server() = default;

  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  std::array<std::string, 3> passwords_;
  bool operator_mode_ = false;
  std::chrono::milliseconds stop_timeout_{};
  std::unique_ptr<sys::child_process> child_;
};

/// The URL in DATA/nats/<role>.url, for a client on the same machine.
result<std::string> read_url(const std::filesystem::path& data_dir, role r);

}  // namespace mk::bus
