// The poller step by step: snapshots, stalls, exits, lost agents and its stop, on CAF's
// deterministic scheduler with agents that answer inline or stay silent.

#include "participants_fixture.hpp"

namespace mk::actors {
namespace participants_test {
namespace {

TEST_F(participants, poller_forwards_the_latest_snapshot_at_most_every_500ms_per_job) {
  auto poller = keep(spawn_poller(system_, oma_, registry(), quick_poller()));
  consume();
  publish_progress("r-1", 10);
  consume();
  auto snaps = snapshots();
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0].first, "r-1");
  EXPECT_EQ(snaps[0].second.bytes_done, 10u);
  EXPECT_EQ(snaps[0].second.hdr.from, "vma:local") << "the agent of the subject it came on";

  publish_progress("r-1", 20);
  publish_progress("r-1", 30);
  publish_progress("r-2", 5);  // another job has its own pace
  consume();
  snaps = snapshots();
  ASSERT_EQ(snaps.size(), 2u);
  EXPECT_EQ(snaps[1].first, "r-2");

  advance(499ms, 499ms);
  EXPECT_EQ(snapshots().size(), 2u) << "faster than every 500 ms";
  advance(1ms, 1ms);
  snaps = snapshots();
  ASSERT_EQ(snaps.size(), 3u);
  EXPECT_EQ(snaps[2].first, "r-1");
  EXPECT_EQ(snaps[2].second.bytes_done, 30u) << "the latest wins; 20 is skipped";
  advance(2s);
  EXPECT_EQ(snapshots().size(), 3u) << "nothing new, nothing sent";

  // An exit goes at once, whatever the pace.
  publish_progress("r-1", 40);
  consume();
  publish_progress("r-1", 40, msg::progress_state::exited);
  consume();
  auto ex = exits();
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].second.state, msg::progress_state::exited);

  auto latest = ask<msg::progress>(poller, get_atom::value, std::string("r-1"));
  ASSERT_TRUE(latest) << message_of(latest.error());
  EXPECT_EQ(std::get<0>(*latest).state, msg::progress_state::exited);
  auto none = ask<msg::progress>(poller, get_atom::value, std::string("r-9"));
  ASSERT_FALSE(none);
  EXPECT_EQ(code_of(none.error()), errc::not_found);
}

TEST_F(participants, poller_drops_malformed_progress_and_counts_it) {
  auto poller = keep(spawn_poller(system_, oma_, registry(), quick_poller()));
  consume();
  const std::vector<std::uint8_t> garbage{0xc1, 0x00, 0xff};
  ASSERT_TRUE(transport_->publish("mk.vma.local.job.r-1.progress", garbage));
  // Well-formed, but for another job than its subject says.
  msg::progress p;
  p.job = "r-2";
  ASSERT_TRUE(agent_->publish("mk.vma.local.job.r-1.progress", p));
  consume();
  EXPECT_TRUE(got_->empty());
  auto stats = ask<std::string>(poller, get_atom::value);
  ASSERT_TRUE(stats);
  EXPECT_EQ(json::parse(std::get<0>(*stats))["malformed"], 2);
}

TEST_F(participants, poller_reports_a_stall_once_until_progress_moves) {
  agent_answers("local");
  movers_ = {running("r-1", 100)};
  auto poller = keep(spawn_poller(system_, oma_, registry(), quick_poller()));
  caf::anon_send(poller, start_atom::value, std::string("r-1"), std::string("local"));
  consume();
  publish_progress("r-1", 100);
  consume();
  advance(55s);
  EXPECT_TRUE(stalls().empty());
  EXPECT_GE(status_requests_, 10);
  advance(5s);
  auto st = stalls();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].first, "r-1");
  EXPECT_EQ(st[0].second, 60u);
  advance(60s);
  EXPECT_EQ(stalls().size(), 1u) << "reported once";

  // It moves (seen in the agent's status as well as in progress), then stalls again.
  movers_ = {running("r-1", 200)};
  advance(5s);
  advance(55s);
  EXPECT_EQ(stalls().size(), 1u);
  advance(5s);
  EXPECT_EQ(stalls().size(), 2u);
  EXPECT_TRUE(losses().empty());
}

