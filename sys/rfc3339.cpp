#include "sys/rfc3339.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <optional>

namespace mk::sys {

std::string format_rfc3339(std::int64_t unix_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds(unix_ms)};
  const auto day = floor<days>(t);
  const year_month_day date{day};
  const hh_mm_ss time{t - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(date.year()),
                unsigned(date.month()), unsigned(date.day()), int(time.hours().count()),
                int(time.minutes().count()), int(time.seconds().count()),
                int(time.subseconds().count()));
  return buf;
}

result<std::int64_t> parse_rfc3339(std::string_view t) {
  const auto bad = [t] { return fail(EINVAL, "not an RFC 3339 time: \"" + std::string(t) + "\""); };
  auto digits = [t](std::size_t at, std::size_t n) -> std::optional<int> {
    if (at + n > t.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return std::nullopt;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') ||
      t[13] != ':' || t[16] != ':')
    return bad();
  const auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2), h = digits(11, 2),
             mi = digits(14, 2), s = digits(17, 2);
  if (!y || !mo || !d || !h || !mi || !s || *h > 23 || *mi > 59 || *s > 60) return bad();
  const std::chrono::year_month_day date{std::chrono::year(*y),
                                         std::chrono::month(static_cast<unsigned>(*mo)),
                                         std::chrono::day(static_cast<unsigned>(*d))};
  if (!date.ok()) return bad();
  std::size_t at = 19;
  std::int64_t ms = 0;
  if (t[at] == '.') {
    const auto first = ++at;
    for (; at < t.size() && t[at] >= '0' && t[at] <= '9'; ++at)
      if (at - first < 3) ms = ms * 10 + (t[at] - '0');
    if (at == first) return bad();
    for (auto n = at - first; n < 3; ++n) ms *= 10;
  }
  std::int64_t offset_min = 0;
  if (at + 1 == t.size() && (t[at] == 'Z' || t[at] == 'z')) {
    offset_min = 0;
  } else if (at + 6 == t.size() && (t[at] == '+' || t[at] == '-') && t[at + 3] == ':') {
    const auto oh = digits(at + 1, 2), om = digits(at + 4, 2);
    if (!oh || !om || *oh > 23 || *om > 59) return bad();
    offset_min = (t[at] == '-' ? -1 : 1) * (*oh * 60 + *om);
  } else {
    return bad();
  }
  // A leap second (:60) is read as the last millisecond's second, :59.
  const std::int64_t secs = std::chrono::sys_days(date).time_since_epoch().count() * 86400LL +
                            *h * 3600LL + *mi * 60LL + std::min(*s, 59) - offset_min * 60;
  return secs * 1000 + ms;
}

}  // namespace mk::sys
