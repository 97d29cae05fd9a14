// The job actor's stop protocol, step by step: CAF's deterministic scheduler and virtual clock,
// the bus in memory, the store in memory. The test plays the participants: it reads the stop
// requests the job publishes and answers them, or stays silent.
#include "oma/job_actor.hpp"

#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/atoms.hpp"
#include "actors/errors.hpp"
#include "bus/in_memory_transport.hpp"
#include "deterministic.hpp"
#include "messages/caf_types.hpp"

namespace mk::actors {
namespace {

using namespace std::chrono_literals;
using msg::participant;
using nlohmann::json;

class job_actor_test : public deterministic_actors {
 protected:
  job_actor_test() : store_(std::make_shared<memory_job_store>()) {
    // The OMA's participants hear theirs on the job's subject, the mover its agent's.
    auto stops = transport_->subscribe("mk.job.*.stop", [this](bus::envelope e) {
      auto r = msg::decode<msg::stop_request>(e.data);
      ASSERT_TRUE(r) << r.error().message;
      requests_.push_back(*r);
    });
    auto mover_stops = transport_->subscribe("mk.vma.*.job.*.stop", [this](bus::envelope e) {
      auto r = msg::decode<msg::stop_request>(e.data);
      ASSERT_TRUE(r) << r.error().message;
      EXPECT_EQ(e.subject, "mk.vma.local.job.r-1.stop");
      EXPECT_EQ(r->to, "vma_process");
      requests_.push_back(*r);
    });
    auto states = transport_->subscribe("mk.job.*.state", [this](bus::envelope e) {
      auto s = msg::decode<msg::job_state_changed>(e.data);
      ASSERT_TRUE(s) << s.error().message;
      states_.push_back(s->state);
    });
    EXPECT_TRUE(stops && mover_stops && states);
    subscriptions_.push_back(std::move(*stops));
    subscriptions_.push_back(std::move(*mover_stops));
    subscriptions_.push_back(std::move(*states));
  }

  ~job_actor_test() override {
    subscriptions_.clear();
    if (job_) caf::anon_send_exit(job_, caf::exit_reason::user_shutdown);
    if (volume_) caf::anon_send_exit(volume_, caf::exit_reason::user_shutdown);
    consume();
  }

  /// A job in `state`, stored, with its actor listening for confirmations.
  void spawn_job(msg::job_state state, bool volume_kept = false,
                 std::optional<stop_record> stop = std::nullopt) {
    job_record job;
    job.id = "r-1";
    job.name = "web-01 disk 0";
    job.source = "nbd+unix:///?socket=/run/src.sock";
    job.vma = "local";
    job.state = state;
    job.volume_id = "v-1";
    job.volume_kept = volume_kept;
    job.runs = state == msg::job_state::queued ? 0 : 1;
    job.created_at = job.updated_at = 1795910400000;
    job.stop = stop;
    auto rev = store_->create(job.id, to_json(job).dump());
    ASSERT_TRUE(rev);
    job_deps deps;
    deps.bus = oma_;
    deps.store = store_;
    deps.store_lanes = deps.request_lanes = lanes_;
    deps.volume = caf::actor_cast<volume_hdl>(volume_);  // a test's stand-in, untyped
    deps.observer = observer_;
    deps.timing.grace = 5s;
    deps.timing.quiesce_extra = 3s;
    deps.timing.volumes_deadline = 4s;
    job_ = spawn_job_actor(system_, deps, job, *rev, stop.has_value());
    // As the registry forwards them: the participants' answers, and every agent's.
    for (const auto* subject : {"mk.job.r-1.stopped", "mk.vma.*.job.r-1.stopped"}) {
      auto sub = bus::subscribe_actor(*transport_, subject, caf::actor_cast<caf::actor>(job_));
      ASSERT_TRUE(sub);
      subscriptions_.push_back(std::move(*sub));
    }
    consume();
  }

  /// Asks the job actor and waits (deterministically) for its answer.
  template <class... Ts>
  expected<json, caf::error> ask(Ts... xs) {
    std::optional<expected<json, caf::error>> out;
    auto asker = system_.spawn([&, xs...](caf::event_based_actor* self) {
      self->request(job_, std::chrono::seconds(3600), xs...)
          .then([&](const job_record& job) { out = to_json(job); },
                [&](const caf::error& err) { out = unexpected(err); });
    });
    consume();
    EXPECT_TRUE(out) << "no answer";
    return out ? *out : unexpected(caf::error(caf::sec::request_timeout));
  }

  expected<json, caf::error> stop(msg::volume_action volumes = msg::volume_action::keep,
                                  msg::stop_mode mode = msg::stop_mode::graceful) {
    msg::stop_request r;
    r.hdr = {"m-1", 0, "ctl"};
    r.job = "r-1";
    r.mode = mode;
    r.volumes = volumes;
    r.reason = msg::stop_reason::user;
    r.comment = "test";
    return ask(r);
  }

  /// The participant's answer, as it would publish it.
  void confirm(participant who, msg::outcome result, std::string detail = "",
               bool completed = false) {
    ASSERT_FALSE(stop_id().empty());
    msg::stop_confirm c;
    c.job = "r-1";
    c.stop_id = stop_id();
    c.who = who;
    c.result = result;
    c.detail = std::move(detail);
    c.completed = completed;
    if (who == participant::vma_process)
      ASSERT_TRUE(agent_->publish("mk.vma.local.job.r-1.stopped", c));
    else
      ASSERT_TRUE(oma_->publish("mk.job.r-1.stopped", c));
    consume();
  }

