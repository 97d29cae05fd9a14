// The stop protocol's rules, event by event, on a clock the test moves (docs/stop-protocol.md).
#include "models/stop_protocol.hpp"

#include <gtest/gtest.h>

namespace mk::actors {
namespace {

using namespace std::chrono_literals;
using msg::outcome;
using msg::participant;
using sp = stop_protocol;

struct StopProtocol : ::testing::Test {
  sp::time_point t0 = sp::clock::time_point{} + 1000h;
  sp::timing timing{};

  static bool sends_to(const std::vector<sp::send_stop>& out, participant p) {
    return std::any_of(out.begin(), out.end(), [&](const auto& s) { return s.to == p; });
  }

  /// Confirms the three quiesce participants at t0 + 1 s; returns what that sent.
  static std::vector<sp::send_stop> quiesce_ok(sp& s, sp::time_point t, bool completed = false) {
    s.confirm(participant::scheduler, outcome::ok, "", t);
    s.confirm(participant::poller, outcome::ok, "final snapshot", t);
    return s.confirm(participant::vma_process, outcome::exited, "exit 3", t, completed);
  }
};

TEST_F(StopProtocol, EveryParticipantConfirmsAndTheVolumeIsKept) {
  sp s({}, timing, t0);
  auto first = s.begin();
  ASSERT_EQ(first.size(), 3u);
  EXPECT_FALSE(sends_to(first, participant::volume)) << "the volume waits for the mover";
  auto out = quiesce_ok(s, t0 + 1s);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, participant::volume);
  EXPECT_EQ(out[0].volumes, msg::volume_action::keep);
  EXPECT_EQ(s.current(), sp::phase::volumes);
  s.confirm(participant::volume, outcome::ok, "flushed, detached", t0 + 2s);
  ASSERT_TRUE(s.settled());
  EXPECT_EQ(s.settled()->state, msg::job_state::stopped);
  EXPECT_EQ(s.outcome_of(participant::poller), outcome::ok);
  EXPECT_EQ(s.detail_of(participant::poller), "final snapshot");
}

TEST_F(StopProtocol, VolumesDeleteSettlesCancelled) {
  sp s({msg::stop_mode::graceful, msg::volume_action::remove}, timing, t0);
  s.begin();
  auto out = quiesce_ok(s, t0 + 1s);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].volumes, msg::volume_action::remove);
  s.confirm(participant::volume, outcome::ok, "deleted", t0 + 2s);
  EXPECT_EQ(s.settled()->state, msg::job_state::cancelled);
}

TEST_F(StopProtocol, ASilentParticipantIsAskedEverySecondThenFailsTheStop) {
  sp s({}, timing, t0);
  s.begin();
  s.confirm(participant::scheduler, outcome::ok, "", t0 + 100ms);
  s.confirm(participant::vma_process, outcome::exited, "exit 3", t0 + 200ms);
  s.confirm(participant::volume, outcome::ok, "", t0 + 300ms);
  int resent = 0;
  auto deadline = t0 + timing.grace + timing.quiesce_extra;
  for (auto t = t0 + 100ms; t < deadline; t += 100ms) {
    auto out = s.tick(t);
    for (const auto& send : out) {
      EXPECT_EQ(send.to, participant::poller);
      ++resent;
    }
    ASSERT_FALSE(s.settled()) << "settled early";
  }
  EXPECT_GE(resent, 43);  // once a second for 45 s
  EXPECT_LE(resent, 45);
  s.tick(deadline);
  ASSERT_TRUE(s.settled());
  EXPECT_EQ(s.settled()->state, msg::job_state::failed);
  EXPECT_EQ(s.settled()->error, "stop_unconfirmed: poller");
}

TEST_F(StopProtocol, ASilentVmaProcessNeverLetsTheVolumeAct) {
  sp s({msg::stop_mode::graceful, msg::volume_action::remove}, timing, t0);
  s.begin();
  s.confirm(participant::scheduler, outcome::ok, "", t0);
  s.confirm(participant::poller, outcome::ok, "", t0);
  for (auto t = t0; t <= t0 + 46s; t += 250ms)
    EXPECT_FALSE(sends_to(s.tick(t), participant::volume));
  ASSERT_TRUE(s.settled());
  EXPECT_EQ(s.settled()->error, "stop_unconfirmed: vma_process");
  EXPECT_FALSE(s.outcome_of(participant::volume));
  // A confirmation after the deadline changes nothing, and still asks nothing of the volume.
  EXPECT_TRUE(s.confirm(participant::vma_process, outcome::killed, "", t0 + 50s).empty());
  EXPECT_EQ(s.settled()->state, msg::job_state::failed);
}

