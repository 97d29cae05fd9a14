// The mover supervisor against the real `migratekit copy` and real nbdkit servers: a copy that
// completes, a graceful stop, a frozen mover killed after its grace, a mover adopted by a
// second supervisor (an agent restart), and stops that find no mover.

#include "agent/mover/mover_process.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <thread>

#include "support/files.hpp"
#include "support/nbdkit.hpp"
#include "support/temp_dir.hpp"

namespace mk::vma {
namespace {

using namespace std::chrono_literals;
using test::nbdkit_server;

constexpr std::uint64_t MiB = 1 << 20;

class MoverProcess : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "mover stderr:\n" << test::read_text(dir_ / "mover.err");
      std::cerr << "checkpoint:\n" << test::read_text(dir_ / "cp.json") << "\n";
    }
  }

  /// `nbdkit pattern` of `size` bytes, slowed to `rate` (bits per second, after the rate
  /// filter's burst), so that a copy can be caught midway.
  nbdkit_server source(std::uint64_t size, const std::string& rate) {
    return nbdkit_server::start(dir_.path(), "src", {"rate"},
                                {"pattern", std::to_string(size), "rate=" + rate});
  }
  nbdkit_server target(std::uint64_t size) {
    return nbdkit_server::start(dir_.path(), "dst", {}, {"memory", std::to_string(size)});
  }

  mover_spec spec(const nbdkit_server& src, const nbdkit_server& dst) const {
    mover_spec s;
    s.binary = MK_MIGRATEKIT_PATH;
    s.source = src.uri();
    s.target = dst.uri();
    s.checkpoint = dir_ / "cp.json";
    s.stderr_log = dir_ / "mover.err";
    s.extra_args = {"--requests", "4", "--request-size", "262144", "--drain-timeout", "10"};
    return s;
  }

  /// Polls until the mover reports at least `bytes` done; false if it ended or time ran out.
  static bool wait_for_bytes(mover_process& m, std::uint64_t bytes, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto p = m.poll_progress(); p && p->bytes_done >= bytes) return true;
      auto ended = m.tick();
      if (!ended || *ended) return false;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  test::temp_dir dir_;
};

TEST_F(MoverProcess, ProgressGrowsUntilTheCopyCompletes) {
  constexpr std::uint64_t size = 32 * MiB;
  auto src = source(size, "64M");
  auto dst = target(size);
  auto m = mover_process::start(spec(src, dst));
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_FALSE(m->adopted());
  EXPECT_GT(m->identity().pid, 0);
  EXPECT_GT(m->identity().start_time, 0u);

  std::vector<std::uint64_t> seen;
  std::optional<outcome> end;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!end && std::chrono::steady_clock::now() < deadline) {
    if (auto p = m->poll_progress(); p && (seen.empty() || seen.back() != p->bytes_done)) {
      EXPECT_EQ(p->bytes_total, size);
      seen.push_back(p->bytes_done);
    }
    auto r = m->wait_exit(100ms);
    ASSERT_TRUE(r) << r.error().message;
    end = *r;
  }
  ASSERT_TRUE(end) << "the copy did not end in 30 s";
  EXPECT_EQ(end->what, outcome::kind::exited) << end->detail;
  EXPECT_EQ(end->exit_code, 0) << end->detail;
  EXPECT_EQ(end->checkpoint_state, nbd::copy_state::completed);
  ASSERT_GE(seen.size(), 2u) << "too few progress lines while copying";
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  const auto last = m->poll_progress();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->state, nbd::copy_state::completed);
  EXPECT_EQ(last->bytes_done, size);
  EXPECT_EQ(m->malformed_lines(), 0u);
}

TEST_F(MoverProcess, GracefulStopMidCopyExitsThreeWithCheckpointStopped) {
  constexpr std::uint64_t size = 64 * MiB;
  auto src = source(size, "40M");
  auto dst = target(size);
  auto m = mover_process::start(spec(src, dst));
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_TRUE(wait_for_bytes(*m, 4 * MiB, 20s));

  auto ack = m->request_stop(false, 10s);
  ASSERT_TRUE(ack) << ack.error().message;
  EXPECT_FALSE(*ack) << "the mover was running";
  auto end = m->wait_exit(15s);
  ASSERT_TRUE(end) << end.error().message;
  ASSERT_TRUE(*end) << "no exit within the grace";
  EXPECT_EQ((*end)->what, outcome::kind::exited) << (*end)->detail;
  EXPECT_EQ((*end)->exit_code, 3) << (*end)->detail;
  EXPECT_EQ((*end)->checkpoint_state, nbd::copy_state::stopped);
  const auto last = m->poll_progress();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->state, nbd::copy_state::stopped);
  EXPECT_LT(last->bytes_done, size);
}

