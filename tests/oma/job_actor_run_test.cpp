// The job actor while its mover runs: stalls, a resumed run's bytes copied again, a mover that
// ends by itself.
#include "job_actor_fixture.hpp"

namespace mk::actors::job_actor_testing {
namespace {

TEST_F(job_actor_test, a_stall_is_flagged_and_logged_until_progress_moves_again) {
  spawn_job(msg::job_state::replicating);
  msg::progress p;
  p.job = "r-1";
  p.bytes_done = 100;
  p.bytes_total = 1000;
  caf::anon_send(job_, snapshot_atom::value, std::string("r-1"), p);
  caf::anon_send(job_, stalled_atom::value, std::string("r-1"), std::uint64_t{300});
  consume();
  EXPECT_TRUE(stored().stalled);
  auto shown = ask(get_atom::value);
  ASSERT_TRUE(shown);
  EXPECT_EQ((*shown)["stalled"], true);
  EXPECT_EQ((*shown)["progress"]["bytes_done"], 100);
  p.bytes_done = 200;
  caf::anon_send(job_, snapshot_atom::value, std::string("r-1"), p);
  consume();
  shown = ask(get_atom::value);
  ASSERT_TRUE(shown);
  EXPECT_EQ((*shown)["stalled"], false);
  EXPECT_FALSE(stored().stalled);
  EXPECT_EQ(log_events(), (std::vector<std::string>{"stalled", "progress_resumed"}));
}

// A mover that ran already when the start was answered (its first answer lost) says nothing of
// its checkpoint: its first progress tells.
TEST_F(job_actor_test, a_resumed_runs_first_progress_logs_the_bytes_it_copies_again) {
  stopped_at_6000_and_resumed();
  EXPECT_EQ(stored().bytes_done_at_resume, 6000u) << "stored, for an OMA restart";
  snapshot(6000);  // a late one of the old run, while attaching: not the new run's start
  start_mover();
  // The checkpoint held 4096 bytes of the 6000 reported before the stop.
  snapshot(4096);
  snapshot(5000);
  const auto entries = recopy_entries();
  ASSERT_EQ(entries.size(), 1u) << "only the first progress of the run";
  EXPECT_EQ(entries[0]["detail"], (json{{"bytes_done_before", 6000},
                                        {"bytes_from_checkpoint", 4096},
                                        {"bytes_recopied", 1904}}));
  EXPECT_EQ(entries[0]["actor"], "poller");
  EXPECT_FALSE(stored().bytes_done_at_resume);
  // The API heard of it as it was written.
  EXPECT_EQ(std::count_if(observer_->entries.begin(), observer_->entries.end(),
                          [](const json& e) { return e["event"] == "resumed_from_checkpoint"; }),
            1);
}

TEST_F(job_actor_test,
       a_resumed_run_that_ends_before_any_progress_still_logs_what_it_copies_again) {
  stopped_at_6000_and_resumed();
  // The agent started the mover and read its checkpoint: 4096 of the 6000 bytes reported.
  start_mover(true, 4096);
  auto entries = recopy_entries();
  ASSERT_EQ(entries.size(), 1u) << "logged at the start, before any progress";
  EXPECT_EQ(entries[0]["detail"], (json{{"bytes_done_before", 6000},
                                        {"bytes_from_checkpoint", 4096},
                                        {"bytes_recopied", 1904}}));
  EXPECT_EQ(entries[0]["actor"], "vma_process");
  EXPECT_FALSE(stored().bytes_done_at_resume);
  // The run fails before it reported anything; its progress, had it come, adds nothing.
  mover_exits(1, "exit 1: source: EIO");
  snapshot(4096);
  EXPECT_EQ(recopy_entries().size(), 1u);
  EXPECT_EQ(stored().state, msg::job_state::failed);
}

TEST_F(job_actor_test, a_run_that_starts_ahead_of_the_last_report_copies_nothing_again) {
  hold_attach();
  spawn_job(msg::job_state::failed, true);  // it failed before any progress was stored
  ASSERT_TRUE(ask(resume_atom::value));
  start_mover();
  snapshot(3000);
  const auto entries = recopy_entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(
      entries[0]["detail"],
      (json{{"bytes_done_before", 0}, {"bytes_from_checkpoint", 3000}, {"bytes_recopied", 0}}));
}

TEST_F(job_actor_test, a_mover_that_exits_by_itself_fails_the_job_resumably) {
  spawn_job(msg::job_state::replicating);
  mover_exits(1, "exit 1: source: EIO");
  auto job = stored();
  EXPECT_EQ(job.state, msg::job_state::failed);
  EXPECT_EQ(job.error, "mover exited: exit 1: source: EIO");
  EXPECT_TRUE(job.resumable());
}

// An agent cut off from the bus sends what it said meanwhile once it is back: the end of a
// mover that failed during the cut arrives after the job was resumed, before the new start.
TEST_F(job_actor_test, the_end_of_an_earlier_mover_does_not_fail_a_start_under_way) {
  stopped_at_6000_and_resumed();
  caf::anon_send(job_, start_atom::value);  // the start is asked of the agent...
  consume();
  mover_exits(1, "exit 1, checkpoint failed: target: no reply for 8 s");  // ...an old end comes
  EXPECT_EQ(stored().state, msg::job_state::starting);
  msg::start_mover_reply r;
  r.job = "r-1";
  r.ok = true;
  r.pid = 4343;
  r.launched = true;
  caf::anon_send(job_, start_atom::value, r);
  consume();
  EXPECT_EQ(stored().state, msg::job_state::replicating);
}

// The OMA never opens a source: the agent measures it, and the volume is made at that size.
TEST_F(job_actor_test, the_volume_is_attached_at_the_size_the_agent_measured) {
  std::optional<std::uint64_t> asked_size;
  volume_ = system_.spawn([&](caf::event_based_actor* self) -> caf::behavior {
    return {[&, self](attach_atom, const std::string&, std::uint64_t size, const std::string&) {
      asked_size = size;
      held_attach_ = self->make_response_promise();
    }};
  });
  spawn_job(msg::job_state::queued);
  caf::anon_send(job_, start_atom::value);
  consume();
  EXPECT_EQ(probes_, 1);
  ASSERT_TRUE(asked_size);
  EXPECT_EQ(*asked_size, 10000u);
  const auto events = log_events();
  EXPECT_NE(std::find(events.begin(), events.end(), "source_probed"), events.end());
}

TEST_F(job_actor_test, a_source_its_agent_cannot_read_fails_the_start_before_any_volume) {
  bool asked_to_attach = false;
  volume_ = system_.spawn([&](caf::event_based_actor*) -> caf::behavior {
    return {[&](attach_atom, const std::string&, std::uint64_t, const std::string&) {
      asked_to_attach = true;
    }};
  });
  probe_error_ = "source nbd+unix:///?socket=/run/src.sock: cannot connect";
  spawn_job(msg::job_state::queued);
  caf::anon_send(job_, start_atom::value);
  consume();
  const auto job = stored();
  EXPECT_EQ(job.state, msg::job_state::failed);
  EXPECT_EQ(job.error, "start: agent local: " + probe_error_);
  EXPECT_FALSE(asked_to_attach) << "a volume was asked for a source that cannot be read";
}

}  // namespace
}  // namespace mk::actors::job_actor_testing
