#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "agent/mover/error.hpp"
#include "agent/mover/proc_identity.hpp"
#include "agent/mover/progress_reader.hpp"
#include "config/defaults.hpp"
#include "nbd/checkpoint.hpp"
#include "sys/unique_fd.hpp"

namespace mk::vma {

/// What to run: `BINARY copy SOURCE TARGET --checkpoint FILE [--resume] --progress=json
/// EXTRA...`.
struct mover_spec {
  std::filesystem::path binary;  ///< the migratekit executable; a path, no PATH search
  std::string source;
  std::string target;
  std::filesystem::path checkpoint;
  bool resume = false;
  std::filesystem::path stderr_log;     ///< appended to, created 0600 if missing
  std::vector<std::string> extra_args;  ///< e.g. --requests N, --drain-timeout S
};

/// How a supervised mover ended, as the vma-process actor reports it (docs/stop-protocol.md).
struct outcome {
  enum class kind {
    exited,       ///< it ended by itself or after our SIGTERM (or by a signal not ours)
    killed,       ///< it ended after our SIGKILL
    not_running,  ///< a stop found it already ended
  };
  kind what = kind::exited;
  /// The exit code or the signal that ended it; known only for our own child (an adopted
  /// mover is not our child after an agent restart, and only its parent can wait for it).
  std::optional<int> exit_code;
  std::optional<int> term_signal;
  /// The state its checkpoint file records, when that file reads (it says how an adopted
  /// mover ended: `stopped`, `completed`, `failed`, or `copying` after a kill).
  std::optional<nbd::copy_state> checkpoint_state;
  /// "exit 3", "killed by signal 9", "exit status unknown (adopted)", and the checkpoint's
  /// error or why it did not read.
  std::string detail;
};

const char* to_string(outcome::kind k);

/// One `migratekit copy` process under supervision: started by us, or adopted after an agent
/// restart. The mover runs in a session of its own (a Ctrl-C on the agent's terminal does not
/// reach it) and without a parent-death signal, so it outlives an agent that dies or restarts;
/// its identity (pid + start time) is what the agent persists to find it again.
///
/// Nothing blocks but `wait_exit`: the actor calls `request_stop`, then `tick` now and then
/// (it escalates to SIGKILL once the grace period is over and collects the exit), and
/// `poll_progress` for the progress lines.
///
/// Destroying a handle that still supervises a running mover kills (SIGKILL) and reaps it;
/// `detach` lets it go on instead. Not thread-safe: one owner (the actor) at a time.
class mover_process {
 public:
  using clock = std::chrono::steady_clock;

  /// Starts the mover (fork and exec of an argument vector, never a shell). Its stdin is
  /// /dev/null, its stdout a pipe to us, its stderr `spec.stderr_log`. Fails if the binary
  /// cannot be executed.
  static result<mover_process> start(const mover_spec& spec);

  /// Supervises again a mover that a previous agent started. Refused (not_running) if the pid
  /// is gone, has exited, or belongs to another process now (its start time differs).
  /// `checkpoint` is the mover's checkpoint file, from which its outcome will be read.
  static result<mover_process> adopt(const proc_identity& id, std::filesystem::path checkpoint);

  ~mover_process();
  mover_process(mover_process&& other) noexcept = default;
  mover_process& operator=(mover_process&&) = delete;
  mover_process(const mover_process&) = delete;
  mover_process& operator=(const mover_process&) = delete;

  const proc_identity& identity() const { return id_; }
  /// Readable once the mover has ended (sys::fd_watch); -1 once detached.
  int pidfd() const { return pidfd_.get(); }
  /// The read end of the mover's stdout, readable when it wrote (sys::fd_watch); -1 for an
  /// adopted mover. Read only through `poll_progress` and `tick`.
  int output_fd() const { return out_.get(); }
  /// Whether this handle adopted the mover (then it has no progress pipe and no exit status).
  bool adopted() const { return !out_ && !child_; }

  /// Reads what the mover wrote to stdout, without blocking, and returns the last progress
  /// line that parsed so far (nothing before the first, and always nothing once adopted).
  std::optional<progress_line> poll_progress();
  /// Lines on stdout that were not progress lines.
  std::uint64_t malformed_lines() const { return reader_.malformed(); }

  /// Asks the mover to stop: SIGTERM, or SIGKILL at once when `force`; after a SIGTERM,
  /// `tick` sends SIGKILL once `grace` has passed since `now`. Idempotent: a repeated request
  /// sends nothing new, except that `force` escalates a graceful stop. Returns the outcome
  /// not_running if the mover had already ended (and then `outcome()` says so too), nothing
  /// when the stop is under way.
  result<std::optional<outcome>> request_stop(
      bool force, std::chrono::milliseconds grace = defaults::vma::grace,
      clock::time_point now = clock::now());

  /// Takes over a graceful stop that an earlier agent began (its SIGTERM was sent): nothing is
  /// sent now, and `tick` sends SIGKILL from `kill_at` on, as if `request_stop` had been
  /// called here. A later `request_stop` then sends no second SIGTERM.
  void carry_on_stop(clock::time_point kill_at);

  /// Escalates an overdue stop to SIGKILL and collects the exit if the mover ended. Returns
  /// its outcome once it has ended (on every later call too), else nothing.
  result<std::optional<outcome>> tick(clock::time_point now = clock::now());

  /// `tick` until the mover ends or `timeout` passes, sleeping on its pidfd in between.
  result<std::optional<outcome>> wait_exit(std::chrono::milliseconds timeout);

  /// The outcome, once known.
  const std::optional<outcome>& result_outcome() const { return outcome_; }

  /// Lets the mover run on unsupervised (as when the agent restarts) and returns what
  /// `adopt` needs to find it again. The handle owns nothing afterwards. A mover of ours that
  /// ends while this process still runs stays a zombie until an adopting handle in this
  /// process or this process's exit clears it.
  proc_identity detach();

 private:
  mover_process() = default;

  result<bool> send(int sig);
  result<std::optional<outcome>> collect();
  void drain();

  proc_identity id_;
  sys::unique_fd pidfd_;
  sys::unique_fd out_;  ///< read end of the mover's stdout; none once adopted
  bool child_ = false;  ///< started by this handle (its exit status can be waited for)
  std::filesystem::path checkpoint_;
  progress_reader reader_{0};
  bool stopping_ = false;
  bool kill_sent_ = false;
  clock::time_point kill_at_{};
  std::optional<outcome> outcome_;
};

}  // namespace mk::vma