TEST_F(MoverProcess, FrozenMoverIsKilledWhenTheGraceExpires) {
  constexpr std::uint64_t size = 64 * MiB;
  auto src = source(size, "40M");
  auto dst = target(size);
  auto m = mover_process::start(spec(src, dst));
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_TRUE(wait_for_bytes(*m, 1 * MiB, 20s));
  // Frozen, it cannot act on SIGTERM; only SIGKILL ends it.
  ASSERT_EQ(::kill(m->identity().pid, SIGSTOP), 0);

  const auto asked = std::chrono::steady_clock::now();
  auto ack = m->request_stop(false, 1s, asked);
  ASSERT_TRUE(ack) << ack.error().message;
  EXPECT_FALSE(*ack);
  auto end = m->wait_exit(10s);
  ASSERT_TRUE(end) << end.error().message;
  ASSERT_TRUE(*end) << "not killed";
  const auto took = std::chrono::steady_clock::now() - asked;
  EXPECT_GE(took, 1s) << "killed before the grace was over";
  EXPECT_LT(took, 5s);
  EXPECT_EQ((*end)->what, outcome::kind::killed) << (*end)->detail;
  EXPECT_EQ((*end)->term_signal, SIGKILL);
}

TEST_F(MoverProcess, ForceStopKillsAtOnce) {
  constexpr std::uint64_t size = 64 * MiB;
  auto src = source(size, "40M");
  auto dst = target(size);
  auto m = mover_process::start(spec(src, dst));
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_TRUE(wait_for_bytes(*m, 1 * MiB, 20s));
  auto ack = m->request_stop(true, 30s);
  ASSERT_TRUE(ack) << ack.error().message;
  auto end = m->wait_exit(5s);
  ASSERT_TRUE(end && *end);
  EXPECT_EQ((*end)->what, outcome::kind::killed) << (*end)->detail;
}

TEST_F(MoverProcess, AdoptedAfterAnAgentRestartThenStopped) {
  constexpr std::uint64_t size = 64 * MiB;
  auto src = source(size, "40M");
  auto dst = target(size);
  auto first = mover_process::start(spec(src, dst));
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(wait_for_bytes(*first, 2 * MiB, 20s));
  // The agent "restarts": its handle lets the mover go and only the identity is kept.
  const auto id = first->detach();
  first = std::unexpected(error{errc::invalid, "gone"});
  ASSERT_EQ(::kill(id.pid, 0), 0) << "releasing the handle must not end the mover";
  std::this_thread::sleep_for(600ms);  // it writes to a closed pipe now: it must carry on
  ASSERT_EQ(::kill(id.pid, 0), 0);

  auto second = mover_process::adopt(id, dir_ / "cp.json");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_TRUE(second->adopted());
  EXPECT_EQ(second->identity(), id);
  EXPECT_FALSE(second->poll_progress()) << "an adopted mover has no progress pipe";

  auto ack = second->request_stop(false, 10s);
  ASSERT_TRUE(ack) << ack.error().message;
  EXPECT_FALSE(*ack);
  auto end = second->wait_exit(15s);
  ASSERT_TRUE(end) << end.error().message;
  ASSERT_TRUE(*end);
  EXPECT_EQ((*end)->what, outcome::kind::exited) << (*end)->detail;
  EXPECT_EQ((*end)->checkpoint_state, nbd::copy_state::stopped) << (*end)->detail;
}

// A real restart: the mover's parent is gone, so it is nobody's child we can wait for, and
// its outcome comes from its checkpoint alone.
TEST_F(MoverProcess, AdoptedOrphanEndsByItsCheckpoint) {
  constexpr std::uint64_t size = 64 * MiB;
  auto src = source(size, "40M");
  auto dst = target(size);
  const auto s = spec(src, dst);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  // The "previous agent": starts the mover, hands over its identity, and exits.
  const pid_t agent = ::fork();
  ASSERT_GE(agent, 0);
  if (agent == 0) {
    ::close(fds[0]);
    auto m = mover_process::start(s);
    proc_identity id;
    if (m) id = m->detach();
    const bool sent = ::write(fds[1], &id, sizeof id) == sizeof id;
    ::_exit(m && sent ? 0 : 1);
  }
  ::close(fds[1]);
  proc_identity id;
  const auto n = ::read(fds[0], &id, sizeof id);
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(agent, &status, 0), agent);
  ASSERT_EQ(n, static_cast<ssize_t>(sizeof id));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_GT(id.pid, 0);

  auto m = mover_process::adopt(id, dir_ / "cp.json");
  ASSERT_TRUE(m) << m.error().message;
  // Let it copy a little before the stop: until its first checkpoint, which it writes once it
  // runs (a mover built with sanitizers takes longer than 500 ms to start; a SIGTERM before
  // its handler is installed ends it without one).
  for (int i = 0; i < 300 && !std::filesystem::exists(dir_ / "cp.json"); ++i)
    std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(std::filesystem::exists(dir_ / "cp.json")) << "the mover wrote no checkpoint in 15 s";
  auto ack = m->request_stop(false, 10s);
  ASSERT_TRUE(ack) << ack.error().message;
  EXPECT_FALSE(*ack);
  auto end = m->wait_exit(15s);
  ASSERT_TRUE(end) << end.error().message;
  ASSERT_TRUE(*end);
  EXPECT_EQ((*end)->what, outcome::kind::exited) << (*end)->detail;
  EXPECT_FALSE((*end)->exit_code) << "not our child: its exit status is not ours to know";
  EXPECT_EQ((*end)->checkpoint_state, nbd::copy_state::stopped) << (*end)->detail;
}

