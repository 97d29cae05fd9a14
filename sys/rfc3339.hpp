#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sys/error.hpp"

namespace mk::sys {

/// Unix milliseconds as RFC 3339 in UTC with milliseconds: "2026-11-29T08:30:00.250Z".
std::string format_rfc3339(std::int64_t unix_ms);

/// Unix milliseconds of an RFC 3339 date-time (section 5.6): YYYY-MM-DDTHH:MM:SS, a fraction
/// of any length (read down to the millisecond), then Z or an offset +HH:MM / -HH:MM; "t" and
/// "z" in lower case too; a leap second (:60) is read as :59. Anything else is an error
/// (EINVAL) that quotes the text.
result<std::int64_t> parse_rfc3339(std::string_view text);

}  // namespace mk::sys
