#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "sys/error.hpp"
#include "sys/unique_fd.hpp"

namespace mk::sys {

/// Where a child's stdout or stderr goes.
struct output {
  enum class to { null, descriptor, file };
  to where = to::null;
  int fd = -1;                 ///< to::descriptor: one of ours, duplicated for the child
  std::filesystem::path path;  ///< to::file: opened before the fork, created with `mode`
  bool append = true;          ///< to::file: appended to rather than truncated
  mode_t mode = 0600;

  /// /dev/null.
  static output null() { return {}; }
  static output descriptor(int fd) {
    output o;
    o.where = to::descriptor;
    o.fd = fd;
    return o;
  }
  static output file(std::filesystem::path path, bool append, mode_t mode) {
    output o;
    o.where = to::file;
    o.path = std::move(path);
    o.append = append;
    o.mode = mode;
    return o;
  }
};

/// How a child is started.
struct spawn_options {
  output out;  ///< its stdout
  output err;  ///< its stderr
  /// Whether the child leaves our process group, so that signals meant for it (a terminal's
  /// Ctrl-C) do not reach the child: as the leader of a process group of its own (a shell's
  /// job, which a test can still signal as a whole) or of a session of its own.
  enum class group { ours, own_group, own_session };
  group leads = group::ours;
  /// Sent to the child should the thread that forked it end; 0 for none, so that the child may
  /// outlive us. The parent may have died before the child set it: then the child ends at once
  /// (exit 127), as the signal would have made it.
  int death_signal = 0;
  /// argv[0] without a slash is looked for in PATH, as execvp does; otherwise it is a path.
  bool search_path = false;
  /// A pidfd for the child, opened before it can be reaped: it names the child for good.
  bool pidfd = false;
};

/// A child that `spawn` started: the caller reaps it (waitpid, or waitid on the pidfd).
struct child {
  pid_t pid = -1;
  unique_fd pidfd;  ///< when spawn_options::pidfd asked for one
};

/// Forks and execs an argument vector, never through a shell. The child has /dev/null as its
/// stdin, default signal dispositions and an empty signal mask whatever ours are, and no
/// descriptor of ours but its standard three: every other one is made close-on-exec in it, so
/// that nothing a library opened leaks into a process that may outlive us. Returns once the
/// child has exec'd; an exec (or a step before it) that fails is an error naming the program
/// and errno's text, the child reaped.
result<child> spawn(const std::vector<std::string>& argv, const spawn_options& options);

/// "exit 3" or "killed by signal 9", from a wait status.
std::string describe_wait_status(int status);

}  // namespace mk::sys
