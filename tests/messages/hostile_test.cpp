// Bytes from the bus are hostile until decoded: every defect is an error value that says what
// is wrong, never a crash, an exception or a large allocation.
#include <gtest/gtest.h>

#include "messages/codec.hpp"
#include "samples.hpp"

namespace mk::msg {
namespace {

void expect_refused(const bytes& wire, std::string_view says) {
  auto r = decode_any(wire);
  ASSERT_FALSE(r) << "accepted: " << says;
  EXPECT_NE(r.error().message.find(says), std::string::npos) << r.error().message;
  EXPECT_FALSE(decode<stop_request>(wire));
}

bytes valid_stop() {
  return encode(stop_request{{"m", 1, "t"},
                             "r-1",
                             "s-1",
                             stop_mode::graceful,
                             volume_action::keep,
                             stop_reason::user,
                             "",
                             0,
                             "",
                             ""});
}

TEST(Hostile, EveryTruncationIsRefused) {
  for (std::size_t i = 0; i < test::sample_count; ++i) {
    auto wire = std::visit([](const auto& x) { return encode(x); }, test::sample(i));
    for (std::size_t n = 0; n < wire.size(); ++n)
      EXPECT_FALSE(decode_any(std::span(wire.data(), n))) << "sample " << i << " cut at " << n;
  }
}

TEST(Hostile, HugeHeadersAllocateNothing) {
  // A 5-byte header that claims 4 billion elements: refused by the limits, not by bad_alloc.
  expect_refused({0xdd, 0xff, 0xff, 0xff, 0xff}, "malformed");
  expect_refused({0xdf, 0xff, 0xff, 0xff, 0xff}, "malformed");
  expect_refused({0xdb, 0xff, 0xff, 0xff, 0xff}, "malformed");
  expect_refused({0xc6, 0xff, 0xff, 0xff, 0xff}, "malformed");
}

TEST(Hostile, OversizedMessagesAreRefusedUnread) {
  bytes big(2 << 20, 0xc0);
  expect_refused(big, "over the limit");
}

TEST(Hostile, DeepNestingIsRefused) {
  bytes deep(1000, 0x91);  // [[[[...]]]]
  deep.push_back(0xc0);
  expect_refused(deep, "malformed");
}

TEST(Hostile, TrailingBytesAreRefused) {
  auto wire = valid_stop();
  wire.push_back(0xc0);
  expect_refused(wire, "trailing");
}

TEST(Hostile, WrongTypesNameTheKey) {
  auto with = [](std::initializer_list<std::uint8_t> tail) {
    bytes b = {0x83, 0xa1, 'v', 0x01, 0xa4, 't', 'y', 'p', 'e', 0xa4, 's', 't', 'o', 'p'};
    b.insert(b.end(), tail);
    return b;
  };
  expect_refused(with({0xa3, 'j', 'o', 'b', 0x07}), "key 'job': expected a string");
  expect_refused(with({0xa3, 'j', 'o', 'b', 0xc0}), "key 'job': missing");
  auto bad_enum = with({0xa3, 'j', 'o', 'b', 0xa1, 'x'});
  bad_enum[0] = 0x84;
  for (std::uint8_t c : bytes{0xa4, 'm', 'o', 'd', 'e', 0xa4, 'n', 'i', 'c', 'e'})
    bad_enum.push_back(c);
  expect_refused(bad_enum, "key 'mode': unknown value 'nice'");
  expect_refused(with({0x01, 0x02}), "a key that is not a string");
}

// Decoded strings go on into JSON (job records, the JobLog, the API), which holds only UTF-8.
TEST(Hostile, StringsThatAreNotUtf8AreRefused) {
  auto stop = decode<stop_request>(valid_stop());
  ASSERT_TRUE(stop);
  // A stray byte, a cut sequence, an overlong '/', a surrogate, a code point past U+10FFFF.
  for (const char* bad :
       {"\xff", "caf\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80x"}) {
    stop->comment = std::string("a comment: ") + bad;
    expect_refused(encode(*stop), "key 'comment': a string that is not UTF-8");
  }
  stop->comment = "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80";  // café, a check mark, an emoji
  EXPECT_TRUE(decode<stop_request>(encode(*stop)));
}

TEST(Hostile, HeaderDefectsAreRefused) {
  expect_refused({0x80}, "key 'type': missing");
  expect_refused({0x91, 0x01}, "not a map");
  expect_refused({0x82, 0xa1, 'v', 0x02, 0xa4, 't', 'y', 'p', 'e', 0xa4, 's', 't', 'o', 'p'},
                 "unsupported version 2");
  expect_refused({0x81, 0xa4, 't', 'y', 'p', 'e', 0xa4, 'b', 'o', 'o', 'm'},
                 "unknown message type 'boom'");
  expect_refused({}, "empty");
}

TEST(Hostile, NumbersOutOfRangeAreRefused) {
  auto wire = encode(maintenance{{}, true, "", "all", false, 1});
  // max_parallel is 32-bit: a 64-bit value does not fit.
  bytes b = {0x83, 0xa1, 'v', 0x01, 0xa4, 't', 'y',  'p', 'e', 0xab, 'm', 'a', 'i', 'n', 't',
             'e',  'n',  'a', 'n',  'c',  'e', 0xa7, 'e', 'n', 'a',  'b', 'l', 'e', 'd', 0xc3};
  b[0] = 0x84;
  for (std::uint8_t c : bytes{0xac, 'm', 'a',  'x',  '_', 'p', 'a', 'r', 'a', 'l', 'l',
                              'e',  'l', 0xcf, 0x01, 0,   0,   0,   0,   0,   0,   0})
    b.push_back(c);
  auto r = decode<maintenance>(b);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("key 'max_parallel': number out of range"), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(decode<maintenance>(wire));
}

}  // namespace
}  // namespace mk::msg
