// Copies stopped in the middle by a signal, then resumed from their checkpoint: a graceful
// stop loses nothing, a second signal or SIGKILL leaves a checkpoint that still resumes.

#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "nbd/copy_fixture.hpp"
#include "support/files.hpp"
#include "support/hash.hpp"

namespace mk::test {
namespace {

class CopyStop : public copy_fixture {
 protected:
  void graceful_stop_then_resume(int sig);
  void abort_drain_then_resume(bool second_signal);
};

// The target keeps its data across both runs and logs every write, so that the bytes copied
// twice can be counted.
void CopyStop::graceful_stop_then_resume(int sig) {
  auto src = slow_source();
  const auto log = path("dst.log");
  auto dst =
      server("dst", {"log"}, {"memory", std::to_string(disk_size), "logfile=" + log.string()});
  auto args = checkpointed(src.uri(), dst.uri());
  args.insert(args.end(), {"--drain-timeout", "10"});

  auto run = start_copy(args);
  ASSERT_TRUE(wait_for_progress(run, 16_MiB));
  const auto signalled = std::chrono::steady_clock::now();
  run.proc.signal(sig);
  ASSERT_EQ(finish(run, 20s), exit_status::exited(3)) << run.stderr_text();
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 13s) << "drain-timeout 10 s exceeded";
  expect_progress(run, "stopped", disk_size);
  const auto stopped = read_json(path("cp.json"));
  expect_valid_checkpoint(stopped, "stopped", disk_size);
  EXPECT_GE(stopped.value("bytes_done", std::uint64_t{0}), 16_MiB) << "work done was lost";
  EXPECT_LT(stopped.value("bytes_done", disk_size), disk_size) << "the copy was not stopped midway";

  src.stop();
  src = fast_source();
  expect_durable(stopped, src.uri(), dst.uri());
  args.push_back("--resume");
  auto resumed = start_copy(args);
  ASSERT_EQ(finish(resumed), exit_status::exited(0)) << resumed.stderr_text();
  expect_progress(resumed, "completed", disk_size);
  expect_valid_checkpoint(read_json(path("cp.json")), "completed", disk_size);
  EXPECT_EQ(hash_export(dst.uri()), hash_export(src.uri()));
  const auto written = writes_in(log).bytes;
  EXPECT_GE(written, disk_size);
  EXPECT_LE(written - disk_size, requests * request_size) << "copied again on resume";
}

TEST_F(CopyStop, PatternToMemorySigtermThenResume) { graceful_stop_then_resume(SIGTERM); }

TEST_F(CopyStop, PatternToMemorySigintThenResume) { graceful_stop_then_resume(SIGINT); }

TEST_F(CopyStop, PatternToMemorySigkillThenResume) {
  auto src = slow_source();
  auto dst = server("dst", {}, {"memory", std::to_string(disk_size)});
  auto args = checkpointed(src.uri(), dst.uri());
  args.insert(args.end(), {"--checkpoint-interval", "1"});

  auto run = start_copy(args);
  ASSERT_TRUE(wait_for_progress(run, 16_MiB));
  ASSERT_TRUE(wait_for_file(run, path("cp.json")));
  ASSERT_EQ(run.proc.kill(), exit_status::signalled(SIGKILL));
  const auto killed = read_json(path("cp.json"));
  expect_valid_checkpoint(killed, "copying", disk_size);

  src.stop();
  src = fast_source();
  expect_durable(killed, src.uri(), dst.uri());
  args.push_back("--resume");
  auto resumed = start_copy(args);
  ASSERT_EQ(finish(resumed), exit_status::exited(0)) << resumed.stderr_text();
  expect_progress(resumed, "completed", disk_size);
  EXPECT_EQ(hash_export(dst.uri()), hash_export(src.uri()));
}

// A graceful stop drains writes only: the reads a slow source has yet to answer are left to a
// process of their own (`migratekit drain-reads`), so the stop takes no longer than the writes.
// The source server, which nbdkit 1.32 aborts when a client closes its connection while reads
// sleep in the rate filter, outlives it all, and the resume completes from it.
TEST_F(CopyStop, StopAbandonsReadsAndTheSlowSourceLives) {
  // 8 Mbit/s: the 64 reads of 256 KiB in flight take 16 s to answer.
  const rate_file rate(path("src.rate"));
  rate.set("8M");
  auto src = server("src", {"rate"}, {"pattern", std::to_string(disk_size), "rate=8M", rate.arg()});
  auto dst = server("dst", {}, {"memory", std::to_string(disk_size)});
  const auto args = [&](const char* in_flight) {
    return std::vector<std::string>{
        src.uri(),         dst.uri(),    "--checkpoint", path("cp.json").string(),
        "--progress=json", "--requests", in_flight,      "--request-size",
        "262144"};
  };
  auto run = start_copy(args("64"));
  ASSERT_TRUE(wait_for_progress(run, 2_MiB));
  const auto signalled = std::chrono::steady_clock::now();
  run.proc.signal(SIGTERM);
  ASSERT_EQ(finish(run, 20s), exit_status::exited(3)) << run.stderr_text();
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 2s) << "the stop waited for reads";
  EXPECT_TRUE(mentions(run.stderr_text(), "abandoning"));
  const auto stopped = read_json(path("cp.json"));
  expect_valid_checkpoint(stopped, "stopped", disk_size);
  EXPECT_LT(stopped.value("bytes_done", disk_size), disk_size / 2);

