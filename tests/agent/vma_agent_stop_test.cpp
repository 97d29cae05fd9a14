// The VMA agent stopping movers: graceful, frozen and killed after the grace, forced,
// escalated, for a job without a mover, repeated, and across an agent restart mid-drain.

#include "vma_agent_fixture.hpp"

namespace mk::actors {
namespace vma_agent_test {
namespace {

TEST_F(VmaAgent, FrozenMoverIsKilledAfterTheShortGraceOfTheRequest) {
  constexpr std::uint64_t size = 64 * MiB;
  auto copy = start_copy("r-5", size);
  ASSERT_FALSE(HasFailure());
  const auto& reply = copy.reply;
  ASSERT_EQ(::kill(static_cast<pid_t>(reply.pid), SIGSTOP), 0);

  const auto asked = std::chrono::steady_clock::now();
  send_stop("r-5", "s-5", msg::stop_mode::graceful, 1);
  const auto c = confirmation("s-5", 10s);
  ASSERT_TRUE(c) << "no confirmation";
  const auto took = std::chrono::steady_clock::now() - asked;
  EXPECT_GE(took, 1s) << "killed before the grace was over";
  // Far below the default grace (30 s): the request's own was used. The margin is for a busy
  // machine, where the mover's record is fsynced before the SIGTERM.
  EXPECT_LT(took, 15s);
  EXPECT_EQ(c->result, msg::outcome::killed) << c->detail;
  EXPECT_NE(c->detail.find("killed by SIGKILL after 1 s grace"), std::string::npos) << c->detail;
  EXPECT_FALSE(c->completed);
}

TEST_F(VmaAgent, ForceStopKillsAtOnce) {
  constexpr std::uint64_t size = 64 * MiB;
  auto copy = start_copy("r-6", size);
  ASSERT_FALSE(HasFailure());
  const auto asked = std::chrono::steady_clock::now();
  send_stop("r-6", "s-6", msg::stop_mode::force);
  const auto c = confirmation("s-6", 5s);
  ASSERT_TRUE(c);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 10s) << "not at once (the grace is 30 s)";
  EXPECT_EQ(c->result, msg::outcome::killed) << c->detail;
  EXPECT_NE(c->detail.find("force"), std::string::npos) << c->detail;
}

TEST_F(VmaAgent, ForceRepeatOfAGracefulStopEscalatesToSigkill) {
  constexpr std::uint64_t size = 64 * MiB;
  auto copy = start_copy("r-21", size);
  ASSERT_FALSE(HasFailure());
  const auto& reply = copy.reply;
  // Frozen, the mover cannot act on the SIGTERM, and the 30 s grace would hold the stop.
  ASSERT_EQ(::kill(static_cast<pid_t>(reply.pid), SIGSTOP), 0);
  send_stop("r-21", "s-21", msg::stop_mode::graceful, 30);
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(log_.confirms("s-21").empty());
  const auto escalated = std::chrono::steady_clock::now();
  send_stop("r-21", "s-21", msg::stop_mode::force);
  const auto c = confirmation("s-21", 5s);
  ASSERT_TRUE(c);
  EXPECT_LT(std::chrono::steady_clock::now() - escalated, 2s);
  EXPECT_EQ(c->result, msg::outcome::killed) << c->detail;
  EXPECT_NE(c->detail.find("force"), std::string::npos) << c->detail;
}

TEST_F(VmaAgent, StopWithoutMoverIsNotRunningAndOthersStopsAreIgnored) {
  start_agent();
  send_stop("r-none", "s-7");
  const auto c = confirmation("s-7", 5s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->result, msg::outcome::not_running);
  EXPECT_EQ(c->who, msg::participant::vma_process);
  EXPECT_NE(c->detail.find("no mover"), std::string::npos) << c->detail;
  EXPECT_FALSE(c->completed);
  // Addressed to another agent, or to another participant: not this agent's to answer.
  send_stop("r-none", "s-8", msg::stop_mode::graceful, 0, "vma_process", "elsewhere");
  send_stop("r-none", "s-9", msg::stop_mode::graceful, 0, "poller");
  std::this_thread::sleep_for(700ms);
  EXPECT_TRUE(log_.confirms("s-8").empty());
  EXPECT_TRUE(log_.confirms("s-9").empty());
}

TEST_F(VmaAgent, SameStopIdTwiceGetsOneSigtermAndTheSameAnswerAgain) {
  constexpr std::uint64_t size = 16 * MiB;
  // 1 MB/s: draining the 1 MiB in flight takes about a second, time enough for a second
  // SIGTERM to abort the drain if one were sent.
  auto copy = start_copy("r-10", size, "8M");
  ASSERT_FALSE(HasFailure());
  send_stop("r-10", "s-10");
  send_stop("r-10", "s-10");
  const auto c = confirmation("s-10");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->result, msg::outcome::exited) << c->detail;
  EXPECT_NE(c->detail.find("exit 3, checkpoint stopped"), std::string::npos) << c->detail;
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(log_.confirms("s-10").size(), 1u) << "a repeat while stopping answers nothing new";
  const auto log = test::read_text(data_ / "logs" / "r-10.log");
  EXPECT_EQ(log.find("aborted by a second signal"), std::string::npos) << log;

