#pragma once

#include <atomic>
#include <chrono>
#include <expected>
#include <string>

/// What the long-running subcommands (`oma`, `vma`, `up`) share: how they take SIGINT and
/// SIGTERM, and how they log.
namespace mk::cmd {

/// Blocks SIGINT and SIGTERM in the calling thread, so that every thread started afterwards
/// (NATS, CAF) inherits the mask and only wait_for_stop_signal takes them. Call first.
void block_stop_signals();

/// Waits for SIGINT or SIGTERM, or until `done` turns true; returns the signal, or 0.
int wait_for_stop_signal(const std::atomic<bool>& done);

/// Takes a pending SIGINT or SIGTERM, waiting at most `timeout`; returns the signal, or 0.
/// For callers that have work to do between looks.
int take_stop_signal(std::chrono::milliseconds timeout);

/// "SIGINT" or "SIGTERM", for logs.
const char* stop_signal_name(int sig);

/// Why a node (cmd/oma_node.hpp, cmd/vma_node.hpp) could not start: the exit status its
/// command ends with (2: bad usage, 1: anything else) and what to log.
struct start_error {
  int exit_code = 1;
  std::string message;
};

/// A start that failed with `exit_code`, saying why.
inline std::unexpected<start_error> start_failed(int exit_code, std::string message) {
  return std::unexpected<start_error>(start_error{exit_code, std::move(message)});
}

/// Ends the process with `code` once everything of ours is closed, without exit handlers nor
/// library destructors: OpenSSL 3.0's cleanup, which libcrypto's destructor runs even when no
/// exit handler was asked for (bus/nats_transport.cpp), crashed in OPENSSL_sk_pop_free after
/// NATS.c had closed its TLS connections, one exit in five of an agent revoked over TLS (none
/// in 12 since). Logs and standard streams are flushed first, and under LeakSanitizer the leak
/// check still runs.
[[noreturn]] void end_process(int code);

/// Actors and NATS log from many threads: replaces the default logger with a thread-safe one
/// whose lines name the subcommand.
void use_daemon_logger(const std::string& subcommand);

}  // namespace mk::cmd
