// Progress lines as `migratekit copy --progress=json` writes them, arriving in pieces.

#include "agent/mover/progress_reader.hpp"

#include <gtest/gtest.h>

namespace mk::vma {
namespace {

constexpr const char* line1 =
    R"({"state":"copying","bytes_done":10,"bytes_total":100,"bytes_skipped":5,"rate_bps":7,"elapsed_s":0.5})";
constexpr const char* line2 =
    R"({"state":"completed","bytes_done":100,"bytes_total":100,"bytes_skipped":5,"rate_bps":9,"elapsed_s":1.0})";

TEST(ProgressLine, ParsesTheDocumentedFields) {
  const auto p = parse_progress_line(line1);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (progress_line{nbd::copy_state::copying, 10, 100, 5, 7}));
}

TEST(ProgressLine, RefusesWhatIsNotAProgressLine) {
  EXPECT_FALSE(parse_progress_line("not json"));
  EXPECT_FALSE(parse_progress_line("[1,2]"));
  EXPECT_FALSE(parse_progress_line(R"({"state":"copying"})"));
  EXPECT_FALSE(parse_progress_line(
      R"({"state":"exploding","bytes_done":1,"bytes_total":1,"bytes_skipped":0,"rate_bps":0})"));
  EXPECT_FALSE(parse_progress_line(
      R"({"state":"copying","bytes_done":-1,"bytes_total":1,"bytes_skipped":0,"rate_bps":0})"));
}

TEST(ProgressReader, KeepsTheLastCompleteLineAcrossPieces) {
  progress_reader r(1024);
  const std::string text = std::string(line1) + "\n" + line2 + "\n";
  const std::string_view all(text);
  const auto cut = std::string(line1).size() + 10;
  EXPECT_TRUE(r.feed(all.substr(0, cut)));
  EXPECT_EQ(r.latest()->state, nbd::copy_state::copying);
  EXPECT_TRUE(r.feed(all.substr(cut)));
  EXPECT_EQ(r.latest()->state, nbd::copy_state::completed);
  EXPECT_EQ(r.malformed(), 0u);
}

TEST(ProgressReader, SkipsAndCountsMalformedLines) {
  progress_reader r(1024);
  EXPECT_TRUE(r.feed(std::string(line1) + "\ngarbage\n{\"state\":1}\n"));
  EXPECT_EQ(r.latest()->state, nbd::copy_state::copying);
  EXPECT_EQ(r.malformed(), 2u);
}

TEST(ProgressReader, DropsAnOverlongLineWithoutBufferingIt) {
  progress_reader r(200);
  EXPECT_FALSE(r.feed(std::string(150, 'x')));
  EXPECT_FALSE(r.feed(std::string(150, 'x')));
  EXPECT_TRUE(r.feed("yyy\n" + std::string(line2) + "\n"));
  EXPECT_EQ(r.latest()->state, nbd::copy_state::completed);
  EXPECT_EQ(r.malformed(), 1u);
}

}  // namespace
}  // namespace mk::vma
