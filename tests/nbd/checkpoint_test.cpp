#include "nbd/checkpoint.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace mk::nbd {
namespace {

checkpoint sample() {
  checkpoint cp;
  cp.state = copy_state::stopped;
  cp.source = "nbd+unix:///?socket=/run/src.sock";
  cp.target = "/srv/v-1.img";
  cp.source_size = 1 << 30;
  cp.target_size = 1 << 30;
  cp.done = range_set(64 << 20, {{(65 << 20), 4096}});
  cp.bytes_skipped = 12345;
  return cp;
}

void write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

TEST(Checkpoint, RoundTrips) {
  test::temp_dir dir;
  auto path = (dir / "cp.json").string();
  ASSERT_TRUE(save_checkpoint(path, sample()));
  auto back = load_checkpoint(path);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->state, copy_state::stopped);
  EXPECT_EQ(back->source, sample().source);
  EXPECT_EQ(back->target_size, 1u << 30);
  EXPECT_EQ(back->done.hwm(), 64u << 20);
  EXPECT_EQ(back->done.bytes(), (64u << 20) + 4096);
  EXPECT_EQ(back->bytes_skipped, 12345u);
  EXPECT_FALSE(back->error);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(Checkpoint, RecordsTheErrorAndBytesDone) {
  test::temp_dir dir;
  auto path = (dir / "cp.json").string();
  auto cp = sample();
  cp.state = copy_state::failed;
  cp.error = "source nbd://x/: read at offset 0 failed: Input/output error";
  ASSERT_TRUE(save_checkpoint(path, cp));
  auto text = test::read_text(path);
  EXPECT_NE(text.find("\"bytes_done\":" + std::to_string((64u << 20) + 4096)), std::string::npos);
  EXPECT_NE(text.find("Input/output error"), std::string::npos);
  EXPECT_EQ(load_checkpoint(path)->error, cp.error);
}

TEST(Checkpoint, RejectsWhatIsNotACheckpoint) {
  test::temp_dir dir;
  auto path = dir / "cp.json";
  struct bad_case {
    const char* text;
    const char* says;
  };
  for (auto [text, says] : std::vector<bad_case>{
           {"", "invalid JSON"},
           {"[1,2]", "invalid JSON"},
           {R"({"version":2})", "unsupported checkpoint version"},
           {R"({"version":1,"state":"dancing"})", "unknown state"},
           {R"({"version":1,"state":"copying"})", "malformed"},
           {R"({"version":1,"state":"copying","source":"a","target":"b","source_size":100,)"
            R"("target_size":100,"hwm":200,"done":[]})",
            "outside the disk"},
           {R"({"version":1,"state":"copying","source":"a","target":"b","source_size":100,)"
            R"("target_size":100,"hwm":0,"done":[[90,20]]})",
            "outside the disk"},
           {R"({"version":1,"state":"copying","source":"a","target":"b","source_size":"x",)"
            R"("target_size":100,"hwm":0,"done":[]})",
            "malformed"},
       }) {
    write(path, text);
    auto cp = load_checkpoint(path.string());
    ASSERT_FALSE(cp) << text;
    EXPECT_EQ(cp.error().code, errc::usage);
    EXPECT_NE(cp.error().message.find(says), std::string::npos) << cp.error().message;
    EXPECT_NE(cp.error().message.find(path.string()), std::string::npos);
  }
}

TEST(Checkpoint, MissingFileIsAnErrorNamingIt) {
  auto cp = load_checkpoint("/nonexistent/cp.json");
  ASSERT_FALSE(cp);
  EXPECT_NE(cp.error().message.find("/nonexistent/cp.json"), std::string::npos);
}

TEST(Checkpoint, ReplacesAtomically) {
  test::temp_dir dir;
  auto path = (dir / "cp.json").string();
  ASSERT_TRUE(save_checkpoint(path, sample()));
  struct stat before {};
  ::stat(path.c_str(), &before);
  auto cp = sample();
  cp.state = copy_state::completed;
  ASSERT_TRUE(save_checkpoint(path, cp));
  struct stat after {};
  ::stat(path.c_str(), &after);
  EXPECT_NE(before.st_ino, after.st_ino);  // a new file renamed over the old one
  EXPECT_EQ(load_checkpoint(path)->state, copy_state::completed);
}

TEST(Checkpoint, PathsThatAreNotUtf8AreKept) {
  test::temp_dir dir;
  auto path = (dir / "cp.json").string();
  auto cp = sample();
  cp.target = "/srv/disk-\xff.img";  // file names are bytes
  ASSERT_TRUE(save_checkpoint(path, cp));
  auto back = load_checkpoint(path);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->done.bytes(), cp.done.bytes());
}

TEST(Checkpoint, UnwritableFolderIsAnError) {
  auto r = save_checkpoint("/nonexistent-dir/cp.json", sample());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("/nonexistent-dir/cp.json.tmp"), std::string::npos);
}

}  // namespace
}  // namespace mk::nbd
