#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "bus/error.hpp"
#include "bus/nats_server.hpp"
#include "config/defaults.hpp"

namespace mk::bus {

/// The OMA's own nats-server, started again when it ends by itself (a crash, `kill -9`), as a
/// supervisor would: on the same port and folder, so that the URLs every client and join file
/// holds stay valid. A node of several comes back into its bus, whose other nodes kept the
/// state; a lone node comes back with its JetStream files. The options are asked for again at
/// each start after a death, so that a restarted server trusts the revocations made since the
/// first.
class kept_server {
 public:
  /// Where each start after a death gets its options.
  using options_source = std::function<result<nats_server_options>()>;

  /// Starts the server with `first` (as nats_server::start) and the thread that watches it
  /// every `watch`; a start after a death takes its options from `again`, and one that fails
  /// is tried again every `retry`.
  static result<std::unique_ptr<kept_server>> start(
      const nats_server_options& first, options_source again,
      std::chrono::milliseconds watch = defaults::bus::server_watch,
      std::chrono::milliseconds retry = defaults::bus::server_restart_retry);

  /// stop().
  ~kept_server();
  kept_server(const kept_server&) = delete;
  kept_server& operator=(const kept_server&) = delete;

  /// Ends the watch, then the server (nats_server::stop); it is not started again.
  void stop();

  /// nats://HOST:PORT or tls://HOST:PORT, the same across restarts.
  const std::string& url() const { return url_; }
  /// The server process now; -1 while it is being started again or once stopped.
  pid_t pid() const;
  /// Starts after a death so far.
  unsigned restarts() const;

 private:
  kept_server() = default;
  void watch();

  options_source options_;
  std::chrono::milliseconds watch_{};
  std::chrono::milliseconds retry_{};
  std::uint16_t port_ = 0;
  std::string url_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  unsigned restarts_ = 0;
  std::unique_ptr<nats_server> server_;
  std::thread thread_;
};

}  // namespace mk::bus
