#include "messages/subjects.hpp"

#include <gtest/gtest.h>

namespace mk::msg {
namespace {

TEST(Subjects, FollowTheSpec) {
  subjects s("mk");
  EXPECT_EQ(s.job_stop("r-7f3a9c21"), "mk.job.r-7f3a9c21.stop");
  EXPECT_EQ(s.job_stopped("r-1"), "mk.job.r-1.stopped");
  EXPECT_EQ(s.mover_stop("vma-a", "r-1"), "mk.vma.vma-a.job.r-1.stop");
  EXPECT_EQ(s.mover_stopped("vma-a", "r-1"), "mk.vma.vma-a.job.r-1.stopped");
  EXPECT_EQ(s.mover_progress("vma-a", "r-1"), "mk.vma.vma-a.job.r-1.progress");
  EXPECT_EQ(s.agent_mover_stops("vma-a"), "mk.vma.vma-a.job.*.stop");
  EXPECT_EQ(s.all_movers_stopped(), "mk.vma.*.job.*.stopped");
  EXPECT_EQ(s.all_movers_progress(), "mk.vma.*.job.*.progress");
  EXPECT_EQ(s.agent_of("mk.vma.vma-a.job.r-1.progress"), "vma-a");
  EXPECT_EQ(s.agent_of("mk.vma.local.hello"), "local");
  EXPECT_FALSE(s.agent_of("mk.job.r-1.stopped"));
  EXPECT_FALSE(s.agent_of("mkx.vma.a.hello"));
  EXPECT_FALSE(s.agent_of("mk.vma.Bad.hello"));
  EXPECT_EQ(s.job_state("r-1"), "mk.job.r-1.state");
  EXPECT_EQ(s.vma_start("local"), "mk.vma.local.start");
  EXPECT_EQ(s.vma_status("local"), "mk.vma.local.status");
  EXPECT_EQ(s.vma_hello("local"), "mk.vma.local.hello");
  EXPECT_EQ(s.maintenance(), "mk.maintenance");
  EXPECT_EQ(s.control_stop(), "mk.control.stop");
  EXPECT_EQ(s.control_replicate(), "mk.control.replicate");
  EXPECT_EQ(s.control_resume(), "mk.control.resume");
  EXPECT_EQ(subjects("test9").all_stopped(), "test9.job.*.stopped");
  EXPECT_EQ(subjects("test9").all_stops(), "test9.job.*.stop");
}

TEST(Subjects, BadIdsNeverBecomeSubjects) {
  subjects s("mk");
  for (const char* bad : {"", "R-1", "-r", "r.1", "r*", "r>", "a b", "../x", "r_1",
                          "a234567890123456789012345678901234567890123456789012345678901234"}) {
    EXPECT_FALSE(valid_id(bad)) << bad;
    EXPECT_FALSE(s.job_stop(bad)) << bad;
    EXPECT_FALSE(s.vma_start(bad)) << bad;
    EXPECT_FALSE(s.mover_stop(bad, "r-1")) << bad;
    EXPECT_FALSE(s.mover_progress("vma-a", bad)) << bad;
    EXPECT_FALSE(s.agent_mover_stops(bad)) << bad;
  }
  EXPECT_TRUE(valid_id("a23456789012345678901234567890123456789012345678901234567890123"));
  EXPECT_TRUE(valid_id("0"));
}

}  // namespace
}  // namespace mk::msg
