// The job actor's stop protocol, step by step: requests, confirmations, deadlines, deletes, an
// OMA restart mid-stop, and what the agent says of the job's mover.
#include "job_actor_fixture.hpp"

namespace mk::actors::job_actor_testing {
namespace {

TEST_F(job_actor_test, every_participant_confirms_and_the_job_is_stopped) {
  spawn_job(msg::job_state::replicating);
  auto reply = stop();
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["state"], "stopping");
  EXPECT_EQ((*reply)["stop"]["id"], stop_id());
  // Stored as stopping before any participant was asked.
  EXPECT_EQ(stored().state, msg::job_state::stopping);
  EXPECT_EQ(asked(participant::scheduler), 1u);
  EXPECT_EQ(asked(participant::poller), 1u);
  EXPECT_EQ(asked(participant::vma_process), 1u);
  EXPECT_EQ(asked(participant::volume), 0u) << "the volume waits for the mover's end";
  EXPECT_EQ(last_to(participant::vma_process)->vma, "local");

  all_quiesce_confirm();
  ASSERT_EQ(asked(participant::volume), 1u);
  EXPECT_EQ(last_to(participant::volume)->volumes, msg::volume_action::keep);
  EXPECT_EQ(stored().state, msg::job_state::stopping);
  confirm(participant::volume, msg::outcome::ok, "kept as partial");