TEST_F(participants, poller_loses_the_jobs_of_an_agent_silent_for_missed_limit_polls) {
  agent_answers("local");
  silent_ = true;
  auto poller = keep(spawn_poller(system_, oma_, registry(), quick_poller()));
  caf::anon_send(poller, start_atom::value, std::string("r-1"), std::string("local"));
  caf::anon_send(poller, start_atom::value, std::string("r-2"), std::string("local"));
  // An agent nobody answers for at all (no responders) counts alike.
  caf::anon_send(poller, start_atom::value, std::string("r-3"), std::string("gone"));
  consume();
  advance(10s);
  EXPECT_EQ(status_requests_, 2);
  EXPECT_TRUE(losses().empty()) << "two misses are not yet lost";
  advance(5s);
  auto lost = losses();
  ASSERT_EQ(lost.size(), 3u);
  std::set<std::string> jobs;
  for (const auto& [job, why] : lost) {
    jobs.insert(job);
    EXPECT_NE(why.find("does not answer"), std::string::npos) << why;
  }
  EXPECT_EQ(jobs, (std::set<std::string>{"r-1", "r-2", "r-3"}));
  EXPECT_NE(lost[0].second.find("vma "), std::string::npos);
  advance(20s);
  EXPECT_EQ(losses().size(), 3u) << "reported once";

  // The agent is back and lists r-1 only: r-2's mover is gone.
  silent_ = false;
  movers_ = {running("r-1", 1)};
  advance(5s);
  advance(5s);
  lost = losses();
  ASSERT_EQ(lost.size(), 3u) << "r-2 was reported lost already";
  // Following again (a new run) starts afresh; not listed after the grace: lost.
  caf::anon_send(poller, start_atom::value, std::string("r-2"), std::string("local"));
  consume();
  advance(5s);
  EXPECT_EQ(losses().size(), 3u) << "within the list grace";
  advance(5s);
  lost = losses();
  ASSERT_EQ(lost.size(), 4u);
  EXPECT_EQ(lost[3].first, "r-2");
  EXPECT_EQ(lost[3].second, "vma local does not list a mover for job r-2");
}

// A run that starts on an agent the poller still counts as silent (its start was answered, the
// status polls of a network outage not yet) is not lost for the polls missed before it.
TEST_F(participants, poller_counts_a_new_runs_misses_from_its_start) {
  agent_answers("local");
  silent_ = true;
  auto poller = keep(spawn_poller(system_, oma_, registry(), quick_poller()));
  caf::anon_send(poller, start_atom::value, std::string("r-1"), std::string("local"));
  consume();
  advance(15s);
  ASSERT_EQ(losses().size(), 1u);
  caf::anon_send(poller, start_atom::value, std::string("r-2"), std::string("local"));
  consume();
  advance(5s);
  EXPECT_EQ(losses().size(), 1u) << "r-2 lost for polls missed before it started";
  advance(10s);
  ASSERT_EQ(losses().size(), 2u) << "silent for the whole limit since its start";
  EXPECT_EQ(losses()[1].first, "r-2");
}

TEST_F(participants, poller_reports_an_exit_the_agent_lists) {
  agent_answers("local");
  auto exited = running("r-1", 700);
  exited.state = msg::mover_state::exited;
  exited.exit_code = 1;
  exited.detail = "exit 1: target: write failed";
  movers_ = {exited};
  auto poller = keep(spawn_poller(system_, oma_, registry(), quick_poller()));
  consume();  // subscribed
  publish_progress("r-1", 600);
  caf::anon_send(poller, start_atom::value, std::string("r-1"), std::string("local"));
  consume();
  advance(5s);
  auto ex = exits();
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].second.exit_code, 1);
  EXPECT_EQ(ex[0].second.detail, "exit 1: target: write failed");
  EXPECT_EQ(ex[0].second.bytes_done, 700u);
  EXPECT_EQ(ex[0].second.bytes_total, 1000u);
  // The agent's own exit progress, arriving late, is not a second exit.
  publish_progress("r-1", 700, msg::progress_state::exited);
  consume();
  advance(10s);
  EXPECT_EQ(exits().size(), 1u);
  EXPECT_TRUE(losses().empty());
}

