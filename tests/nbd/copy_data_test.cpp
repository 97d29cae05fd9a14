// Copies that complete: dense and sparse disks, NBD exports and local files on either side.
// Each compares the whole target with the whole source.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "nbd/copy_fixture.hpp"
#include "support/files.hpp"
#include "support/hash.hpp"
#include "sys/unique_fd.hpp"

namespace mk::test {
namespace {

using sys::unique_fd;

using CopyNbd = copy_fixture;

// A 64 MiB file, mostly holes: 4.25 MiB of data in runs of several sizes and alignments.
const std::vector<byte_range> sparse_file_data = {
    {0, 1_MiB}, {20_MiB, 3_MiB}, {40_MiB + 4_KiB, 256_KiB}, {63_MiB, 1_MiB}};
constexpr std::uint64_t sparse_file_size = 64_MiB;

TEST_F(CopyNbd, PatternToMemory) {
  auto src = server("src", {}, {"pattern", "64M"});
  auto dst = server("dst", {}, {"memory", "64M"});
  auto run = start_copy({src.uri(), dst.uri(), "--progress=json"});
  ASSERT_EQ(finish(run), exit_status::exited(0)) << run.stderr_text();
  const auto last = expect_progress(run, "completed", 64_MiB);
  EXPECT_EQ(last.value("bytes_skipped", json()), 0) << "the pattern plugin has no holes";
  EXPECT_EQ(hash_export(dst.uri()), hash_export(src.uri()));
}

TEST_F(CopyNbd, RandomToMemoryWithSmallRequests) {
  auto src = server("src", {}, {"random", "64M", "seed=7"});
  auto dst = server("dst", {}, {"memory", "64M"});
  auto run = start_copy({src.uri(), dst.uri(), "--progress=json", "--requests", "32",
                         "--request-size", "64K", "--connections", "2"});
  ASSERT_EQ(finish(run), exit_status::exited(0)) << run.stderr_text();
  expect_progress(run, "completed", 64_MiB);
  EXPECT_EQ(hash_export(dst.uri()), hash_export(src.uri()));
}

TEST_F(CopyNbd, PatternOverTcpToMemoryOverTcpWithExportName) {
  using enum nbdkit_server::listen;
  auto src = server("src", {}, {"pattern", "32M"}, tcp);
  auto dst = server("dst", {}, {"memory", "32M"}, tcp);
  const auto named_dst = dst.uri() + "disk0";  // nbd://127.0.0.1:PORT/disk0
  auto run = start_copy({src.uri(), named_dst, "--progress=json"});
  ASSERT_EQ(finish(run), exit_status::exited(0)) << run.stderr_text();
  expect_progress(run, "completed", 32_MiB);
  EXPECT_EQ(hash_export(named_dst), hash_export(src.uri()));
}

TEST_F(CopyNbd, PatternToMemoryConnectionsOnlyWithMultiConn) {
  auto src = server("src", {}, {"pattern", "32M"});
  const auto multi_log = path("multi.log");
  auto multi = server("multi", {"log"}, {"memory", "32M", "logfile=" + multi_log.string()});
  ASSERT_EQ(run_copy({src.uri(), multi.uri(), "--connections", "3"}), exit_status::exited(0));
  EXPECT_EQ(hash_export(multi.uri()), hash_export(src.uri()));
  EXPECT_EQ(writes_in(multi_log).connections.size(), 3u) << "memory offers multi-conn";

  const auto single_log = path("single.log");
  auto single =
      server("single", {"log", "multi-conn"},
             {"memory", "32M", "multi-conn-mode=disable", "logfile=" + single_log.string()});
  ASSERT_EQ(run_copy({src.uri(), single.uri(), "--connections", "3"}), exit_status::exited(0));
  EXPECT_EQ(hash_export(single.uri()), hash_export(src.uri()));
  EXPECT_EQ(writes_in(single_log).connections.size(), 1u) << "multi-conn was not offered";
}

TEST_F(CopyNbd, SparseRandomToMemory) {
  constexpr std::uint64_t size = 1024_MiB;
  auto src =
      server("src", {}, {"sparse-random", "1G", "seed=42", "percent=10", "runlength=4194304"});
  auto dst = server("dst", {}, {"memory", "1G"});
  auto run = start_copy({src.uri(), dst.uri(), "--progress=json"});
  ASSERT_EQ(finish(run), exit_status::exited(0)) << run.stderr_text();
  const auto last = expect_progress(run, "completed", size);
  EXPECT_GT(last.value("bytes_skipped", std::uint64_t{0}), size / 2) << last.dump();
  EXPECT_EQ(hash_export(dst.uri()), hash_export(src.uri()));
}

TEST_F(CopyNbd, PatternToNewFile) {
  auto src = server("src", {}, {"pattern", "64M"});
  const auto dst = path("dst.img");
  ASSERT_EQ(run_copy({src.uri(), dst.string()}), exit_status::exited(0));
  EXPECT_EQ(hash_file(dst), hash_export(src.uri())) << "the file is created at the source size";
}

TEST_F(CopyNbd, OddSizedPatternToEmptyFile) {
  // Not a multiple of the request size nor of 4 KiB: the last request is short.
  constexpr std::uint64_t size = 32_MiB + 4097;
  auto src = server("src", {}, {"pattern", std::to_string(size)});
  const auto dst = path("dst.img");
  write_sparse_file(dst, 0, {});
  auto run = start_copy({src.uri(), dst.string(), "--progress=json"});
  ASSERT_EQ(finish(run), exit_status::exited(0)) << run.stderr_text();
  expect_progress(run, "completed", size);
  EXPECT_EQ(hash_file(dst), hash_export(src.uri()));
}

TEST_F(CopyNbd, RandomFileToMemory) {
  const auto src = path("src.img");
  write_sparse_file(src, 48_MiB, {{0, 48_MiB}});
  auto dst = server("dst", {}, {"memory", "48M"});
  ASSERT_EQ(run_copy({src.string(), dst.uri(), "--connections", "3"}), exit_status::exited(0));
  EXPECT_EQ(hash_export(dst.uri()), hash_file(src));
}

TEST_F(CopyNbd, SparseFileToNewFile) {
  const auto src = path("src.img");
  const auto dst = path("dst.img");
  write_sparse_file(src, sparse_file_size, sparse_file_data);
  auto run = start_copy({src.string(), dst.string(), "--progress=json"});
  ASSERT_EQ(finish(run), exit_status::exited(0)) << run.stderr_text();
  const auto last = expect_progress(run, "completed", sparse_file_size);
  EXPECT_GT(last.value("bytes_skipped", std::uint64_t{0}), sparse_file_size / 2) << last.dump();
  EXPECT_EQ(hash_file(dst), hash_file(src));
  // Where this file system keeps holes, the copy keeps them too: a new file is known zero.
  if (allocated_bytes(src) < 8_MiB) {
    EXPECT_LT(allocated_bytes(dst), 8_MiB) << "the holes of the source were written out";
  }
}

TEST_F(CopyNbd, SparseFileToMemory) {
  const auto src = path("src.img");
  write_sparse_file(src, sparse_file_size, sparse_file_data);
  const auto log = path("dst.log");
  auto dst = server("dst", {"log"}, {"memory", "64M", "logfile=" + log.string()});
  auto run = start_copy({src.string(), dst.uri(), "--progress=json"});
  ASSERT_EQ(finish(run), exit_status::exited(0)) << run.stderr_text();
  const auto last = expect_progress(run, "completed", sparse_file_size);
  EXPECT_GT(last.value("bytes_skipped", std::uint64_t{0}), sparse_file_size / 2) << last.dump();
  EXPECT_EQ(hash_export(dst.uri()), hash_file(src));
  EXPECT_LT(writes_in(log).bytes, 8_MiB) << "holes were written as data";
}

TEST_F(CopyNbd, PatternToMemoryWithClosedProgressPipe) {
  // Slow enough for several progress lines, each written into a pipe nobody reads.
  auto src = server("src", {"rate"}, {"pattern", "32M", "rate=80M"});
  auto dst = server("dst", {}, {"memory", "32M"});
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  unique_fd read_end(fds[0]);
  unique_fd write_end(fds[1]);
  auto run = start_copy({src.uri(), dst.uri(), "--progress=json"}, write_end.get());
  write_end.reset();
  read_end.reset();
  ASSERT_EQ(finish(run), exit_status::exited(0)) << run.stderr_text();
  EXPECT_EQ(hash_export(dst.uri()), hash_export(src.uri()));
}

}  // namespace
}  // namespace mk::test
