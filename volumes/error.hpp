#pragma once

#include <expected>
#include <string>

namespace mk::volumes {

/// What went wrong with a volume; the volume actor decides on the kind.
enum class errc {
  invalid,    ///< a bad id, size or checkpoint path: refused before anything is touched
  not_found,  ///< no such volume
  exists,     ///< create of an id that already has a volume
  busy,       ///< the volume is attached: a mover may be writing to it
  timeout,    ///< the NBD server did not start or stop in time
  system,     ///< the local system failed: files, fsync, fork, exec
};

const char* to_string(errc e);

/// An error as a value: the kind, and a message naming the volume, file or call.
struct error {
  errc code;
  std::string message;
};

template <class T = void>
using result = std::expected<T, error>;

inline std::unexpected<error> fail(errc code, std::string message) {
  return std::unexpected<error>(error{code, std::move(message)});
}

/// "WHAT: strerror(err)".
std::unexpected<error> fail_errno(errc code, const std::string& what, int err);

}  // namespace mk::volumes