TEST_F(participants, poller_stop_takes_the_final_snapshot_and_is_idempotent) {
  agent_answers("local");
  movers_ = {running("r-1", 20)};
  auto poller = keep(spawn_poller(system_, oma_, registry(), quick_poller()));
  caf::anon_send(poller, start_atom::value, std::string("r-1"), std::string("local"));
  consume();
  publish_progress("r-1", 10, msg::progress_state::copying, 100);
  publish_progress("r-1", 20, msg::progress_state::draining, 100);  // waits for its turn
  consume();
  ASSERT_EQ((snapshots().size()), 1u);

  publish_stop("r-1", "s-1", "scheduler");  // not the poller's
  consume();
  EXPECT_TRUE(confirms_.empty());
  publish_stop("r-1", "s-1", "poller");
  consume();
  ASSERT_EQ(confirms_.size(), 1u);
  EXPECT_EQ(confirms_[0].who, msg::participant::poller);
  EXPECT_EQ(confirms_[0].result, msg::outcome::ok);
  EXPECT_EQ(confirms_[0].stop_id, "s-1");
  EXPECT_EQ(confirms_[0].detail, "last progress: 20 of 100 bytes");
  auto snaps = snapshots();
  ASSERT_EQ(snaps.size(), 2u) << "the final snapshot goes at once";
  EXPECT_EQ(snaps[1].second.bytes_done, 20u);
  auto stats = ask<std::string>(poller, get_atom::value);
  ASSERT_TRUE(stats);
  EXPECT_TRUE(json::parse(std::get<0>(*stats))["followed"].empty()) << "still following";

  // The job actor asks again (it did not hear): the same answer, nothing done twice.
  const int polls = status_requests_;
  publish_stop("r-1", "s-1", "poller");
  consume();
  ASSERT_EQ(confirms_.size(), 2u);
  EXPECT_EQ(confirms_[1].detail, confirms_[0].detail);
  advance(30s);
  EXPECT_EQ(snapshots().size(), 2u);
  EXPECT_EQ(status_requests_, polls) << "a stopped job is polled no more";
  EXPECT_TRUE(stalls().empty());

  publish_stop("r-7", "s-2", "poller");
  consume();
  ASSERT_EQ(confirms_.size(), 3u);
  EXPECT_EQ(confirms_[2].detail, "no progress seen");
}

TEST_F(participants, poller_asks_a_watched_agent_without_jobs_and_tells_the_registry_each_answer) {
  agent_answers("local");
  movers_ = {running("r-1", 10)};
  auto poller = keep(spawn_poller(system_, oma_, registry(), quick_poller()));
  caf::anon_send(poller, watch_atom::value, std::string("local"));
  caf::anon_send(poller, watch_atom::value, std::string("not an id"));
  consume();
  EXPECT_EQ(status_requests_, 1) << "asked at once, not an interval later";
  advance(10s);
  EXPECT_EQ(status_requests_, 3) << "and every interval, with no job followed";
  std::vector<msg::vma_status> reports;
  for (const auto& m : *got_)
    if (m.match_elements<msg::vma_status>()) reports.push_back(m.get_as<msg::vma_status>(0));
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_EQ(reports[0].vma, "local");
  ASSERT_EQ(reports[0].movers.size(), 1u);
  EXPECT_EQ(reports[0].movers[0].job, "r-1");

  // Silent: no report, and no job of it to lose.
  silent_ = true;
  advance(20s);
  EXPECT_EQ(status_requests_, 7);
  std::size_t after = 0;
  for (const auto& m : *got_) after += m.match_elements<msg::vma_status>() ? 1 : 0;
  EXPECT_EQ(after, 3u);
  EXPECT_TRUE(losses().empty());
}

// ---------------------------------------------------------------------------------------------
// The scheduler

}  // namespace
}  // namespace participants_test
}  // namespace mk::actors
