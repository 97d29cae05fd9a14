#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "nbd/error.hpp"
#include "nbd/range_set.hpp"

namespace mk::nbd {

/// Where a copy stands. The checkpoint records it too, so that a supervisor that lost the
/// mover's exit status still learns how it ended.
enum class copy_state { copying, draining, stopped, completed, failed };

const char* to_string(copy_state s);
/// The state of that name; nothing for any other text.
std::optional<copy_state> copy_state_from(std::string_view s);

/// What a mover has made durable on the target. A range counts as done only once it was
/// written and flushed; its size depends on the requests in flight, not on the disk.
struct checkpoint {
  copy_state state = copy_state::copying;
  std::string source;
  std::string target;
  std::uint64_t source_size = 0;
  std::uint64_t target_size = 0;
  range_set done;
  /// Bytes never read because the source reported holes or zeroes (for progress after resume).
  std::uint64_t bytes_skipped = 0;
  std::optional<std::string> error;
};

/// Reads and validates a checkpoint file; every defect is a usage error naming the file.
result<checkpoint> load_checkpoint(const std::string& path);

/// Writes atomically and durably: temporary file, fsync, rename, fsync of the folder.
result<> save_checkpoint(const std::string& path, const checkpoint& cp);

}  // namespace mk::nbd
