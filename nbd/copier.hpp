#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "nbd/checkpoint.hpp"
#include "nbd/error.hpp"
#include "nbd/progress.hpp"

namespace mk::nbd {

struct copy_options {
  std::string source;
  std::string target;
  std::optional<std::string> checkpoint_path;
  bool resume = false;
  unsigned requests;
  std::uint64_t request_size;
  unsigned connections;
  progress_mode progress = progress_mode::none;
  double drain_timeout_s;
  double checkpoint_interval_s;    ///< the longest between checkpoints
  std::uint64_t checkpoint_bytes;  ///< written since the last: a checkpoint sooner
  double io_timeout_s;
};

/// How a copy ended: `completed`, `stopped` (by a signal, checkpoint saved) or `failed`.
struct copy_report {
  copy_state state;
  std::optional<error> err;  ///< why it failed, or a note on how it stopped
  std::uint64_t bytes_done;
  std::uint64_t bytes_total;
  std::uint64_t bytes_skipped;
};

/// Copies SOURCE to TARGET, stopping gracefully on SIGTERM or SIGINT. An error value means the
/// copy could not start (bad usage or input, an endpoint that cannot be opened); once it has
/// started, every ending is a report, with the checkpoint saved where one was asked for.
result<copy_report> run_copy(const copy_options& opts);

}  // namespace mk::nbd
