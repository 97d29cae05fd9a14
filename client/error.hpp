#pragma once

#include "config/error.hpp"

/// How `migratekit ctl` fails, as values, and the exit status each failure ends in.
namespace mk::client {

/// The exit statuses of every ctl subcommand, documented in each one's --help.
enum ctl_exit : int {
  exit_done = 0,          ///< done as asked
  exit_refused = 1,       ///< the API refused (4xx/5xx) or answered nonsense
  exit_usage = 2,         ///< bad usage, or nothing says where the API is
  exit_not_as_asked = 3,  ///< the job ended, but not as asked
  exit_unreachable = 4,   ///< the API could not be reached, or a wait timed out
};

/// `not_found` is the API's 404, a refusal that a wait for a deletion takes as its end.
enum class ctl_errc { usage, refused, not_found, unreachable, timeout };

constexpr const char* to_string(ctl_errc e) {
  switch (e) {
    case ctl_errc::usage:
      return "usage";
    case ctl_errc::refused:
      return "refused";
    case ctl_errc::not_found:
      return "not_found";
    case ctl_errc::unreachable:
      return "unreachable";
    case ctl_errc::timeout:
      return "timeout";
  }
  return "?";
}

constexpr ctl_exit exit_status(ctl_errc e) {
  switch (e) {
    case ctl_errc::usage:
      return exit_usage;
    case ctl_errc::refused:
    case ctl_errc::not_found:
      return exit_refused;
    case ctl_errc::unreachable:
    case ctl_errc::timeout:
      return exit_unreachable;
  }
  return exit_refused;
}

using ctl_error = basic_error<ctl_errc>;
template <class T = void>
using ctl_result = basic_result<ctl_errc, T>;

}  // namespace mk::client
