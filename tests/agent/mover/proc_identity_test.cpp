// A process's identity: its pid and the start time /proc records for it.

#include "agent/mover/proc_identity.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "sys/pidfd.hpp"

namespace mk::vma {
namespace {

TEST(ProcIdentity, OpensThisProcessByPidAndStartTime) {
  const auto start = read_start_time(::getpid());
  ASSERT_TRUE(start) << start.error().message;
  EXPECT_GT(*start, 0u);
  const auto fd = open_identified({::getpid(), *start});
  ASSERT_TRUE(fd) << fd.error().message;
  EXPECT_EQ(sys::pidfd_exited(fd->get()), false);
}

TEST(ProcIdentity, RefusesAnotherStartTime) {
  const auto start = read_start_time(::getpid());
  ASSERT_TRUE(start);
  const auto fd = open_identified({::getpid(), *start + 1});
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code, errc::not_running) << fd.error().message;
}

TEST(ProcIdentity, RefusesBadAndMissingPids) {
  EXPECT_EQ(open_identified({0, 1}).error().code, errc::invalid);
  // Above the kernel's largest pid_max (2^22): never a process.
  EXPECT_EQ(open_identified({(1 << 22) + 1, 1}).error().code, errc::not_running);
  EXPECT_EQ(read_start_time((1 << 22) + 1).error().code, errc::not_running);
}

}  // namespace
}  // namespace mk::vma
