#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace mk::test {

/// An nbdkit server inside a test's directory, on a Unix socket or on a TCP port of the
/// loopback. It runs in the foreground as our child and exits with the test process if that
/// dies. Its stderr goes to DIR/NAME.err.
class nbdkit_server {
 public:
  enum class listen { unix_socket, tcp };

  /// Runs `nbdkit -f --exit-with-parent -U DIR/NAME.sock -P DIR/NAME.pid --filter=F...
  /// PLUGIN_ARGS...` (with `-i 127.0.0.1 -p PORT` for TCP) and returns once the pid file
  /// exists, which nbdkit writes when it accepts connections. Filter parameters go among the
  /// plugin arguments, as with nbdkit. Throws std::runtime_error with nbdkit's stderr if it
  /// exits or is not ready in 10 s.
  static nbdkit_server start(const std::filesystem::path& dir, const std::string& name,
                             const std::vector<std::string>& filters,
                             const std::vector<std::string>& plugin_args,
                             listen on = listen::unix_socket);

  nbdkit_server() = default;
  ~nbdkit_server();
  nbdkit_server(nbdkit_server&& other) noexcept;
  nbdkit_server& operator=(nbdkit_server&& other) noexcept;
  nbdkit_server(const nbdkit_server&) = delete;
  nbdkit_server& operator=(const nbdkit_server&) = delete;

  /// DIR/NAME.sock; empty on TCP.
  const std::filesystem::path& socket() const { return socket_; }
  /// nbd+unix:///?socket=DIR/NAME.sock or nbd://127.0.0.1:PORT/
  const std::string& uri() const { return uri_; }
  /// The server process itself, for tests that kill or freeze it.
  process& proc() { return proc_; }

  /// SIGTERM (and SIGCONT, should it be frozen), SIGKILL after 5 s; then removes the socket
  /// and pid files that nbdkit leaves behind, so the same name can be started again. Once
  /// stopped, the object owns nothing: stopping again touches no file.
  void stop();

 private:
  bool launch(const std::filesystem::path& dir, const std::string& name,
              const std::vector<std::string>& listen_args, const std::vector<std::string>& filters,
              const std::vector<std::string>& plugin_args);

  process proc_;
  std::string uri_;
  std::filesystem::path socket_;
  std::filesystem::path pidfile_;
};

/// The rate filter's `rate-file=PATH`, which a test changes while nbdkit runs: slow while a
/// stop must land mid-copy, fast once the copy may finish. A new rate takes effect within
/// about a second.
class rate_file {
 public:
  rate_file() = default;
  explicit rate_file(std::filesystem::path path) : path_(std::move(path)) {}

  /// `rate-file=PATH`, among the plugin arguments next to the initial `rate=`.
  std::string arg() const { return "rate-file=" + path_.string(); }

  /// Writes `bits_per_second` ("8M", "10G") through a rename, as nbdkit asks. Throws
  /// std::system_error.
  void set(const std::string& bits_per_second) const;

 private:
  std::filesystem::path path_;
};

}  // namespace mk::test