  // The reads are answered to a helper that no one takes for a mover, and that leaves.
  const auto helpers = [&] {
    std::vector<std::string> out;
    for (auto pid : running_under(dir_.path())) {
      const auto line = command_text(pid);
      if (line.find("migratekit drain-reads source " + src.uri()) != std::string::npos)
        out.push_back(line);
      EXPECT_EQ(line.find("migratekit copy "), std::string::npos) << line;
    }
    return out;
  };
  EXPECT_EQ(helpers().size(), 1u);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!helpers().empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(helpers().empty()) << "the helper outlived the replies it waited for";
  EXPECT_TRUE(src.proc().running()) << "the source server died";

  // Every range the checkpoint counts is on the target; the resume reads the rest from the
  // same server, faster now.
  expect_durable(stopped, src.uri(), dst.uri());
  rate.set("10G");
  auto again = args("4");
  again.push_back("--resume");
  auto resumed = start_copy(again);
  ASSERT_EQ(finish(resumed, 120s), exit_status::exited(0)) << resumed.stderr_text();
  EXPECT_TRUE(src.proc().running());
  EXPECT_EQ(hash_export(dst.uri()), hash_export(src.uri()));
}

// The target is a file served with writes that take seconds, so that a graceful stop has to
// wait for requests in flight; it is served again without the delay for the resume.
void CopyStop::abort_drain_then_resume(bool second_signal) {
  auto src = fast_source();
  const auto image = path("dst.img");
  write_sparse_file(image, disk_size, {});
  auto dst = server("dst", {"delay"}, {"file", image.string(), "wdelay=4"});
  auto args = checkpointed(src.uri(), dst.uri());
  args.insert(args.end(),
              {"--checkpoint-interval", "1", "--drain-timeout", second_signal ? "30" : "1"});

  auto run = start_copy(args);
  ASSERT_TRUE(wait_for_progress(run, 1));
  ASSERT_TRUE(wait_for_file(run, path("cp.json")));
  run.proc.signal(SIGTERM);
  if (second_signal) {
    std::this_thread::sleep_for(300ms);
    run.proc.signal(SIGTERM);
  }
  const auto signalled = std::chrono::steady_clock::now();
  ASSERT_EQ(finish(run, 20s), exit_status::exited(3)) << run.stderr_text();
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, second_signal ? 2s : 3s)
      << "the stop waited for the writes in flight";
  const auto cp = read_json(path("cp.json"));
  const auto state = cp.value("state", std::string());
  EXPECT_TRUE(state == "copying" || state == "stopped") << cp.dump();
  expect_valid_checkpoint(cp, state, disk_size);

  dst.stop();
  dst = server("dst", {}, {"file", image.string()});
  expect_durable(cp, src.uri(), dst.uri());
  args.push_back("--resume");
  auto resumed = start_copy(args);
  ASSERT_EQ(finish(resumed), exit_status::exited(0)) << resumed.stderr_text();
  EXPECT_EQ(hash_file(image), hash_export(src.uri()));
}

TEST_F(CopyStop, SecondSigtermAbortsDrainThenResume) { abort_drain_then_resume(true); }

TEST_F(CopyStop, DrainTimeoutBoundsStopThenResume) { abort_drain_then_resume(false); }

}  // namespace
}  // namespace mk::test
