#pragma once

#include "config/error.hpp"

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
using error = basic_error<errc>;

template <class T = void>
using result = basic_result<errc, T>;

using mk::fail;
using mk::fail_errno;

}  // namespace mk::bus
