#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oma/volumes/error.hpp"

namespace mk::volumes {

/// Where a volume stands. `attached` means served to a mover, which may be writing; the
/// others are at rest: `partial` is a kept, resumable copy (with its checkpoint), `complete`
/// a finished one, `detached` anything else (fresh, or detached without a mark).
enum class volume_state { detached, attached, partial, complete };

const char* to_string(volume_state s);
std::optional<volume_state> parse_volume_state(std::string_view text);

/// What a backend knows about one volume.
struct volume_info {
  std::string id;
  std::uint64_t size = 0;
  std::filesystem::path path;  ///< where the data lives (a file, or a device of the cloud)
  volume_state state = volume_state::detached;
  std::string checkpoint;  ///< the mover's checkpoint of a kept copy; empty if none
  std::string nbd_uri;     ///< where it is served while attached; empty otherwise

  friend bool operator==(const volume_info&, const volume_info&) = default;
};

/// How a volume is served to a mover on another host (docs/security.md): over TCP at `host`,
/// TLS-PSK required, to the holder of the key `psk_hex` under the identity `psk_identity`
/// (the job's agent) and nobody else.
struct remote_access {
  std::string host;
  std::string psk_identity;
  std::string psk_hex;
};

/// Target volumes as the volume actor sees them, whatever keeps them: local sparse files or,
/// later, CloudStack volumes. Ids follow msg::valid_id; an invalid one is refused with
/// errc::invalid before anything is touched. Every call is durable when it returns: a backend
/// opened again on the same store sees the same volumes in the same states.
class volume_backend {
 public:
  virtual ~volume_backend() = default;

  /// A new, empty (all zero) volume of `size` bytes, detached. errc::exists if the id has one.
  virtual result<volume_info> create(const std::string& id, std::uint64_t size) = 0;
  /// Serves the volume over NBD and answers the URI a mover writes to: on this machine, or
  /// to a remote agent as `remote` says. Attaching an attached volume answers the same URI.
  virtual result<std::string> attach(const std::string& id,
                                     const std::optional<remote_access>& remote = {}) = 0;
  /// Stops serving the volume; with `flush`, its data is durable when this returns. The state
  /// goes back to what it was before the attach. Detaching a detached volume does nothing more.
  virtual result<void> detach(const std::string& id, bool flush) = 0;
  /// Deletes the volume and its data. errc::busy while attached: a mover may write to it.
  virtual result<void> remove(const std::string& id) = 0;
  virtual result<volume_info> info(const std::string& id) = 0;
  /// Where volume `id`'s data lives (or would), as operators find it: a file, a device, a
  /// cloud volume's name. Touches nothing, so that the API may show it on every job.
  virtual std::string location(const std::string& id) const = 0;
  /// Every volume, by id.
  virtual result<std::vector<volume_info>> list() = 0;
  /// Keeps a stopped copy for a resume: state `partial` with the mover's checkpoint.
  /// errc::busy while attached: detach (flushing) first.
  virtual result<void> mark_partial(const std::string& id, const std::string& checkpoint) = 0;
  /// A finished copy: state `complete`. errc::busy while attached.
  virtual result<void> mark_complete(const std::string& id) = 0;
};

}  // namespace mk::volumes