  const auto job = stored();
  EXPECT_EQ(job.state, msg::job_state::stopped);
  EXPECT_TRUE(job.resumable());
  ASSERT_TRUE(job.stop);
  EXPECT_NE(job.stop->settled_at, 0);
  EXPECT_EQ(job.stop->outcomes[2], msg::outcome::exited);
  EXPECT_EQ(states_, (std::vector{msg::job_state::stopping, msg::job_state::stopped}));
  EXPECT_EQ(log_events(),
            (std::vector<std::string>{"stop_requested", "participant_confirmed",
                                      "participant_confirmed", "participant_confirmed",
                                      "volumes_phase", "participant_confirmed", "stop_settled"}));
  // Nothing is asked again once settled.
  const auto sent = requests_.size();
  advance(10s);
  EXPECT_EQ(requests_.size(), sent);
}

TEST_F(job_actor_test, volumes_delete_cancels_the_job) {
  spawn_job(msg::job_state::replicating);
  ASSERT_TRUE(stop(msg::volume_action::remove));
  all_quiesce_confirm();
  ASSERT_EQ(asked(participant::volume), 1u);
  EXPECT_EQ(last_to(participant::volume)->volumes, msg::volume_action::remove);
  confirm(participant::volume, msg::outcome::ok, "deleted");
  const auto job = stored();
  EXPECT_EQ(job.state, msg::job_state::cancelled);
  EXPECT_FALSE(job.resumable());
}

TEST_F(job_actor_test, a_silent_vma_process_fails_the_stop_and_the_volume_is_never_asked) {
  spawn_job(msg::job_state::replicating);
  ASSERT_TRUE(stop());
  confirm(participant::scheduler, msg::outcome::ok);
  confirm(participant::poller, msg::outcome::ok);
  advance(7900ms);
  EXPECT_EQ(stored().state, msg::job_state::stopping) << "before grace + quiesce_extra";
  // Asked again every second while it stays silent.
  EXPECT_GE(asked(participant::vma_process), 7u);
  advance(200ms);
  const auto job = stored();
  EXPECT_EQ(job.state, msg::job_state::failed);
  EXPECT_EQ(job.error, "stop_unconfirmed: vma_process");
  EXPECT_FALSE(job.resumable()) << "a mover may still write to the volume";
  EXPECT_EQ(asked(participant::volume), 0u);
  EXPECT_EQ(asked(participant::scheduler), 1u) << "confirmed participants are not asked again";

  // Its agent is heard again and runs no mover for the job: nothing writes to the volume,
  // which the stop never touched, and a resume may continue from the checkpoint.
  msg::mover_info running;
  running.job = "r-1";
  running.pid = 4242;
  caf::anon_send(job_, status_atom::value, running, true);
  consume();
  EXPECT_FALSE(stored().resumable()) << "its mover still runs";
  msg::mover_info none;
  none.job = "r-1";
  caf::anon_send(job_, status_atom::value, none, false);
  consume();
  EXPECT_TRUE(stored().resumable());
  const auto events = log_events();
  EXPECT_NE(std::find(events.begin(), events.end(), "mover_end_confirmed"), events.end());
}

// A job whose agent went silent (the poller gave up on it) fails, its volume neither kept nor
// touched; its agent heard again with the mover ended, the job becomes resumable, and the
// JobLog says how the mover ended.
TEST_F(job_actor_test, a_lost_mover_becomes_resumable_once_its_agent_says_it_ended) {
  spawn_job(msg::job_state::replicating);
  caf::anon_send(job_, lost_atom::value, std::string("r-1"),
                 std::string("vma local does not answer status requests"));
  consume();
  auto job = stored();
  EXPECT_EQ(job.state, msg::job_state::failed);
  EXPECT_EQ(job.error, "mover lost: vma local does not answer status requests");
  EXPECT_TRUE(job.mover_unconfirmed);
  EXPECT_FALSE(job.resumable()) << "a mover may still write to the volume";

  msg::mover_info ended;
  ended.job = "r-1";
  ended.pid = 4242;
  ended.state = msg::mover_state::exited;
  ended.exit_code = 1;
  ended.detail = "nbds://local@10.0.0.1:10809/: no reply for 60 s";
  caf::anon_send(job_, status_atom::value, ended, true);
  consume();
  job = stored();
  EXPECT_TRUE(job.resumable());
  EXPECT_FALSE(job.mover_unconfirmed);
  EXPECT_EQ(job.state, msg::job_state::failed);
  const auto events = log_events();
  EXPECT_NE(std::find(events.begin(), events.end(), "mover_end_confirmed"), events.end());
}

TEST_F(job_actor_test, a_silent_volume_fails_the_stop) {
  spawn_job(msg::job_state::replicating);
  ASSERT_TRUE(stop());
  all_quiesce_confirm();
  advance(4100ms);
  EXPECT_GE(asked(participant::volume), 4u);
  const auto job = stored();
  EXPECT_EQ(job.state, msg::job_state::failed);
  EXPECT_EQ(job.error, "stop_unconfirmed: volume");
}

TEST_F(job_actor_test, a_repeated_stop_returns_the_same_stop_and_force_escalates) {
  spawn_job(msg::job_state::replicating);
  auto first = stop();
  ASSERT_TRUE(first);
  auto again = stop();
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)["stop"]["id"], (*first)["stop"]["id"]);
  EXPECT_EQ(asked(participant::vma_process), 1u) << "a repeat sends nothing new";
  EXPECT_EQ(last_to(participant::vma_process)->mode, msg::stop_mode::graceful);

  auto forced = stop(msg::volume_action::keep, msg::stop_mode::force);
  ASSERT_TRUE(forced);
  EXPECT_EQ((*forced)["stop"]["id"], (*first)["stop"]["id"]);
  EXPECT_EQ((*forced)["stop"]["mode"], "force");
  EXPECT_EQ(asked(participant::vma_process), 2u);
  EXPECT_EQ(last_to(participant::vma_process)->mode, msg::stop_mode::force);
  EXPECT_EQ(stored().stop->mode, msg::stop_mode::force);
  all_quiesce_confirm();
  confirm(participant::volume, msg::outcome::ok);
  EXPECT_EQ(stored().state, msg::job_state::stopped);
  const auto events = log_events();
  EXPECT_NE(std::find(events.begin(), events.end(), "stop_escalated"), events.end());
}

TEST_F(job_actor_test, a_copy_that_completes_before_the_stop_lands_settles_as_completed) {
  spawn_job(msg::job_state::replicating);
  ASSERT_TRUE(stop(msg::volume_action::remove));
  confirm(participant::scheduler, msg::outcome::ok);
  confirm(participant::poller, msg::outcome::ok);
  confirm(participant::vma_process, msg::outcome::not_running, "exited earlier: exit 0", true);
  ASSERT_EQ(asked(participant::volume), 1u);
  EXPECT_EQ(last_to(participant::volume)->volumes, msg::volume_action::keep)
      << "a complete copy is never deleted";
  confirm(participant::volume, msg::outcome::ok);
  EXPECT_EQ(stored().state, msg::job_state::completed);
  // And a completed job cannot be stopped.
  auto refused = stop();
  ASSERT_FALSE(refused);
  EXPECT_EQ(code_of(refused.error()), errc::conflict);
}