TEST_F(MoverProcess, AdoptRefusesAnotherStartTime) {
  constexpr std::uint64_t size = 64 * MiB;
  auto src = source(size, "40M");
  auto dst = target(size);
  auto m = mover_process::start(spec(src, dst));
  ASSERT_TRUE(m) << m.error().message;
  auto id = m->identity();
  id.start_time += 1;
  auto other = mover_process::adopt(id, dir_ / "cp.json");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, errc::not_running) << other.error().message;
  // The refused adoption touched nothing: the mover still runs, and stops when asked.
  auto ack = m->request_stop(true, 0ms);
  ASSERT_TRUE(ack) << ack.error().message;
  EXPECT_FALSE(*ack);
  auto end = m->wait_exit(5s);
  ASSERT_TRUE(end && *end);
}

TEST_F(MoverProcess, StopAfterTheMoverEndedIsNotRunning) {
  constexpr std::uint64_t size = 1 * MiB;
  auto src = source(size, "1G");
  auto dst = target(size);
  auto m = mover_process::start(spec(src, dst));
  ASSERT_TRUE(m) << m.error().message;
  // Wait for the end without reaping it, so that the stop is the first to notice.
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(m->identity().pid), &info, WEXITED | WNOWAIT), 0);

  auto ack = m->request_stop(false, 1s);
  ASSERT_TRUE(ack) << ack.error().message;
  ASSERT_TRUE(*ack);
  EXPECT_EQ((*ack)->what, outcome::kind::not_running);
  EXPECT_EQ((*ack)->exit_code, 0) << (*ack)->detail;
  EXPECT_EQ((*ack)->checkpoint_state, nbd::copy_state::completed);
  // Asked again, the same answer; and the handle reports it as its outcome.
  auto again = m->request_stop(true, 0ms);
  ASSERT_TRUE(again && *again);
  EXPECT_EQ((*again)->what, outcome::kind::not_running);
  ASSERT_TRUE(m->result_outcome());
  EXPECT_EQ(m->result_outcome()->what, outcome::kind::not_running);
}

TEST_F(MoverProcess, AdoptingAnEndedMoverIsRefused) {
  constexpr std::uint64_t size = 1 * MiB;
  auto src = source(size, "1G");
  auto dst = target(size);
  auto m = mover_process::start(spec(src, dst));
  ASSERT_TRUE(m) << m.error().message;
  auto end = m->wait_exit(20s);
  ASSERT_TRUE(end && *end);
  EXPECT_EQ((*end)->exit_code, 0) << (*end)->detail;
  auto other = mover_process::adopt(m->identity(), dir_ / "cp.json");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, errc::not_running) << other.error().message;
}

/// Open descriptors of this process.
std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

/// Whether `pid` is gone for good: reaped, not a zombie left behind.
bool reaped(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 &&
         errno == ECHILD;
}

TEST_F(MoverProcess, LeavesNoDescriptorsOrZombies) {
  constexpr std::uint64_t size = 64 * MiB;
  auto src = source(size, "40M");
  auto dst = target(size);
  const auto before = open_fds();
  pid_t stopped = -1, dropped = -1;
  {
    auto m = mover_process::start(spec(src, dst));
    ASSERT_TRUE(m) << m.error().message;
    stopped = m->identity().pid;
    ASSERT_TRUE(m->request_stop(true, 0ms));
    auto end = m->wait_exit(5s);
    ASSERT_TRUE(end && *end);
  }
  {
    // Dropped while it runs, without detach: killed and reaped by the destructor.
    auto m = mover_process::start(spec(src, dst));
    ASSERT_TRUE(m) << m.error().message;
    dropped = m->identity().pid;
  }
  EXPECT_EQ(open_fds(), before);
  EXPECT_TRUE(reaped(stopped));
  EXPECT_TRUE(reaped(dropped));
}

TEST_F(MoverProcess, StartFailsWhenTheBinaryCannotRun) {
  const auto before = open_fds();
  mover_spec s;
  s.binary = dir_ / "no-such-migratekit";
  s.source = "a";
  s.target = "b";
  s.checkpoint = dir_ / "cp.json";
  s.stderr_log = dir_ / "mover.err";
  auto m = mover_process::start(s);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, errc::system);
  EXPECT_NE(m.error().message.find("No such file"), std::string::npos) << m.error().message;
  EXPECT_EQ(open_fds(), before);
}

}  // namespace
}  // namespace mk::vma
