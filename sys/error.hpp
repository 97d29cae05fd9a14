#pragma once

#include <string>
#include <utility>

#include "config/error.hpp"

/// The system layer: files, descriptors, processes and time, below every other library. Its
/// errors are values too, in a shape of their own that each caller turns into its layer's
/// error at the call (`fail(errc::system, e.message)`).
namespace mk::sys {

/// What failed: errno (EINVAL for input that does not read) and a message that names the call
/// and the file, program or text it was about, with errno's text.
struct error {
  int code = 0;
  std::string message;
};

template <class T = void>
using result = expected<T, error>;

/// "what: <strerror(err)>", with `err` as the code.
inline unexpected<error> fail_errno(const std::string& what, int err) {
  return unexpected<error>(error{err, what + ": " + errno_text(err)});
}

/// An error that no system call reported: input that does not read, a missing argument.
inline unexpected<error> fail(int code, std::string message) {
  return unexpected<error>(error{code, std::move(message)});
}

}  // namespace mk::sys
