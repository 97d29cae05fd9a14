// Copies that fail: an endpoint returns errors, dies or hangs. The mover must exit 1 soon,
// name the endpoint and the error, and leave a checkpoint from which a resume completes.

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <functional>

#include "nbd/copy_fixture.hpp"
#include "support/hash.hpp"

namespace mk::test {
namespace {

class CopyError : public copy_fixture {
 protected:
  // Runs until 8 MiB are done, calls `fail`, and expects exit 1 within 10 s, with an error
  // naming the endpoint (its role and socket) and saying `text` unless that is empty.
  // Returns the arguments, to resume with.
  std::vector<std::string> fail_midway(nbdkit_server& src, nbdkit_server& dst,
                                       const std::function<void()>& fail,
                                       const std::string& endpoint, const std::string& text,
                                       const std::vector<std::string>& extra = {});
  // Checks what the failed copy's checkpoint claims, then resumes it from a healthy source.
  void resume_from_fast_source(nbdkit_server& src, const nbdkit_server& dst,
                               std::vector<std::string> args);
  void source_read_error_then_resume(const std::string& error, const std::string& text);
  void target_write_error_then_resume(const std::string& error, const std::string& text);
};

void touch(const std::filesystem::path& file) { std::ofstream{file}; }

std::vector<std::string> CopyError::fail_midway(nbdkit_server& src, nbdkit_server& dst,
                                                const std::function<void()>& fail,
                                                const std::string& endpoint,
                                                const std::string& text,
                                                const std::vector<std::string>& extra) {
  constexpr auto within = 10s;
  auto args = checkpointed(src.uri(), dst.uri());
  args.insert(args.end(), extra.begin(), extra.end());
  const auto named = endpoint == "source" ? src.socket().string() : dst.socket().string();
  auto run = start_copy(args);
  if (!wait_for_progress(run, 8_MiB)) return args;
  fail();
  const auto failed_at = std::chrono::steady_clock::now();
  EXPECT_EQ(finish(run, within + 30s), exit_status::exited(1));
  EXPECT_LT(std::chrono::steady_clock::now() - failed_at, within) << "the failure was slow";
  const auto err = run.stderr_text();
  EXPECT_TRUE(mentions(err, endpoint));
  EXPECT_TRUE(mentions(err, named));
  if (!text.empty()) {
    EXPECT_TRUE(mentions(err, text));
  }
  expect_progress(run, "failed", disk_size);
  expect_valid_checkpoint(read_json(path("cp.json")), "failed", disk_size);
  return args;
}

void CopyError::resume_from_fast_source(nbdkit_server& src, const nbdkit_server& dst,
                                        std::vector<std::string> args) {
  src.stop();
  src = fast_source();
  expect_durable(read_json(path("cp.json")), src.uri(), dst.uri());
  args.push_back("--resume");
  auto resumed = start_copy(args);
  ASSERT_EQ(finish(resumed), exit_status::exited(0)) << resumed.stderr_text();
  EXPECT_EQ(hash_export(dst.uri()), hash_export(src.uri()));
}

/// The source's reads fail with `error` (nbdkit's error filter, switched on mid-copy).
void CopyError::source_read_error_then_resume(const std::string& error, const std::string& text) {
  const auto trigger = path("fail-reads");
  auto src = slow_source({"error"}, {"error-pread=" + error, "error-pread-rate=100%",
                                     "error-pread-file=" + trigger.string()});
  auto dst = server("dst", {}, {"memory", std::to_string(disk_size)});
  auto args = fail_midway(
      src, dst, [&] { touch(trigger); }, "source", text);
  ASSERT_FALSE(HasFailure());

  resume_from_fast_source(src, dst, args);
}

/// The target's writes fail with `error`, then heal.
void CopyError::target_write_error_then_resume(const std::string& error, const std::string& text) {
  const auto trigger = path("fail-writes");
  auto src = slow_source();
  auto dst = server("dst", {"error"},
                    {"memory", std::to_string(disk_size), "error-pwrite=" + error,
                     "error-pwrite-rate=100%", "error-pwrite-file=" + trigger.string()});
  auto args = fail_midway(
      src, dst, [&] { touch(trigger); }, "target", text);
  ASSERT_FALSE(HasFailure());

  std::filesystem::remove(trigger);
  resume_from_fast_source(src, dst, args);
}

TEST_F(CopyError, SourceReadErrorThenResume) {
  source_read_error_then_resume("EIO", "Input/output error");
}

TEST_F(CopyError, SourceReadNoSpaceThenResume) {
  source_read_error_then_resume("ENOSPC", "No space left on device");
}

TEST_F(CopyError, TargetWriteErrorThenResume) {
  target_write_error_then_resume("ENOSPC", "No space left on device");
}

TEST_F(CopyError, TargetWriteIoErrorThenResume) {
  target_write_error_then_resume("EIO", "Input/output error");
}

TEST_F(CopyError, DeadSourceServerThenResume) {
  auto src = slow_source();
  auto dst = server("dst", {}, {"memory", std::to_string(disk_size)});
  auto args = fail_midway(
      src, dst, [&] { src.proc().kill(); }, "source", "");
  ASSERT_FALSE(HasFailure());

  resume_from_fast_source(src, dst, args);
}

TEST_F(CopyError, DeadTargetServer) {
  auto src = slow_source();
  auto dst = server("dst", {}, {"memory", std::to_string(disk_size)});
  fail_midway(
      src, dst, [&] { dst.proc().kill(); }, "target", "");
}

TEST_F(CopyError, HungSourceServerTimesOut) {
  auto src = slow_source();
  auto dst = server("dst", {}, {"memory", std::to_string(disk_size)});
  fail_midway(src, dst, [&] { src.proc().signal(SIGSTOP); }, "source", "", {"--io-timeout", "2"});
}

}  // namespace
}  // namespace mk::test
