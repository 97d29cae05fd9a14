// Children started from an argument vector, the child process a thread of its own reaps, and
// pidfds.

#include "sys/child.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>

#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "sys/child_process.hpp"
#include "sys/pidfd.hpp"

namespace mk::sys {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// The default options with one change.
spawn_options searching_path() {
  spawn_options o;
  o.search_path = true;
  return o;
}
spawn_options with_pidfd() {
  spawn_options o;
  o.pidfd = true;
  return o;
}
spawn_options leading(spawn_options::group g) {
  spawn_options o;
  o.leads = g;
  return o;
}
spawn_options writing(output out, output err = output::null()) {
  spawn_options o;
  o.out = std::move(out);
  o.err = std::move(err);
  return o;
}

/// The wait status of a child that `spawn` started.
int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

TEST(Spawn, RunsTrueAndFalseWithTheirStatuses) {
  auto yes = spawn({"/bin/true"}, {});
  ASSERT_TRUE(yes) << yes.error().message;
  EXPECT_EQ(describe_wait_status(reap(yes->pid)), "exit 0");
  auto no = spawn({"/bin/false"}, {});
  ASSERT_TRUE(no) << no.error().message;
  EXPECT_EQ(describe_wait_status(reap(no->pid)), "exit 1");
}

TEST(Spawn, AnAbsentProgramIsAClearError) {
  auto r = spawn({"/nonexistent/program", "--flag"}, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_EQ(r.error().message, "exec /nonexistent/program: No such file or directory");
  // Reaped already: no child of ours is left.
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);

  auto searched = spawn({"no-such-program-of-migratekit"}, searching_path());
  ASSERT_FALSE(searched);
  EXPECT_EQ(searched.error().message,
            "exec no-such-program-of-migratekit: No such file or directory");
  EXPECT_FALSE(spawn({}, {}));
}

TEST(Spawn, SearchesPathOnlyWhenAsked) {
  auto found = spawn({"true"}, searching_path());
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(describe_wait_status(reap(found->pid)), "exit 0");
  auto path_only = spawn({"true"}, {});
  ASSERT_FALSE(path_only);
  EXPECT_EQ(path_only.error().code, ENOENT);
}

TEST(Spawn, TruncatesOrAppendsToItsOutputFiles) {
  test::temp_dir dir;
  std::ofstream(dir / "out") << "old\n";
  std::ofstream(dir / "err") << "before\n";
  auto c =
      spawn({"/bin/sh", "-c", "echo out; echo err >&2"},
            writing(output::file(dir / "out", false, 0600), output::file(dir / "err", true, 0600)));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(describe_wait_status(reap(c->pid)), "exit 0");
  EXPECT_EQ(test::read_text(dir / "out"), "out\n");
  EXPECT_EQ(test::read_text(dir / "err"), "before\nerr\n");
}

TEST(Spawn, TheChildGetsNoDescriptorOfOursButItsStandardThree) {
  test::temp_dir dir;
  // Without O_CLOEXEC, as libraries leave them: the child must not get it all the same.
  const int leaked = ::open(dir.path().c_str(), O_RDONLY);
  ASSERT_GE(leaked, 3);
  auto c = spawn({"/bin/sleep", "30"}, with_pidfd());
  ::close(leaked);
  ASSERT_TRUE(c) << c.error().message;
  const auto fds = [pid = c->pid] {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
      names.insert(e.path().filename().string());
    return names;
  };
  // Looked at once sleep sleeps: before its exec the child is still ours, and past it sleep
  // opens files of its own for a moment (its locale). A CI run read {0,1,2} between the two.
  const auto sleeping = [pid = c->pid] {
    return test::read_text("/proc/" + std::to_string(pid) + "/stat").find("(sleep) S") !=
           std::string::npos;
  };
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!(sleeping() && fds() == std::set<std::string>{"0", "1", "2"}) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(sleeping());
  EXPECT_EQ(fds(), (std::set<std::string>{"0", "1", "2"}));
  ASSERT_TRUE(pidfd_send_signal(c->pidfd.get(), SIGKILL));
  reap(c->pid);
}

TEST(Spawn, RefusesAnOutputFileItCannotOpen) {
  test::temp_dir dir;
  auto r = spawn({"/bin/true"}, writing(output::file(dir / "missing" / "out", true, 0600)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "open " + (dir / "missing" / "out").string() + ": No such file or directory");
}

TEST(Spawn, LeadsAProcessGroupOrASessionWhenAsked) {
  // Whether the child leads its process group, and its session: read while it is a zombie.
  const auto leads = [](spawn_options::group g) {
    auto c = spawn({"/bin/true"}, leading(g));
    EXPECT_TRUE(c) << c.error().message;
    if (!c) return std::pair{false, false};
    siginfo_t info{};
    ::waitid(P_PID, static_cast<id_t>(c->pid), &info, WEXITED | WNOWAIT);
    const std::pair got{::getpgid(c->pid) == c->pid, ::getsid(c->pid) == c->pid};
    reap(c->pid);
    return got;
  };
  EXPECT_EQ(leads(spawn_options::group::ours), std::pair(false, false));
  EXPECT_EQ(leads(spawn_options::group::own_group), std::pair(true, false));
  EXPECT_EQ(leads(spawn_options::group::own_session), std::pair(true, true));
}

TEST(Spawn, APidfdFollowsTheChild) {
  auto c = spawn({"/bin/sleep", "30"}, with_pidfd());
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(c->pidfd);
  EXPECT_EQ(pidfd_exited(c->pidfd.get()), false);
  EXPECT_EQ(pidfd_wait(c->pidfd.get(), 20ms), false);
  ASSERT_TRUE(pidfd_send_signal(c->pidfd.get(), SIGTERM));
  EXPECT_EQ(pidfd_wait(c->pidfd.get(), 10s), true);
  EXPECT_EQ(describe_wait_status(reap(c->pid)), "killed by signal 15");
  // Reaped, the process is gone for good: a signal cannot reach whoever has its pid now.
  auto sent = pidfd_send_signal(c->pidfd.get(), SIGTERM);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ESRCH);
}

TEST(Pidfd, OpeningOneForNoProcessIsESRCH) {
  auto fd = open_pidfd((1 << 22) + 1);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code, ESRCH);
}