TEST_F(job_actor_test,
       the_volume_finished_after_a_completion_that_raced_a_stop_gets_no_error_back) {
  // The volume actor's answer once went back to the job actor unasked; the job actor had no
  // handler for it and returned unexpected_message, which ended the OMA's volume actor.
  play_volume_finish();
  spawn_job(msg::job_state::replicating);
  ASSERT_TRUE(stop());
  confirm(participant::scheduler, msg::outcome::ok);
  confirm(participant::poller, msg::outcome::ok);
  confirm(participant::vma_process, msg::outcome::not_running, "exited earlier: exit 0", true);
  confirm(participant::volume, msg::outcome::ok);
  consume();
  ASSERT_EQ(stored().state, msg::job_state::completed);
  ASSERT_EQ(finished_.size(), 1u);
  EXPECT_EQ(finished_[0], std::make_pair(std::string("v-1"), true));
  EXPECT_TRUE(volume_errors_.empty()) << ::testing::PrintToString(volume_errors_);
  const auto events = log_events();
  EXPECT_EQ(std::find(events.begin(), events.end(), "volume_not_finished"), events.end());
}

TEST_F(job_actor_test, a_queued_job_is_stopped_without_a_mover) {
  spawn_job(msg::job_state::queued);
  auto reply = stop();
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["state"], "stopping");
  confirm(participant::scheduler, msg::outcome::ok);
  confirm(participant::poller, msg::outcome::ok, "no progress seen");
  confirm(participant::vma_process, msg::outcome::not_running, "no mover for this job");
  confirm(participant::volume, msg::outcome::ok, "no volume");
  EXPECT_EQ(stored().state, msg::job_state::stopped);
  // A start that arrives afterwards does nothing: the job is no longer queued.
  caf::anon_send(job_, start_atom::value);
  consume();
  EXPECT_EQ(stored().state, msg::job_state::stopped);
}

TEST_F(job_actor_test, a_stopped_job_refuses_keep_takes_delete_and_resumes) {
  hold_attach();
  spawn_job(msg::job_state::stopped, true);
  auto refused = stop();
  ASSERT_FALSE(refused);
  EXPECT_EQ(code_of(refused.error()), errc::conflict);
  EXPECT_NE(message_of(refused.error()).find("stopped"), std::string::npos);

  auto resumed = ask(resume_atom::value);
  ASSERT_TRUE(resumed);
  EXPECT_EQ((*resumed)["state"], "queued");
  EXPECT_EQ(stored().state, msg::job_state::starting) << "it starts itself, asked by no one";
  auto again = ask(resume_atom::value);
  ASSERT_FALSE(again) << "a starting job has nothing to resume";
  EXPECT_EQ(code_of(again.error()), errc::conflict);
}

TEST_F(job_actor_test, a_stopped_job_is_cleaned_up_by_a_stop_with_delete) {
  spawn_job(msg::job_state::stopped, true);
  ASSERT_TRUE(stop(msg::volume_action::remove));
  confirm(participant::scheduler, msg::outcome::ok);
  confirm(participant::poller, msg::outcome::ok);
  confirm(participant::vma_process, msg::outcome::not_running);
  confirm(participant::volume, msg::outcome::ok, "deleted");
  EXPECT_EQ(stored().state, msg::job_state::cancelled);
}

TEST_F(job_actor_test, only_the_jobs_own_agent_speaks_for_its_mover) {
  spawn_job(msg::job_state::replicating);
  ASSERT_TRUE(stop());
  msg::stop_confirm c;
  c.job = "r-1";
  c.stop_id = stop_id();
  c.who = participant::vma_process;
  c.result = msg::outcome::exited;
  bus_link other(transport_, "mk", "vma:other");
  ASSERT_TRUE(other.publish("mk.vma.other.job.r-1.stopped", c));
  ASSERT_TRUE(oma_->publish("mk.job.r-1.stopped", c));  // not the agent's subject
  consume();
  EXPECT_EQ(asked(participant::volume), 0u);
  EXPECT_FALSE(stored().stop->outcomes[2]);
  // A confirmation for another stop id changes nothing either.
  c.stop_id = "s-other";
  ASSERT_TRUE(agent_->publish("mk.vma.local.job.r-1.stopped", c));
  consume();
  EXPECT_EQ(asked(participant::volume), 0u);
}

