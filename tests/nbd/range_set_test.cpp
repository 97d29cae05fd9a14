#include "nbd/range_set.hpp"

#include <gtest/gtest.h>

namespace mk::nbd {
namespace {

using ranges = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

TEST(RangeSet, InOrderInsertsOnlyMoveTheMark) {
  range_set s;
  for (std::uint64_t off = 0; off < 10 * 4096; off += 4096) s.insert(off, 4096);
  EXPECT_EQ(s.hwm(), 10u * 4096);
  EXPECT_EQ(s.bytes(), 10u * 4096);
  EXPECT_TRUE(s.above().empty());
}

TEST(RangeSet, OutOfOrderCompletionsMergeWhenTheGapFills) {
  range_set s;
  s.insert(200, 100);
  s.insert(400, 100);
  EXPECT_EQ(s.hwm(), 0u);
  EXPECT_EQ(s.above(), (ranges{{200, 100}, {400, 100}}));
  s.insert(300, 100);  // touches both neighbours
  EXPECT_EQ(s.above(), (ranges{{200, 300}}));
  s.insert(0, 200);
  EXPECT_EQ(s.hwm(), 500u);
  EXPECT_TRUE(s.above().empty());
  EXPECT_EQ(s.bytes(), 500u);
}

TEST(RangeSet, OverlapsAreCountedOnce) {
  range_set s;
  s.insert(100, 100);
  s.insert(150, 100);
  s.insert(50, 300);
  EXPECT_EQ(s.bytes(), 300u);
  EXPECT_EQ(s.above(), (ranges{{50, 300}}));
  s.insert(0, 60);  // overlaps the mark's neighbour
  EXPECT_EQ(s.hwm(), 350u);
  EXPECT_EQ(s.bytes(), 350u);
}

TEST(RangeSet, NextGapSkipsWhatIsDone) {
  range_set s(100, {{200, 50}, {300, 10}});
  EXPECT_EQ(s.next_gap(0, 1000), (std::pair<std::uint64_t, std::uint64_t>{100, 200}));
  EXPECT_EQ(s.next_gap(210, 1000), (std::pair<std::uint64_t, std::uint64_t>{250, 300}));
  EXPECT_EQ(s.next_gap(300, 1000), (std::pair<std::uint64_t, std::uint64_t>{310, 1000}));
  EXPECT_EQ(s.next_gap(300, 305), (std::pair<std::uint64_t, std::uint64_t>{305, 305}));
  EXPECT_EQ(s.next_gap(120, 150), (std::pair<std::uint64_t, std::uint64_t>{120, 150}));
}

TEST(RangeSet, SizeDependsOnGapsNotOnTheDisk) {
  // A copy with 16 requests in flight leaves at most 16 gaps above the mark, whatever it copied.
  range_set s;
  constexpr std::uint64_t req = 1 << 20;
  for (std::uint64_t i = 0; i < 4096; ++i) {
    if (i % 16 == 3) continue;  // one slow request in every 16
    s.insert(i * req, req);
  }
  EXPECT_EQ(s.hwm(), 3 * req);
  EXPECT_EQ(s.above().size(), 256u);
  for (std::uint64_t i = 3; i < 4096; i += 16) s.insert(i * req, req);
  EXPECT_EQ(s.hwm(), 4096 * req);
  EXPECT_TRUE(s.above().empty());
}

}  // namespace
}  // namespace mk::nbd