TEST(ChildProcess, ReportsTheStatusesOfTrueAndFalse) {
  test::temp_dir dir;
  auto yes = child_process::spawn({"/bin/true"}, dir / "log", 0);
  ASSERT_TRUE(yes) << yes.error().message;
  auto status = (*yes)->wait_for(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(describe_wait_status(*status), "exit 0");
  EXPECT_FALSE((*yes)->running());

  auto no = child_process::spawn({"/bin/false"}, dir / "log",
                                 child_options{.death_signal = 0, .new_session = true});
  ASSERT_TRUE(no) << no.error().message;
  status = (*no)->wait_for(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(describe_wait_status(*status), "exit 1");
}

TEST(ChildProcess, AnAbsentProgramIsAClearError) {
  test::temp_dir dir;
  auto r = child_process::spawn({"/nonexistent/program"}, dir / "log", SIGTERM);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "exec /nonexistent/program: No such file or directory");
}

TEST(ChildProcess, KillsAndReapsAChildStillRunningWhenDestroyed) {
  test::temp_dir dir;
  auto c =
      child_process::spawn({"/bin/sh", "-c", "echo started; exec sleep 30"}, dir / "log", SIGKILL);
  ASSERT_TRUE(c) << c.error().message;
  const pid_t pid = (*c)->pid();
  EXPECT_TRUE((*c)->running());
  EXPECT_FALSE((*c)->wait_for(20ms));
  c->reset();
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

}  // namespace
}  // namespace mk::sys
