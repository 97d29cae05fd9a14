#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bus/error.hpp"

namespace mk::bus {

/// A child process started from an argument vector, never through a shell, with default
/// signal dispositions and mask, stdin from /dev/null and stdout and stderr appended to a
/// file. Should this process die, the child gets `death_signal`. The kernel ties that signal
/// to the thread that forked (STACK.md), so a child forked from a short-lived worker would
/// die with the worker: the fork is done by a thread of the child's own, which lives until
/// the child has exited and reaps it.
class child_process {
 public:
  /// `argv[0]` is a path: no PATH search.
  static result<std::unique_ptr<child_process>> spawn(const std::vector<std::string>& argv,
                                                      const std::filesystem::path& output,
                                                      int death_signal);

  /// Kills (SIGKILL) and reaps a child still running.
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const;
  bool running() const;
  /// Sends `sig` unless the child has exited (its pid may be another's by then).
  void signal(int sig);
  /// The wait status once the child has exited, or nothing if it still runs after `timeout`.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);

  /// What the forking thread and this handle share (defined in child_process.cpp).
  struct shared;

 private:
  child_process();

  std::shared_ptr<shared> shared_;
};

/// "exit 3" or "killed by signal 9", from a wait status.
std::string describe_wait_status(int status);

}  // namespace mk::bus
