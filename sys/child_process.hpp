#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sys/child.hpp"
#include "sys/error.hpp"

namespace mk::sys {

/// How a child is tied to this process.
struct child_options {
  /// Sent to the child should this process die; 0 for none, so that the child may outlive
  /// this process. A program can still set one itself after exec (nbdkit 1.32 always does,
  /// for its parent): such a program outlives us only once it has left us, as a daemon does.
  int death_signal = 0;
  /// Starts the child in a session (and process group) of its own, so that signals meant for
  /// ours, such as a terminal's Ctrl-C, do not reach it.
  bool new_session = false;
};

/// A child process started from an argument vector (`spawn`), with stdout and stderr appended
/// to a file. Should this process die, the child gets `death_signal`, if one is given. The
/// kernel ties that signal to the thread that forked (STACK.md), so a child forked from a
/// short-lived worker would die with the worker: the fork is done by a thread of the child's
/// own, which lives until the child has exited and reaps it.
class child_process {
 public:
  /// `argv[0]` is a path: no PATH search.
  static result<std::unique_ptr<child_process>> spawn(const std::vector<std::string>& argv,
                                                      const std::filesystem::path& output,
                                                      const child_options& options);
  /// The same, tied to this process by `death_signal`.
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

}  // namespace mk::sys
