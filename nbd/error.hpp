#pragma once

#include <string>

#include "config/error.hpp"

namespace mk::nbd {

/// What kind of failure a copy ran into; it decides the exit status of `migratekit copy`.
enum class errc {
  usage,    ///< the command cannot run as given: bad URI, size mismatch, bad checkpoint
  io,       ///< an endpoint failed: connect, read, write, flush, a dropped connection
  timeout,  ///< an endpoint stopped answering
  system,   ///< the local system failed: signals, poll, the checkpoint file
  stopped,  ///< a stop was requested before the copy began
};

const char* to_string(errc e);

/// An error as a value: the kind, and a message that names the endpoint and the cause.
using error = basic_error<errc>;

template <class T = void>
using result = basic_result<errc, T>;

using mk::errno_text;
using mk::fail;

/// The same, with the place it happened ("target nbd://...") before the message.
inline unexpected<error> fail(errc code, const std::string& where, std::string message) {
  return mk::fail(code, where + ": " + message);
}

}  // namespace mk::nbd
