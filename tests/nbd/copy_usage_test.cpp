// Command lines and inputs that `migratekit copy` must refuse before it writes anything:
// exit 2 with a message saying why (exit 1 where the cause is at run time, like a socket).

#include <gtest/gtest.h>

#include "nbd/copy_fixture.hpp"
#include "support/files.hpp"
#include "support/hash.hpp"

namespace mk::test {
namespace {

using CopyUsage = copy_fixture;

TEST_F(CopyUsage, BadCommandLines) {
  const auto file = path("disk.img");
  write_sparse_file(file, 1_MiB, {{0, 1_MiB}});
  const std::vector<std::vector<std::string>> bad = {
      {},
      {file.string()},
      {file.string(), path("copy.img").string(), "--no-such-option"},
      {file.string(), path("copy.img").string(), "--resume"},
      {file.string(), path("copy.img").string(), "--requests", "many"},
      {file.string(), path("copy.img").string(), "--request-size", "lots"},
  };
  for (const auto& args : bad) {
    auto run = start_copy(args);
    EXPECT_EQ(finish(run, 10s), exit_status::exited(2))
        << "migratekit copy " << testing::PrintToString(args) << "\n"
        << run.stderr_text();
    EXPECT_FALSE(run.stderr_text().empty());
  }
  EXPECT_FALSE(std::filesystem::exists(path("copy.img")));
}

TEST_F(CopyUsage, UnknownSchemeIsNamed) {
  const auto file = path("disk.img");
  write_sparse_file(file, 1_MiB, {{0, 1_MiB}});
  auto source_side = start_copy({"http://x/y", file.string()});
  EXPECT_EQ(finish(source_side, 10s), exit_status::exited(2));
  EXPECT_TRUE(mentions(source_side.stderr_text(), "http"));
  auto target_side = start_copy({file.string(), "ftp://x/y"});
  EXPECT_EQ(finish(target_side, 10s), exit_status::exited(2));
  EXPECT_TRUE(mentions(target_side.stderr_text(), "ftp"));
}

TEST_F(CopyUsage, MissingSocketIsRuntimeError) {
  const auto socket = path("nobody.sock");
  auto run = start_copy({"nbd+unix:///?socket=" + socket.string(), path("copy.img").string()});
  EXPECT_EQ(finish(run, 20s), exit_status::exited(1));
  EXPECT_TRUE(mentions(run.stderr_text(), "source"));
  EXPECT_TRUE(mentions(run.stderr_text(), socket.string()));
}

TEST_F(CopyUsage, TargetSmallerThanSource) {
  auto src = server("src", {}, {"pattern", "32M"});
  const auto log = path("dst.log");
  auto dst = server("dst", {"log"}, {"memory", "16M", "logfile=" + log.string()});
  auto to_memory = start_copy({src.uri(), dst.uri()});
  EXPECT_EQ(finish(to_memory, 20s), exit_status::exited(2));
  EXPECT_TRUE(mentions(to_memory.stderr_text(), "smaller"));
  EXPECT_EQ(writes_in(log).bytes, 0u);

  const auto file = path("small.img");
  write_sparse_file(file, 16_MiB, {{0, 1_MiB}});
  const auto before = hash_file(file);
  auto to_file = start_copy({src.uri(), file.string()});
  EXPECT_EQ(finish(to_file, 20s), exit_status::exited(2));
  EXPECT_TRUE(mentions(to_file.stderr_text(), "smaller"));
  EXPECT_EQ(hash_file(file), before);
}

TEST_F(CopyUsage, ResumeRefusesCheckpointOfAnotherDisk) {
  const auto cp = path("cp.json");
  {
    auto src = server("src16", {}, {"pattern", "16M"});
    auto dst = server("dst16", {}, {"memory", "16M"});
    ASSERT_EQ(run_copy({src.uri(), dst.uri(), "--checkpoint", cp.string()}),
              exit_status::exited(0));
  }
  ASSERT_TRUE(std::filesystem::exists(cp)) << "a completed copy keeps its checkpoint";
  const auto saved = read_text(cp);

  auto src = server("src32", {}, {"pattern", "32M"});
  const auto log = path("dst32.log");
  auto dst = server("dst32", {"log"}, {"memory", "32M", "logfile=" + log.string()});
  auto run = start_copy({src.uri(), dst.uri(), "--checkpoint", cp.string(), "--resume"});
  EXPECT_EQ(finish(run, 20s), exit_status::exited(2));
  EXPECT_TRUE(mentions(run.stderr_text(), "checkpoint"));
  EXPECT_EQ(writes_in(log).bytes, 0u);
  EXPECT_EQ(read_text(cp), saved) << "the refused checkpoint was changed";
}

TEST_F(CopyUsage, ResumeWithoutCheckpointFile) {
  auto src = server("src", {}, {"pattern", "16M"});
  const auto cp = path("none.json");
  auto run =
      start_copy({src.uri(), path("copy.img").string(), "--checkpoint", cp.string(), "--resume"});
  EXPECT_EQ(finish(run, 20s), exit_status::exited(2));
  EXPECT_TRUE(mentions(run.stderr_text(), cp.string()));
  EXPECT_FALSE(std::filesystem::exists(cp));
}

TEST_F(CopyUsage, ExistingCheckpointWithoutResume) {
  auto src = server("src", {}, {"pattern", "16M"});
  auto dst = server("dst", {}, {"memory", "16M"});
  const auto cp = path("cp.json");
  ASSERT_EQ(run_copy({src.uri(), dst.uri(), "--checkpoint", cp.string()}), exit_status::exited(0));
  const auto saved = read_text(cp);
  auto again = start_copy({src.uri(), dst.uri(), "--checkpoint", cp.string()});
  EXPECT_EQ(finish(again, 20s), exit_status::exited(2));
  EXPECT_TRUE(mentions(again.stderr_text(), cp.string()));
  EXPECT_EQ(read_text(cp), saved);
}

}  // namespace
}  // namespace mk::test
