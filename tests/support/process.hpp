#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace mk::test {

/// How a child ended: its exit code, or the signal that killed it.
struct exit_status {
  enum class how { exited, signalled };
  how kind;
  int value;

  static exit_status exited(int code) { return {how::exited, code}; }
  static exit_status signalled(int sig) { return {how::signalled, sig}; }
  friend bool operator==(const exit_status&, const exit_status&) = default;
};

std::string to_string(const exit_status& s);
/// Lets GoogleTest print "exit 3" or "killed by signal 6 (Aborted)" in a failed expectation.
void PrintTo(const exit_status& s, std::ostream* os);

/// Where a child's output goes. Its stdin is always /dev/null.
struct spawn_options {
  std::filesystem::path stdout_path;  ///< empty: /dev/null
  std::filesystem::path stderr_path;  ///< empty: /dev/null
  int stdout_fd = -1;                 ///< when >= 0, becomes the child's stdout
  bool append = false;                ///< append to the files rather than truncate them
  /// The child leads a process group of its own, as a shell's job does, so that a test can
  /// signal the whole group as a terminal's Ctrl-C does (process::signal_group).
  bool own_process_group = false;
};

/// A child started from an argument vector, never through a shell. It starts with default
/// signal dispositions and an empty signal mask, whatever the test process has set. The
/// destructor kills and reaps a child still running, so a failed assertion leaks nothing.
class process {
 public:
  /// Searches PATH when argv[0] has no slash. Throws std::system_error if it cannot start.
  static process spawn(const std::vector<std::string>& argv, const spawn_options& opts = {});

  process() = default;
  ~process();
  process(process&& other) noexcept;
  process& operator=(process&& other) noexcept;
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  /// Sends `sig` unless the child was already reaped (its pid may belong to another by then).
  void signal(int sig);
  /// The same to the child's process group (spawn_options::own_process_group).
  void signal_group(int sig);
  /// The exit status, or nothing if the child still runs after `timeout`.
  std::optional<exit_status> wait_for(std::chrono::milliseconds timeout);
  /// SIGKILL, then reap.
  exit_status kill();

 private:
  explicit process(pid_t pid) : pid_(pid) {}
  void reap(bool block);

  pid_t pid_ = -1;
  std::optional<exit_status> status_;
};

/// The arguments `pid` was started with; none once it has gone (a process may end while
/// its /proc file is read, which must not throw out of a tear-down).
std::vector<std::string> command_line(pid_t pid);

/// The same joined by spaces, for a message or a search.
std::string command_text(pid_t pid);

/// Every process whose command line mentions `dir`: what a test started there, directly or
/// not (movers outlive their agent and volume servers their OMA, by design).
std::vector<pid_t> running_under(const std::filesystem::path& dir);

/// SIGKILLs every process under `dir` until none is left (a few rounds, for children that
/// were being started meanwhile): a test's tear-down, passed or not.
void kill_processes_under(const std::filesystem::path& dir);

}  // namespace mk::test
