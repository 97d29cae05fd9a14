#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "config/defaults.hpp"
#include "config/expected.hpp"
#include "sys/unique_fd.hpp"

namespace mk::cmd {

struct demo_source_options {
  /// DATA/demo: the socket, pid file and log live here.
  std::filesystem::path dir;
  std::uint64_t size = 1ull << 30;
  /// nbdkit's rate filter syntax: bits per second, with an optional K, M or G.
  std::string rate{"64M"};
  std::filesystem::path nbdkit{defaults::volumes::nbdkit};
};

/// The source disk of `migratekit up --demo`: nbdkit's `random` plugin (a fixed seed, so the
/// data is the same at every start and a resumed copy continues the same disk) behind the rate
/// filter, on DIR/source.sock.
///
/// It belongs to the data folder, not to this process, as the volumes' servers do: it runs in
/// a session of its own (a Ctrl-C on the terminal is for `up`, which stops the jobs first) and
/// in the background, so a mover left running by an `up` that was killed or interrupted twice
/// keeps its source, and the next start adopts the server if it was started with the same
/// arguments. Requests are serialised (noparallel): nbdkit 1.32 can abort when a client is
/// killed while several of its requests sleep in the rate filter.
class demo_source {
 public:
  /// Adopts the server still running from an earlier start with the same arguments, or
  /// starts one; returns once it accepts connections.
  static expected<std::unique_ptr<demo_source>, std::string> start(demo_source_options options);

  /// Leaves the server running (see stop()).
  ~demo_source() = default;
  demo_source(const demo_source&) = delete;
  demo_source& operator=(const demo_source&) = delete;

  /// nbd+unix:///?socket=DIR/source.sock
  std::string uri() const;
  /// SIGTERM, SIGKILL after 5 s; removes the socket and pid files nbdkit leaves behind.
  void stop();

 private:
  demo_source() = default;

  std::filesystem::path dir_;
  sys::unique_fd pidfd_;
};

}  // namespace mk::cmd
