// RFC 3339 times in unix milliseconds: the one formatter and the one parser.

#include "sys/rfc3339.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <string>

namespace mk::sys {
namespace {

constexpr std::int64_t t0 = 1'795'910'400'000;  // 2026-11-29T00:00:00Z

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(t0), "2026-11-29T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(t0 + 86'399'999), "2026-11-29T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339(1'709'164'800'250), "2024-02-29T00:00:00.250Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
}

TEST(Rfc3339, RoundTrips) {
  for (const std::int64_t ms :
       {std::int64_t{0}, std::int64_t{1}, t0, t0 + 86'399'999, std::int64_t{1'709'164'800'250},
        std::int64_t{253'402'300'799'999}}) {
    const auto text = format_rfc3339(ms);
    const auto back = parse_rfc3339(text);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, ms) << text;
  }
}

TEST(Rfc3339, ReadsOffsetsAndFractionsAndRefusesTheRest) {
  EXPECT_EQ(parse_rfc3339("2026-11-29T00:00:00Z"), t0);
  EXPECT_EQ(parse_rfc3339("2026-11-29T00:00:00.250Z"), t0 + 250);
  EXPECT_EQ(parse_rfc3339("2026-11-29T00:00:00.2Z"), t0 + 200);
  EXPECT_EQ(parse_rfc3339("2026-11-29T00:00:00.123456789z"), t0 + 123);
  EXPECT_EQ(parse_rfc3339("2026-11-29t00:00:00Z"), t0);
  EXPECT_EQ(parse_rfc3339("2026-11-29T02:30:00+02:30"), t0);
  EXPECT_EQ(parse_rfc3339("2026-11-28T22:00:00-02:00"), t0);
  EXPECT_EQ(parse_rfc3339("2026-11-28T23:59:60Z"), t0 - 1000);  // a leap second reads as :59
  EXPECT_EQ(parse_rfc3339(format_rfc3339(t0 + 86'399'999)), t0 + 86'399'999);
  for (const std::string bad :
       {"", "yesterday", "2026-11-29", "2026-11-29T00:00:00", "2026-02-30T00:00:00Z",
        "2026-11-29T24:00:00Z", "2026-11-29T00:60:00Z", "2026-11-29T00:00:61Z",
        "2026-11-29T00:00:00.Z", "2026-11-29T00:00:00+0200", "2026-11-29T00:00:00+24:00",
        "2026-11-29T00:00:00Zjunk", "2026-1x-28T00:00:00Z", " 2026-11-29T00:00:00Z",
        "2026-11-29 00:00:00Z", "+2026-11-29T00:00:00Z"}) {
    const auto r = parse_rfc3339(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, EINVAL);
    EXPECT_EQ(r.error().message, "not an RFC 3339 time: \"" + bad + "\"");
  }
}

}  // namespace
}  // namespace mk::sys
