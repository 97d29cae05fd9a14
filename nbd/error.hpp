#pragma once

#include <expected>
#include <string>

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
struct error {
  errc code;
  std::string message;

  /// Prefixes context as the error crosses a layer ("source nbd://...: " + message).
  error&& context(const std::string& where) &&;
};

template <class T = void>
using result = std::expected<T, error>;

inline std::unexpected<error> fail(errc code, std::string message) {
  return std::unexpected<error>(error{code, std::move(message)});
}

/// The same, with the place it happened ("target nbd://...") before the message.
inline std::unexpected<error> fail(errc code, const std::string& where, std::string message) {
  return fail(code, where + ": " + message);
}

/// strerror text for an errno value.
std::string errno_text(int err);

}  // namespace mk::nbd