TEST_F(job_actor_test, a_failed_vma_process_fails_the_stop_without_touching_the_volume) {
  spawn_job(msg::job_state::replicating);
  ASSERT_TRUE(stop());
  confirm(participant::vma_process, msg::outcome::failed, "kill: operation not permitted");
  const auto job = stored();
  EXPECT_EQ(job.state, msg::job_state::failed);
  EXPECT_EQ(job.error, "stop_failed: vma_process: kill: operation not permitted");
  EXPECT_EQ(asked(participant::volume), 0u);
}

TEST_F(job_actor_test, after_an_oma_restart_a_stop_goes_on_with_the_same_stop_id) {
  stop_record stop;
  stop.id = "s-before";
  stop.volumes = msg::volume_action::remove;
  stop.requested_by = "ctl";
  stop.requested_at = 1795910400000;
  // The OMA died after the mover's end was confirmed, before the volume answered.
  stop.outcomes[static_cast<std::size_t>(participant::vma_process)] = msg::outcome::exited;
  spawn_job(msg::job_state::stopping, true, stop);
  ASSERT_EQ(requests_.size(), 3u) << "every quiesce participant is asked again";
  for (const auto& r : requests_) {
    EXPECT_EQ(r.stop_id, "s-before");
    EXPECT_EQ(r.volumes, msg::volume_action::remove);
  }
  all_quiesce_confirm();
  confirm(participant::volume, msg::outcome::ok, "deleted");
  EXPECT_EQ(stored().state, msg::job_state::cancelled);
  EXPECT_EQ(stored().stop->id, "s-before");
  const auto events = log_events();
  EXPECT_EQ(events.front(), "stop_resumed");
}

TEST_F(job_actor_test, an_agent_that_still_runs_a_mover_for_a_stopped_job_is_told_to_stop_it) {
  spawn_job(msg::job_state::stopped, true);
  msg::mover_info m;
  m.job = "r-1";
  m.pid = 4242;
  m.state = msg::mover_state::running;
  caf::anon_send(job_, status_atom::value, m, true);
  consume();
  ASSERT_EQ(asked(participant::vma_process), 1u);
  EXPECT_EQ(last_to(participant::vma_process)->vma, "local");
  EXPECT_EQ(stored().state, msg::job_state::stopped) << "the job itself stays as it was";
}

TEST_F(job_actor_test, a_running_job_whose_mover_the_agent_does_not_list_fails_resumably) {
  spawn_job(msg::job_state::replicating, true);
  msg::mover_info none;
  none.job = "r-1";
  caf::anon_send(job_, status_atom::value, none, false);
  consume();
  const auto job = stored();
  EXPECT_EQ(job.state, msg::job_state::failed);
  EXPECT_NE(job.error.find("mover lost"), std::string::npos) << job.error;
  EXPECT_TRUE(job.resumable());
}

// Seen in CI: an agent that came up just after the job was created said hello (no movers)
// while the volume was being attached, and the job failed as "mover lost" before it had
// asked for its mover.
TEST_F(job_actor_test, an_agent_listing_no_mover_while_the_volume_is_attached_is_not_news) {
  caf::response_promise attach;
  bool asked_to_attach = false;
  volume_ = system_.spawn([&](caf::event_based_actor* self) -> caf::behavior {
    return {[&, self](attach_atom, const std::string&, std::uint64_t, const std::string&) {
      asked_to_attach = true;
      attach = self->make_response_promise();
    }};
  });
  spawn_job(msg::job_state::queued);
  caf::anon_send(job_, start_atom::value);
  consume();
  ASSERT_TRUE(asked_to_attach);
  msg::mover_info none;
  none.job = "r-1";
  caf::anon_send(job_, status_atom::value, none, false);
  consume();
  EXPECT_EQ(stored().state, msg::job_state::starting) << stored().error;
  caf::anon_send_exit(volume_, caf::exit_reason::user_shutdown);
  consume();
}

}  // namespace
}  // namespace mk::actors::job_actor_testing
