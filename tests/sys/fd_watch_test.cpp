// The descriptor watch: one thread that tells the end of many processes, each once, at once,
// and each time a pipe has new data.

#include "sys/fd_watch.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <future>
#include <thread>

#include "sys/child.hpp"

namespace mk::sys {
namespace {

using namespace std::chrono_literals;

child sleeper(const char* seconds) {
  spawn_options o;
  o.search_path = true;
  o.pidfd = true;
  auto c = spawn({"sleep", seconds}, o);
  EXPECT_TRUE(c) << (c ? "" : c.error().message);
  return std::move(*c);
}

void reap(const child& c) {
  int status = 0;
  ::waitpid(c.pid, &status, 0);
}

TEST(FdWatch, TellsEachEndOnceAndAtOnce) {
  auto w = fd_watch::make();
  ASSERT_TRUE(w) << w.error().message;
  auto a = sleeper("30");
  auto b = sleeper("30");
  std::promise<void> a_ended;
  std::atomic<int> a_calls{0}, b_calls{0};
  ASSERT_TRUE((*w)->once(a.pidfd.get(), [&] {
    if (a_calls++ == 0) a_ended.set_value();
  }));
  ASSERT_TRUE((*w)->once(b.pidfd.get(), [&] { ++b_calls; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(a_calls, 0) << "told before the process ended";
  ASSERT_EQ(::kill(a.pid, SIGKILL), 0);
  const auto sent = std::chrono::steady_clock::now();
  ASSERT_EQ(a_ended.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - sent, 1s);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(a_calls, 1);
  EXPECT_EQ(b_calls, 0) << "the other process still runs";
  reap(a);
  ::kill(b.pid, SIGKILL);
  reap(b);
}

TEST(FdWatch, AProcessAlreadyEndedIsToldAtOnce) {
  auto w = fd_watch::make();
  ASSERT_TRUE(w);
  auto c = sleeper("0");
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(c.pid), &info, WEXITED | WNOWAIT), 0);
  std::promise<void> told;
  ASSERT_TRUE((*w)->once(c.pidfd.get(), [&] { told.set_value(); }));
  EXPECT_EQ(told.get_future().wait_for(5s), std::future_status::ready);
  reap(c);
}

TEST(FdWatch, ACancelledWatchCallsNothingAndTheCallerKeepsItsPidfd) {
  auto w = fd_watch::make();
  ASSERT_TRUE(w);
  auto c = sleeper("30");
  std::atomic<int> calls{0};
  auto id = (*w)->once(c.pidfd.get(), [&] { ++calls; });
  ASSERT_TRUE(id);
  (*w)->cancel(*id);
  ::kill(c.pid, SIGKILL);
  reap(c);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(calls, 0);
  // The caller's own pidfd was copied, not taken: still open, and readable now.
  EXPECT_EQ(::fcntl(c.pidfd.get(), F_GETFD), FD_CLOEXEC);
}

TEST(FdWatch, ABadDescriptorIsAnErrorThatNamesIt) {
  auto w = fd_watch::make();
  ASSERT_TRUE(w);
  auto r = (*w)->once(-1, [] {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("watched descriptor"), std::string::npos) << r.error().message;
}

/// Waits until `calls` reaches `n` (at most 5 s), then a little longer, and says what it saw.
int settle(const std::atomic<int>& calls, int n) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (calls < n && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(50ms);
  return calls;
}

/// A watch and a non-blocking pipe to watch: the pipe is closed at the end.
class FdWatchPipe : public ::testing::Test {
 protected:
  void SetUp() override {
    auto w = fd_watch::make();
    ASSERT_TRUE(w);
    watch_ = std::move(*w);
    ASSERT_EQ(::pipe2(pipe_, O_NONBLOCK | O_CLOEXEC), 0);
  }
  void TearDown() override {
    for (const int fd : pipe_)
      if (fd >= 0) ::close(fd);
  }
  void close_writer() {
    ::close(pipe_[1]);
    pipe_[1] = -1;
  }
  bool write_line(const char* line) { return ::write(pipe_[1], line, 2) == 2; }

  std::unique_ptr<fd_watch> watch_;
  int pipe_[2] = {-1, -1};
  std::atomic<int> calls_{0};
};

TEST_F(FdWatchPipe, TellsEachArrivalAndTheWritersEnd) {
  auto id = watch_->each(pipe_[0], [&] {
    char buf[64];
    while (::read(pipe_[0], buf, sizeof buf) > 0) {  // as a callee must: read until EAGAIN
    }
    ++calls_;
  });
  ASSERT_TRUE(id);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(calls_, 0) << "told before anything arrived";
  ASSERT_TRUE(write_line("a\n"));
  EXPECT_EQ(settle(calls_, 1), 1) << "one line, one call";
  ASSERT_TRUE(write_line("b\n"));
  EXPECT_EQ(settle(calls_, 2), 2) << "each arrival after a read is told again";
  close_writer();
  EXPECT_EQ(settle(calls_, 3), 3) << "the writer's end is told";
  watch_->cancel(*id);
}

TEST_F(FdWatchPipe, ACancelledWatchCallsNothingMore) {
  auto id = watch_->each(pipe_[0], [&] { ++calls_; });
  ASSERT_TRUE(id);
  watch_->cancel(*id);
  ASSERT_TRUE(write_line("a\n"));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(calls_, 0);
}

}  // namespace
}  // namespace mk::sys
