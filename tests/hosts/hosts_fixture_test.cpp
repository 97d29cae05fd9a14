// The hosts fixture (tests/support/hosts.hpp) leaves nothing behind even when the test that
// made it is killed before its destructors run (a ctest timeout kills with SIGKILL): the next
// hosts made on the machine removes the namespaces and the processes of the dead one.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "support/hosts.hpp"

namespace mk::test {
namespace {

using namespace std::chrono_literals;

bool exists_ns(const std::string& name) { return std::filesystem::exists("/run/netns/" + name); }

/// Runs, and is no zombie (the killed child's orphan is reaped by whoever reaps orphans here).
bool runs(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

/// A child process that makes hosts with one host running `sleep`, says their namespaces and
/// the sleep's pid on `fd`, then waits to be killed.
[[noreturn]] void abandoning_child(int fd) {
  try {
    hosts net({{"lost", 9}});
    auto& sleeper = net.run("lost", {"sleep", "600"});
    std::ostringstream said;
    said << sleeper.pid();
    for (const auto& ns : net.namespaces()) said << ' ' << ns;
    said << '\n';
    const auto text = said.str();
    if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) ::_exit(2);
    for (;;) ::pause();
  } catch (...) {
    ::_exit(1);
  }
}

TEST(hosts_fixture, the_hosts_of_a_test_killed_before_its_teardown_go_with_the_next_hosts) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    abandoning_child(pipe_fds[1]);
  }
  ::close(pipe_fds[1]);
  std::string said;
  char buf[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) {
    said.append(buf, static_cast<std::size_t>(n));
    if (said.find('\n') != std::string::npos) break;
  }
  ::close(pipe_fds[0]);
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_FALSE(said.empty()) << "the child made no hosts (status " << status << ")";

  std::istringstream in(said);
  pid_t sleeper = 0;
  in >> sleeper;
  std::vector<std::string> left;
  for (std::string ns; in >> ns;) left.push_back(ns);
  ASSERT_EQ(left.size(), 2u) << said;
  // Killed before its teardown: its namespaces and the process in one are still there.
  for (const auto& ns : left) EXPECT_TRUE(exists_ns(ns)) << ns;
  EXPECT_TRUE(runs(sleeper)) << "the sleep in the abandoned host";

  {
    hosts next({{"next", 10}});
    for (const auto& ns : left) EXPECT_FALSE(exists_ns(ns)) << ns << " left behind";
    for (const auto& ns : next.namespaces()) EXPECT_TRUE(exists_ns(ns)) << ns;
  }
  // SIGKILL is delivered at once, yet the state may take a moment to show it.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (runs(sleeper) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(runs(sleeper)) << "the sleep of the abandoned host still runs";
}

}  // namespace
}  // namespace mk::test
