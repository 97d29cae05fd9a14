#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "oma/volumes/backend.hpp"
#include "oma/volumes/error.hpp"

namespace mk::volumes {

/// What a local volume's DATA/volumes/<id>.json holds. While attached, `resting` is the state
/// the volume returns to on detach, so that attaching a partial volume for a resume and
/// detaching it again keeps it partial.
struct volume_record {
  std::string id;
  std::uint64_t size = 0;
  volume_state state = volume_state::detached;
  volume_state resting = volume_state::detached;
  std::string checkpoint;
  /// While attached over TCP: the URI it is served at (nbds://AGENT@HOST:PORT/); empty on the
  /// volume's Unix socket.
  std::string served_at;
};

/// Reads and checks a record; errc::not_found if the file does not exist.
result<volume_record> read_record(const std::filesystem::path& path);

/// Replaces `path` with the record atomically and durably: a temporary file, fsync, rename,
/// fsync of the folder. A crash leaves the old record or the new one, never a mix.
result<void> write_record(const std::filesystem::path& path, const volume_record& record);

}  // namespace mk::volumes
