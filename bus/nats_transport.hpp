#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "bus/transport.hpp"
#include "config/defaults.hpp"

namespace mk::bus {

namespace detail {
struct nats_state;
}

/// How a client connects: to the servers at `url` (several separated by commas), in operator
/// mode with a `.creds` file (bus/jwt.hpp), over TLS when given the CA to check the server by.
struct nats_options {
  std::string url;
  /// A user's JWT and seed (docs/security.md).
  std::filesystem::path creds_file;
  /// PEM file of the CA that signed the server's certificate; set: TLS, and the server's name
  /// must match the URL's host.
  std::filesystem::path ca_file;
  /// Where the replies to this client's requests come (`_INBOX_<name>`): a user may then
  /// subscribe to its own replies only. Empty: NATS's `_INBOX`.
  std::string inbox_prefix;
  /// Shown by the server and in logs: "oma", "vma local", "ctl".
  std::string name{defaults::bus::connection_name};
  std::chrono::milliseconds connect_timeout = defaults::bus::connect_timeout;
  std::chrono::milliseconds reconnect_wait = defaults::bus::reconnect_wait;
  std::chrono::milliseconds reconnect_jitter = defaults::bus::reconnect_jitter;
  int reconnect_buffer_bytes = defaults::bus::reconnect_buffer_bytes;
  std::chrono::milliseconds ping_interval = defaults::bus::ping_interval;
  /// When the server cannot be reached yet, connect() succeeds anyway and the connection is
  /// made in the background (a client may start before its server). Refused credentials
  /// and bad URLs fail at once either way.
  bool retry_on_failed_connect = true;
  /// Given several URLs, the first is tried first (the OMA's own node, beside it), the others
  /// once it is gone; else NATS.c picks one at random, which spreads agents over the nodes.
  bool first_url_first = false;
  /// Called once, on a thread of NATS.c, when the server ends the connection for good (it
  /// refused or revoked the credentials): reconnecting is over. Not called for a close by
  /// the transport's own destruction.
  std::function<void(const std::string& why)> on_lost;
  /// Called on a thread of NATS.c after each reconnect, once the subscriptions are back.
  std::function<void()> on_reconnected;
  /// Size of the process-wide delivery pool; it only ever grows.
  int delivery_threads = defaults::bus::delivery_threads;
};

/// What happened to a connection since it was made, for logs and /metrics.
struct nats_stats {
  std::uint64_t disconnects = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t async_errors = 0;           ///< every asynchronous error, including these:
  std::uint64_t permission_violations = 0;  ///< publishes or subscriptions the server denied
  std::uint64_t slow_consumers = 0;         ///< a subscription fell behind: messages dropped
};

/// The bus over NATS. Reconnects forever; publishes made while disconnected wait in the
/// reconnect buffer. Asynchronous errors (denied subjects, slow consumers) are logged and
/// counted. Destruction ends every subscription (waiting for their handlers), then closes
/// the connection; state_store and every subscription should go before it.
class nats_transport final : public transport {
 public:
  static result<std::unique_ptr<nats_transport>> connect(const nats_options& opts);

  ~nats_transport() override;
  nats_transport(const nats_transport&) = delete;
  nats_transport& operator=(const nats_transport&) = delete;

  result<> publish(std::string_view subject, std::span<const std::uint8_t> data) override;
  result<> publish_request(std::string_view subject, std::span<const std::uint8_t> data,
                           std::string_view reply) override;
  result<subscription> subscribe(std::string_view pattern, handler h) override;
  result<envelope> request(std::string_view subject, std::span<const std::uint8_t> data,
                           std::chrono::milliseconds timeout) override;
  result<> flush(std::chrono::milliseconds timeout) override;

  /// Whether the connection is up right now (not connecting, reconnecting or closed).
  bool connected() const;
  nats_stats stats() const;

  /// For the JetStream code of bus/ only (the type is private to it).
  detail::nats_state& native() { return *state_; }

 private:
  explicit nats_transport(std::unique_ptr<detail::nats_state> state);

  std::unique_ptr<detail::nats_state> state_;
};

/// Tears NATS.c down and waits for its threads, once every transport, state_store and
/// subscription of the process is gone: the last step of a clean shutdown. Never call it
/// from a handler. NATS.c starts again if a connection is made afterwards.
result<> close_nats(std::chrono::milliseconds timeout = defaults::bus::close_timeout);

}  // namespace mk::bus