TEST_F(StopProtocol, ASilentVolumeFailsAfterItsOwnDeadline) {
  sp s({}, timing, t0);
  s.begin();
  quiesce_ok(s, t0 + 5s);
  EXPECT_FALSE(s.tick(t0 + 5s + timing.volumes_deadline - 1ms).empty());
  EXPECT_FALSE(s.settled());
  s.tick(t0 + 5s + timing.volumes_deadline);
  ASSERT_TRUE(s.settled());
  EXPECT_EQ(s.settled()->error, "stop_unconfirmed: volume");
}

TEST_F(StopProtocol, ForceEscalatesTheStopInProgress) {
  sp s({}, timing, t0);
  s.begin();
  auto out = s.escalate(t0 + 3s);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, participant::vma_process);
  EXPECT_EQ(out[0].mode, msg::stop_mode::force);
  EXPECT_TRUE(s.escalate(t0 + 4s).empty()) << "already forced";
  // Re-sends after the escalation carry force too.
  for (const auto& send : s.tick(t0 + 5s)) EXPECT_EQ(send.mode, msg::stop_mode::force);
}

TEST_F(StopProtocol, CompletionRacingAStopSettlesCompletedAndKeepsTheVolume) {
  sp s({msg::stop_mode::graceful, msg::volume_action::remove}, timing, t0);
  s.begin();
  auto out = quiesce_ok(s, t0 + 1s, /*completed=*/true);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].volumes, msg::volume_action::keep) << "a finished copy is never deleted";
  s.confirm(participant::volume, outcome::ok, "", t0 + 2s);
  EXPECT_EQ(s.settled()->state, msg::job_state::completed);
}

TEST_F(StopProtocol, AQueuedJobWithNoMoverStops) {
  sp s({}, timing, t0);
  s.begin();
  s.confirm(participant::scheduler, outcome::ok, "trigger dropped", t0);
  s.confirm(participant::poller, outcome::not_running, "", t0);
  auto out = s.confirm(participant::vma_process, outcome::not_running, "no mover", t0);
  EXPECT_TRUE(sends_to(out, participant::volume));
  s.confirm(participant::volume, outcome::not_running, "no volume yet", t0);
  EXPECT_EQ(s.settled()->state, msg::job_state::stopped);
}

TEST_F(StopProtocol, AVmaProcessThatCannotStopTheMoverFailsWithoutTouchingTheVolume) {
  sp s({}, timing, t0);
  s.begin();
  auto out = s.confirm(participant::vma_process, outcome::failed, "EPERM", t0 + 1s);
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(s.settled());
  EXPECT_EQ(s.settled()->error, "stop_failed: vma_process: EPERM");
}

TEST_F(StopProtocol, ConfirmationsAreIdempotentAndOnlyFromThoseAsked) {
  sp s({}, timing, t0);
  s.begin();
  EXPECT_TRUE(s.confirm(participant::volume, outcome::ok, "", t0).empty()) << "not asked yet";
  EXPECT_FALSE(s.outcome_of(participant::volume));
  EXPECT_FALSE(quiesce_ok(s, t0).empty());
  EXPECT_TRUE(s.confirm(participant::vma_process, outcome::killed, "again", t0).empty());
  EXPECT_EQ(s.outcome_of(participant::vma_process), outcome::exited);
}

TEST_F(StopProtocol, AShorterGraceShortensTheQuiesceDeadline) {
  timing.grace = 5s;
  sp s({}, timing, t0);
  s.begin();
  EXPECT_EQ(s.next_deadline(), t0 + 1s);  // the first re-send
  s.tick(t0 + 19s);
  EXPECT_FALSE(s.settled());
  s.tick(t0 + 20s);
  ASSERT_TRUE(s.settled());
  EXPECT_EQ(s.settled()->error, "stop_unconfirmed: vma_process");
}

}  // namespace
}  // namespace mk::actors
