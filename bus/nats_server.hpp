#pragma once

#include <sys/types.h>

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
  /// Empty: `nats-server` on PATH, then /usr/sbin (Debian installs it there).
  std::filesystem::path executable;
  /// 0: the port of the previous run on this data folder if it is free, else any free one.
  std::uint16_t port = 0;
  /// Where clients connect (`--advertise`): an IPv4 address or a name that resolves to one.
  std::string host{"127.0.0.1"};
  /// Set: TLS required, with this certificate and key (bus/tls.hpp).
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
  std::chrono::milliseconds ready_timeout = defaults::bus::server_ready_timeout;
  std::chrono::milliseconds stop_timeout = defaults::bus::server_stop_timeout;
  /// The operator and accounts it trusts (bus/trust.hpp): clients bring `.creds` files.
  operator_trust trust;
  /// Its name, and the other nodes of its bus (bus/server_config.hpp): unset, a lone node.
  std::string server_name;
  std::optional<cluster_config> cluster;
};

/// The embedded nats-server, a child of this process on 127.0.0.1 (or the advertised address,
/// with TLS) with JetStream under DATA/nats/jetstream, in operator mode. Its files:
///
///   DATA/nats/server.conf    written at each start (0600)
///   DATA/nats/server.log     the server's output, appended
///   DATA/nats/operator.jwt   the operator it trusts
///   DATA/nats/resolver/      the accounts' JWTs as pushed to it (revocations)
///   DATA/nats/urls           nats://127.0.0.1:PORT (tls://HOST:PORT), one URL a line
///
/// A restart on the same folder keeps the port when it is free, so clients' urls stay valid. The
/// server runs in a session of its own, so that a terminal's Ctrl-C reaches only its parent (which
/// may still need the bus to shut down cleanly), and gets SIGTERM should its parent die.
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
  /// nats://HOST:PORT, or tls://HOST:PORT with TLS, as DATA/nats/urls says.
  std::string url() const;
  /// The server process, for tests that kill it; -1 once stopped.
  pid_t pid() const;
  bool running() const;

 private:
  nats_server() = default;

  std::filesystem::path dir_;
  std::string host_;
  bool tls_ = false;
  std::uint16_t port_ = 0;
  std::chrono::milliseconds stop_timeout_{};
  std::unique_ptr<sys::child_process> child_;
};

/// The URLs in DATA/nats/urls, for a client on the same machine.
result<std::vector<std::string>> read_urls(const std::filesystem::path& data_dir);

}  // namespace mk::bus
