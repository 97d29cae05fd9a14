#pragma once

// The job actor on CAF's deterministic scheduler and virtual clock, the bus and the store in
// memory. The test plays the participants: it reads the stop requests the job publishes and
// answers them, or stays silent; it plays the agent's answers and the poller's reports.

#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/atoms.hpp"
#include "actors/errors.hpp"
#include "bus/in_memory_transport.hpp"
#include "deterministic.hpp"
#include "messages/caf_types.hpp"
#include "oma/job_actor.hpp"

namespace mk::actors::job_actor_testing {

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
    // The agent answers a probe of the source (its size, 10000 bytes); a start request is
    // never reached, as the volume stand-ins never finish an attach.
    auto probes = transport_->subscribe("mk.vma.local.start", [this](bus::envelope e) {
      auto p = msg::decode<msg::probe_source>(e.data);
      ASSERT_TRUE(p) << "only probes are expected: " << p.error().message;
      ++probes_;
      msg::probe_reply r;
      r.job = p->job;
      r.ok = probe_error_.empty();
      r.size = r.ok ? 10000 : 0;
      r.error = probe_error_;
      EXPECT_TRUE(agent_->reply(e, r));
    });
    EXPECT_TRUE(stops && mover_stops && states && probes);
    subscriptions_.push_back(std::move(*probes));
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
      return {[this, self](attach_atom, const std::string&, std::uint64_t, const std::string&) {
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
  int probes_ = 0;           ///< probes of the source the agent answered
  std::string probe_error_;  ///< set: the agent cannot read the source, and says this
  std::vector<msg::job_state> states_;
  job_actor_hdl job_;
};

}  // namespace mk::actors::job_actor_testing
