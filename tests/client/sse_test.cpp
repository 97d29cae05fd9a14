#include "client/sse.hpp"

#include <gtest/gtest.h>

namespace mk::client {
namespace {

TEST(CtlSse, AnEventHasItsIdTypeAndData) {
  sse_parser p;
  auto events = p.feed("id: 7\nevent: job\ndata: {\"id\":\"r-1\"}\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, "7");
  EXPECT_EQ(events[0].type, "job");
  EXPECT_EQ(events[0].data, "{\"id\":\"r-1\"}");
  EXPECT_EQ(p.last_id(), "7");
}

TEST(CtlSse, DataLinesAreJoinedWithNewlines) {
  sse_parser p;
  auto events = p.feed("data: one\ndata: two\ndata:\ndata: four\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "one\ntwo\n\nfour");
  EXPECT_EQ(events[0].type, "message");
}

TEST(CtlSse, TheApisGreetingAndKeepalivesDispatchNothing) {
  sse_parser p;
  EXPECT_TRUE(p.feed("retry: 2000\n: connected\n\n").empty());
  EXPECT_TRUE(p.feed(": keepalive\n\n").empty());
  auto events = p.feed("id: 1\nevent: removed\ndata: {\"id\":\"r-2\"}\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "removed");
}

TEST(CtlSse, AnEventWithoutDataIsNotDispatchedAndItsTypeIsForgotten) {
  sse_parser p;
  EXPECT_TRUE(p.feed("event: job\n\n").empty());
  auto events = p.feed("data: x\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "message");
}

TEST(CtlSse, OnlyOneSpaceAfterTheColonIsDropped) {
  sse_parser p;
  auto events = p.feed("data:x\n\ndata:  y\n\ndata\n\n");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].data, "x");
  EXPECT_EQ(events[1].data, " y");
  EXPECT_EQ(events[2].data, "");  // a field without a colon has an empty value
}

TEST(CtlSse, RetryAndUnknownFieldsAreIgnored) {
  sse_parser p;
  auto events = p.feed("retry: 10\nfoo: bar\ndata: d\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "d");
  EXPECT_EQ(events[0].id, "");
}

TEST(CtlSse, TheIdStaysUntilTheNextOne) {
  sse_parser p;
  auto events = p.feed("id: 4\ndata: a\n\ndata: b\n\nid: 5\ndata: c\n\n");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].id, "4");
  EXPECT_EQ(events[1].id, "4");
  EXPECT_EQ(events[2].id, "5");
}

TEST(CtlSse, ChunksMayEndAnywhere) {
  const std::string stream =
      "retry: 2000\n: connected\n\nid: 1\nevent: job\ndata: {\"a\":1}\n\n: keepalive\n\n"
      "id: 2\nevent: job\ndata: {\"b\":2}\ndata: more\n\n";
  sse_parser whole;
  auto expected = whole.feed(stream);
  ASSERT_EQ(expected.size(), 2u);
  sse_parser bytes;
  std::vector<sse_event> got;
  for (char c : stream)
    for (auto& e : bytes.feed(std::string_view(&c, 1))) got.push_back(e);
  ASSERT_EQ(got.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(got[i].id, expected[i].id);
    EXPECT_EQ(got[i].type, expected[i].type);
    EXPECT_EQ(got[i].data, expected[i].data);
  }
}

TEST(CtlSse, CrLfAndCrEndLinesToo) {
  sse_parser p;
  auto events = p.feed("data: a\r\n\r\ndata: b\r\rdata: c\n\n");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].data, "a");
  EXPECT_EQ(events[1].data, "b");
  EXPECT_EQ(events[2].data, "c");
}

TEST(CtlSse, ACrLfSplitBetweenChunksIsOneLineEnd) {
  sse_parser p;
  EXPECT_TRUE(p.feed("data: a\r").empty());
  EXPECT_TRUE(p.feed("\n").empty());  // the rest of "\r\n", not a blank line
  auto events = p.feed("\r\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "a");
}

TEST(CtlSse, AnUnfinishedEventWaitsForItsBlankLine) {
  sse_parser p;
  EXPECT_TRUE(p.feed("event: job\ndata: {\"id\":").empty());
  auto events = p.feed("\"r-1\"}\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "{\"id\":\"r-1\"}");
}

}  // namespace
}  // namespace mk::client
