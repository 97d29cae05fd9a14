#pragma once

#include <expected>
#include <string>

namespace mk::bus {

/// What went wrong on the bus; callers decide on the kind (retry, report, give up), the
/// message is for people and names the subject, key or server.
enum class errc {
  not_connected,  ///< no connection, closed, or the reconnect buffer is full
  timeout,        ///< no answer in time
  no_responders,  ///< a request found nobody subscribed to its subject
  permission,     ///< the server refused the credentials or the subject
  not_found,      ///< no such key, stream or bucket
  conflict,       ///< a revision check failed: someone else wrote first
  io,             ///< any other failure of the server, the client library or the system
  invalid,        ///< the caller passed a bad subject, id, key, URL or option
};

const char* to_string(errc e);

/// An error as a value: the kind, and a message with the context it happened in.
struct error {
  errc code;
  std::string message;
};

template <class T = void>
using result = std::expected<T, error>;

inline std::unexpected<error> fail(errc code, std::string message) {
  return std::unexpected<error>(error{code, std::move(message)});
}

}  // namespace mk::bus