  std::size_t asked(participant who) const {
    return std::count_if(requests_.begin(), requests_.end(),
                         [who](const auto& r) { return r.to == msg::name_of(who); });
  }

  const msg::stop_request* last_to(participant who) const {
    for (auto it = requests_.rbegin(); it != requests_.rend(); ++it)
      if (it->to == msg::name_of(who)) return &*it;
    return nullptr;
  }

  std::string stop_id() const { return requests_.empty() ? "" : requests_.front().stop_id; }

  job_record stored() {
    auto s = store_->load("r-1");
    EXPECT_TRUE(s);
    auto j = job_from_json(s->json);
    EXPECT_TRUE(j) << j.error();
    return *j;
  }

  std::vector<std::string> log_events() {
    std::vector<std::string> out;
    const auto entries = store_->read_log("r-1");
    EXPECT_TRUE(entries);
    for (const auto& e : *entries) out.push_back(json::parse(e)["event"]);
    return out;
  }

  void all_quiesce_confirm() {
    confirm(participant::scheduler, msg::outcome::ok, "dropped 0 triggers");
    confirm(participant::poller, msg::outcome::ok, "last progress: 10 of 100 bytes");
    confirm(participant::vma_process, msg::outcome::exited, "exit 3");
  }

  /// Hears what the job tells the API; here only its JobLog entries matter.
  struct logged_entries final : job_observer {
    void job_changed(const job_record&) override {}
    void job_removed(const std::string&) override {}
    void job_logged(const json& entry) override { entries.push_back(entry); }
    std::vector<json> entries;
  };

  /// The progress the poller forwards.
  void snapshot(std::uint64_t bytes_done) {
    msg::progress p;
    p.job = "r-1";
    p.bytes_done = bytes_done;
    p.bytes_total = 10000;
    caf::anon_send(job_, snapshot_atom::value, std::string("r-1"), p);
    consume();
  }

  /// A volume actor that never finishes attaching: start_mover() starts the mover itself.
  void hold_attach() {
    volume_ = system_.spawn([this](caf::event_based_actor* self) -> caf::behavior {
      return {[this, self](attach_atom, const std::string&, const std::string&) {
        held_attach_ = self->make_response_promise();
      }};
    });
  }
  caf::response_promise held_attach_;

  /// A volume actor that answers `finish` as the real one does (done), and notes every finish
  /// and every error that reaches it unasked (by default such an error ends an actor).
  void play_volume_finish() {
    volume_ = system_.spawn([this](caf::event_based_actor* self) -> caf::behavior {
      self->set_error_handler(
          [this](caf::error& err) { volume_errors_.push_back(caf::to_string(err)); });
      return {[this](finish_atom, const std::string& id, bool complete, const std::string&) {
        finished_.emplace_back(id, complete);
      }};
    });
  }
  std::vector<std::pair<std::string, bool>> finished_;
  std::vector<std::string> volume_errors_;

  /// A queued job started, its mover running as the agent would answer: by default a mover
  /// that ran already (the answer to a repeated request); `launched` one the request started,
  /// which took `checkpoint_bytes` from its checkpoint.
  void start_mover(bool launched = false, std::uint64_t checkpoint_bytes = 0) {
    caf::anon_send(job_, start_atom::value);
    consume();
    msg::start_mover_reply r;
    r.job = "r-1";
    r.ok = true;
    r.pid = 4242;
    r.launched = launched;
    r.checkpoint_bytes = checkpoint_bytes;
    caf::anon_send(job_, start_atom::value, r);
    consume();
    ASSERT_EQ(stored().state, msg::job_state::replicating);
  }

  /// The mover ends by itself, as the poller reports it.
  void mover_exits(std::int64_t code, std::string detail) {
    msg::progress p;
    p.job = "r-1";
    p.state = msg::progress_state::exited;
    p.exit_code = code;
    p.detail = std::move(detail);
    caf::anon_send(job_, exited_atom::value, std::string("r-1"), p);
    consume();
  }

  /// A job that had reported 6000 bytes, stopped with its volume kept, and resumed.
  void stopped_at_6000_and_resumed() {
    hold_attach();
    spawn_job(msg::job_state::replicating, true);
    snapshot(6000);
    ASSERT_TRUE(stop());
    all_quiesce_confirm();
    confirm(participant::volume, msg::outcome::ok, "kept as partial");
    ASSERT_EQ(stored().state, msg::job_state::stopped);
    ASSERT_TRUE(ask(resume_atom::value));
  }

  std::vector<json> recopy_entries() {
    std::vector<json> out;
    const auto stored_log = store_->read_log("r-1");
    EXPECT_TRUE(stored_log);
    for (const auto& text : stored_log.value_or(std::vector<std::string>{}))
      if (auto e = json::parse(text); e["event"] == "resumed_from_checkpoint") out.push_back(e);
    return out;
  }

  std::shared_ptr<memory_job_store> store_;
  std::shared_ptr<logged_entries> observer_ = std::make_shared<logged_entries>();
  caf::actor volume_;  // none unless a test plays the volume actor
  std::vector<msg::stop_request> requests_;
  std::vector<msg::job_state> states_;
  job_actor_hdl job_;
};

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
    return {[&, self](attach_atom, const std::string&, const std::string&) {
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

}  // namespace
}  // namespace mk::actors
