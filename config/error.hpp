#pragma once

#include <string.h>

#include <string>
#include <utility>

#include "config/expected.hpp"

/// Errors as values, the same shape in every layer: each layer names its own kinds (an
/// `errc` enum with a `to_string`) and instantiates these with it.
namespace mk {

template <class Errc>
struct basic_error {
  Errc code;
  std::string message;  ///< names the place and the cause

  /// Prefixes context as the error crosses a layer ("source nbd://...: " + message).
  basic_error&& context(const std::string& where) && {
    message = where + ": " + message;
    return std::move(*this);
  }
};

template <class Errc, class T = void>
using basic_result = expected<T, basic_error<Errc>>;

template <class Errc>
unexpected<basic_error<Errc>> fail(Errc code, std::string message) {
  return unexpected<basic_error<Errc>>(basic_error<Errc>{code, std::move(message)});
}

/// strerror text for an errno value.
inline std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r returns the message, which may or may not live in buf.
  return ::strerror_r(err, buf, sizeof buf);
}

/// "what: <strerror>".
template <class Errc>
unexpected<basic_error<Errc>> fail_errno(Errc code, const std::string& what, int err) {
  return fail(code, what + ": " + errno_text(err));
}

}  // namespace mk
