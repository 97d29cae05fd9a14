#pragma once

#include "config/error.hpp"

namespace mk::vma {

/// What went wrong while supervising a mover; the vma-process actor decides on the kind.
enum class errc {
  invalid,      ///< the caller passed a bad spec: no binary, no checkpoint, a bad pid
  not_running,  ///< no such process, or the pid now belongs to another process (reused)
  system,       ///< the local system failed: fork, exec, pipes, pidfd, /proc
};

const char* to_string(errc e);

/// An error as a value: the kind, and a message naming the pid, file or call.
using error = basic_error<errc>;

template <class T = void>
using result = basic_result<errc, T>;

using mk::fail;
using mk::fail_errno;

}  // namespace mk::vma
