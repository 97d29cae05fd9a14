#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "sys/error.hpp"

namespace mk::sys {

/// What `write_file_atomically` does when the file exists already.
enum class existing {
  replace,  ///< the new content takes its place
  keep,     ///< the write fails (EEXIST) and the file keeps its content
};

/// What a write must outlive.
enum class survives {
  power_loss,     ///< fsync'd: the machine may go down right after
  process_crash,  ///< not fsync'd: only the writer may die (a file about a process that a
                  ///< machine's crash ends as well); still never a mix of old and new
};

/// Writes `bytes` to `path` atomically and (by default) durably: a temporary file PATH.tmp in the
/// same folder, written in full with exactly `mode` (whatever the umask), fsync'd, renamed over
/// PATH (with existing::keep, linked to it instead, which fails if PATH exists), then the folder
/// fsync'd. A crash leaves the old content or the new one, never a mix, at worst with a PATH.tmp
/// beside it that the next write replaces. The error names the file and errno's text.
result<> write_file_atomically(const std::filesystem::path& path, std::string_view bytes,
                               mode_t mode, existing if_exists = existing::replace,
                               survives what = survives::power_loss);

/// Reads a file that holds secrets. Refused when others may read it (like ssh, a secret left
/// group- or world-readable is not taken): the error says so and how to mend it.
/// `what` names the file in the error ("join file"), with its path.
result<std::string> read_secret_file(const std::filesystem::path& path, std::string_view what);

/// Makes the entries of a folder (creations, renames, removals) durable.
result<> fsync_dir(const std::filesystem::path& dir);

}  // namespace mk::sys
