#pragma once

#include <expected>
#include <string>

namespace mk::vma {

/// What went wrong while supervising a mover; the vma-process actor decides on the kind.
enum class errc {
  invalid,      ///< the caller passed a bad spec: no binary, no checkpoint, a bad pid
  not_running,  ///< no such process, or the pid now belongs to another process (reused)
  system,       ///< the local system failed: fork, exec, pipes, pidfd, /proc
};

const char* to_string(errc e);

/// An error as a value: the kind, and a message naming the pid, file or call.
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

}  // namespace mk::vma
