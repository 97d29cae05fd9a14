#pragma once

#include "config/error.hpp"

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
using error = basic_error<errc>;

template <class T = void>
using result = basic_result<errc, T>;

using mk::fail;
using mk::fail_errno;

}  // namespace mk::volumes
