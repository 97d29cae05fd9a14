#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "agent/mover/error.hpp"
#include "agent/mover/proc_identity.hpp"
#include "nbd/checkpoint.hpp"
#include "sys/atomic_file.hpp"

namespace mk::actors {

/// How a mover ended, as its agent learnt it (the exit status is known only to the agent that
/// started it: kept here, it survives an agent restart).
struct mover_end {
  std::int64_t exit_code = -1;  ///< -1: killed or unknown
  std::string detail;
  bool completed = false;  ///< the mover had finished the copy
  std::uint64_t bytes_done = 0;
  std::int64_t ended_at = 0;  ///< unix ms
};

/// What an agent keeps of one job's mover in DATA/movers/<job>.json, so that the next agent
/// finds it again: who it is (pid and start time, PID-reuse safe) and, once it ended, how.
struct mover_record {
  std::string job;
  vma::proc_identity id;
  std::string checkpoint;       ///< a name: the file is DATA/checkpoints/<name>.json
  std::int64_t started_at = 0;  ///< unix ms
  /// A graceful stop under way: SIGTERM was sent at `term_sent_at` (unix ms) for this stop id,
  /// with this grace. A restarted agent carries it on rather than sending a second SIGTERM,
  /// which would make the mover abort its drain.
  struct stop_sent {
    std::string stop_id;
    std::int64_t term_sent_at = 0;
    std::int64_t grace_ms = 0;
  };
  std::optional<stop_sent> stopping;
  std::optional<mover_end> ended;
};

/// Replaces DIR/<job>.json atomically: a temporary file, renamed; a crash leaves the old record
/// or the new one. Durably (fsync'd, the folder too) unless `what` says only a crash of this
/// process need be outlived: so for the mark of a stop under way (`stopping`), written while
/// a stop waits for it, and worth nothing after the machine's crash, which ends the mover too.
vma::result<> write_mover_record(const std::filesystem::path& dir, const mover_record& r,
                                 sys::survives what = sys::survives::power_loss);

/// Reads and checks DIR/<job>.json: the job and checkpoint must be valid ids and the job the
/// one the file is named after, so no record can point outside the agent's folders.
vma::result<mover_record> read_mover_record(const std::filesystem::path& path);

/// Every record in DIR (none if DIR does not exist); each one that does not read is logged and
/// skipped, and the error returned is for the folder itself.
vma::result<std::vector<mover_record>> read_mover_records(const std::filesystem::path& dir);

/// Removes DIR/<job>.json durably; a missing file is no error.
vma::result<> remove_mover_record(const std::filesystem::path& dir, const std::string& job);

/// A mover's checkpoint file as far as it reads (a mover that was stopped before it connected
/// writes none): how an adopted mover, whose exit status is not ours to know, ended.
struct checkpoint_view {
  std::optional<nbd::checkpoint> cp;
  std::string problem;  ///< why an existing file did not read
};

checkpoint_view read_checkpoint_view(const std::filesystem::path& path);

/// ", checkpoint stopped", ", checkpoint failed: <error>", ", no checkpoint", ...
std::string describe_checkpoint(const checkpoint_view& v);

}  // namespace mk::actors
