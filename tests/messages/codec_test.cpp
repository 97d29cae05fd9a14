#include "messages/codec.hpp"

#include <gtest/gtest.h>

#include "samples.hpp"

namespace mk::msg {
namespace {

using test::sample;
using test::sample_count;

bytes encode_any(const any_message& m) {
  return std::visit([](const auto& x) { return encode(x); }, m);
}

TEST(Codec, EveryMessageRoundTrips) {
  for (std::size_t i = 0; i < sample_count; ++i) {
    auto original = sample(i);
    auto wire = encode_any(original);
    // Typed decoding gives back the same message...
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          auto back = decode<T>(wire);
          ASSERT_TRUE(back) << T::type << ": " << back.error().message;
          EXPECT_EQ(encode(*back), wire) << T::type;
          EXPECT_EQ(back->hdr.id, "m-42");
          EXPECT_EQ(back->hdr.ts, 1795910400123);
          EXPECT_EQ(back->hdr.from, "vma:local");
        },
        original);
    // ...and so does decoding by the type key.
    auto any = decode_any(wire);
    ASSERT_TRUE(any) << any.error().message;
    EXPECT_EQ(any->index(), i);
    EXPECT_EQ(encode_any(*any), wire);
  }
}

TEST(Codec, TheTypedDecoderRefusesAnotherType) {
  auto wire = encode(stop_confirm{{}, "r-1", "s-1", participant::poller, outcome::ok, ""});
  auto r = decode<stop_request>(wire);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'stopped' where 'stop' was expected"), std::string::npos);
}

// The documented format, written byte by byte as another language's client would (docs/bus.md): a
// map with string keys, header first or not, unknown keys, nil for "not given".
TEST(Codec, DecodesAStopRequestWrittenByHand) {
  const bytes wire = {
      0x89,                                                                    // map of 9
      0xa1, 'v',  0x01,                                                        // "v": 1
      0xa4, 't',  'y',  'p',  'e',  0xa4, 's',  't',  'o',  'p',               // "type": "stop"
      0xa2, 'i',  'd',  0xa3, 'x',  '-',  '1',                                 // "id": "x-1"
      0xa2, 't',  's',  0xcf, 0x00, 0x00, 0x01, 0x9a, 0x00, 0x00, 0x00, 0x01,  // "ts": uint64
      0xa4, 'f',  'r',  'o',  'm',  0xa6, 'p',  'y',  't',  'h',  'o',  'n',   // "from"
      0xa3, 'j',  'o',  'b',  0xaa, 'r',  '-',  '7',  'f',  '3',  'a',  '9',  'c', '2',
      '1',  0xa4, 'm',  'o',  'd',  'e',  0xa5, 'f',  'o',  'r',  'c',  'e',  // "mode": "force"
      0xa7, 'c',  'o',  'm',  'm',  'e',  'n',  't',  0xc0,                   // "comment": nil
      0xa5, 'e',  'x',  't',  'r',  'a',  0x92, 0x01, 0xc3,  // "extra": [1, true], ignored
  };
  auto r = decode<stop_request>(wire);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->job, "r-7f3a9c21");
  EXPECT_EQ(r->mode, stop_mode::force);
  EXPECT_EQ(r->volumes, volume_action::keep);  // not given: the default
  EXPECT_EQ(r->reason, stop_reason::user);
  EXPECT_EQ(r->comment, "");
  EXPECT_EQ(r->hdr.id, "x-1");
  EXPECT_EQ(r->hdr.ts, 0x19a00000001);
  EXPECT_EQ(r->hdr.from, "python");
  EXPECT_TRUE(std::holds_alternative<stop_request>(*decode_any(wire)));
}

TEST(Codec, WritesEnumsAsTheirNames) {
  auto wire = encode(stop_request{
      {}, "r-1", "", stop_mode::graceful, volume_action::remove, stop_reason::bus, "", 0, "", ""});
  std::string text(wire.begin(), wire.end());
  for (const char* name : {"volumes", "delete", "reason", "bus", "graceful"})
    EXPECT_NE(text.find(name), std::string::npos) << name;
}

TEST(Codec, AMoverStateOutsideTheListIsRefusedNamingTheField) {
  progress p{{}, "r-1", progress_state::draining, 1, 2, 0, 0, -1, ""};
  auto wire = encode(p);
  std::string text(wire.begin(), wire.end());
  EXPECT_NE(text.find("draining"), std::string::npos);
  // The same bytes with another word of the same length in its place.
  const auto at = text.find("draining");
  for (std::size_t i = 0; i < 8; ++i) wire[at + i] = static_cast<std::uint8_t>("sleeping"[i]);
  auto back = decode<progress>(wire);
  ASSERT_FALSE(back);
  EXPECT_NE(back.error().message.find("state"), std::string::npos) << back.error().message;
}

}  // namespace
}  // namespace mk::msg