  // Once answered, the same stop id gets the same answer (from the agent: the vma_process
  // is gone by now).
  send_stop("r-10", "s-10");
  ASSERT_TRUE(eventually([&] { return log_.confirms("s-10").size() == 2; }));
  const auto repeat = log_.confirms("s-10").back();
  EXPECT_EQ(repeat.result, c->result);
  EXPECT_EQ(repeat.detail, c->detail);
  EXPECT_EQ(repeat.completed, c->completed);
  // A new stop for the ended mover: not running, saying how it ended.
  send_stop("r-10", "s-11");
  const auto later = confirmation("s-11", 5s);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->result, msg::outcome::not_running);
  EXPECT_NE(later->detail.find("exited earlier: exit 3"), std::string::npos) << later->detail;
}

TEST_F(VmaAgent, AgentRestartedWhileTheMoverDrainsSendsNoSecondSigterm) {
  constexpr std::uint64_t size = 16 * MiB;
  // A target that writes 0.5 MB/s: the drain of the 1 MiB of writes in flight takes about two
  // seconds, long enough for the agent to restart in the middle of it (reads in flight are
  // not waited for: a slow source would not do).
  auto src = slow_source("src", size, "10G");  // data, not zeroes: each range is written
  auto dst = slow_memory("dst", size, "4M");
  start_agent();
  const auto reply = start(start_request("r-16", src.uri(), dst.uri()));
  ASSERT_TRUE(reply.ok) << reply.error;
  ASSERT_TRUE(progress_reaches("r-16", 1 * MiB));
  send_stop("r-16", "s-16", msg::stop_mode::graceful, 20);
  // The record says SIGTERM went out before the agent goes away.
  ASSERT_TRUE(eventually([&] {
    return test::read_text(data_ / "movers" / "r-16.json").find("s-16") != std::string::npos;
  }));
  stop_agent();
  ASSERT_TRUE(alive(static_cast<pid_t>(reply.pid))) << "still draining";
  start_agent();
  send_stop("r-16", "s-16", msg::stop_mode::graceful, 20);  // the job actor re-sends it
  const auto c = confirmation("s-16", 20s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->result, msg::outcome::exited) << c->detail;
  EXPECT_NE(c->detail.find("checkpoint stopped"), std::string::npos) << c->detail;
  const auto log = test::read_text(data_ / "logs" / "r-16.log");
  EXPECT_EQ(log.find("aborted by a second signal"), std::string::npos) << log;
}

}  // namespace
}  // namespace vma_agent_test
}  // namespace mk::actors
