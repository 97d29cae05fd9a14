#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "messages/enums.hpp"

namespace mk::actors {

/// A stop's dry run (POST /replications/{id}/stop?dry_run=true): what a stop like the one asked
/// would do, part by part, read from the job's record; the job actor makes it, the API shows it
/// (docs/api.md).
struct stop_plan {
  /// What the vma_process would do to the job's mover: nothing (no mover runs), a SIGKILL at
  /// once (force), or a SIGTERM and a SIGKILL after the grace period (graceful).
  struct mover_part {
    std::string action;
    std::int64_t pid = 0;  ///< 0: no mover runs
    std::string signal;    ///< "SIGTERM", "SIGKILL" or empty
    std::string then;      ///< what follows the signal, or empty
  };
  struct volume_part {
    msg::volume_action action = msg::volume_action::keep;
    std::string id;
    std::string detail;
  };

  std::string job;
  msg::job_state state = msg::job_state::queued;
  std::string stop_in_progress;  ///< the stop id a repeated request joins; empty if none
  msg::job_state final_state = msg::job_state::stopped;
  /// Whether a mover runs that may finish the copy before the stop reaches it (the job would
  /// then end `completed`).
  bool may_complete_first = false;
  msg::stop_mode mode = msg::stop_mode::graceful;
  msg::volume_action volumes = msg::volume_action::keep;
  std::uint64_t grace_seconds = 0;
  mover_part vma_process;
  volume_part volume;
  std::uint64_t bytes_kept = 0;
  std::optional<std::uint64_t> bytes_to_copy_on_resume;
};

}  // namespace mk::actors
