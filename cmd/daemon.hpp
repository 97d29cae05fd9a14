#pragma once

#include <atomic>
#include <string>

/// What the long-running subcommands (`oma`, `vma`, `up`) share: how they take SIGINT and
/// SIGTERM, and how they log.
namespace mk::cmd {

/// Blocks SIGINT and SIGTERM in the calling thread, so that every thread started afterwards
/// (NATS, CAF) inherits the mask and only wait_for_stop_signal takes them. Call first.
void block_stop_signals();

/// Waits for SIGINT or SIGTERM, or until `done` turns true; returns the signal, or 0.
int wait_for_stop_signal(const std::atomic<bool>& done);

/// Actors and NATS log from many threads: replaces the default logger with a thread-safe one
/// whose lines name the subcommand.
void use_daemon_logger(const std::string& subcommand);

}  // namespace mk::cmd
