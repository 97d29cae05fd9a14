// Maintenance mode, message by message: CAF's deterministic scheduler, the bus and the settings
// in memory, and the test playing the registry (it lists jobs, takes stops and resumes, and
// records the gate). Job states reach the actor as they do in the OMA: on the bus.
#include "oma/maintenance_actor.hpp"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "actors/atoms.hpp"
#include "actors/errors.hpp"
#include "deterministic.hpp"
#include "messages/caf_types.hpp"
#include "models/maintenance_mode.hpp"

namespace mk::actors {
namespace {

using msg::job_state;
using nlohmann::json;

class maintenance_test : public deterministic_actors {
 protected:
  maintenance_test() : settings_(std::make_shared<memory_documents>()) {
    registry_ = system_.spawn([this](caf::event_based_actor* self) -> caf::behavior {
      return {
          [this](list_atom) { return jobs_; },
          [this, self](const msg::stop_request& r) -> caf::result<job_record> {
            stops_.push_back(r);
            in_flight_ += 1;
            max_in_flight_ = std::max(max_in_flight_, in_flight_);
            if (unanswered_.contains(r.job)) {
              // Taken, but the answer comes too late for the asker (a loaded OMA).
              withheld_.push_back(self->make_response_promise<job_record>());
              return withheld_.back();
            }
            job_record job;
            job.id = r.job;
            job.stop = stop_record{};
            job.stop->id = "s-" + r.job;
            return job;
          },
          [this](get_atom, const std::string& id) -> caf::result<job_record> {
            if (!snapshots_.contains(id)) return make_error(errc::not_found, "no job " + id);
            return snapshots_[id];
          },
          [this](resume_atom, const std::string& id) {
            resumes_.push_back(id);
            job_record job;
            job.id = id;
            return job;
          },
          [this](gate_atom, bool closed, const maintenance_scope& scope, const std::string&) {
            gate_ = closed ? scope.name() : "";
          },
      };
    });
  }

  ~maintenance_test() override {
    for (auto& a : {actor_, registry_})
      if (a) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    consume();
  }

  void spawn() {
    actor_ = spawn_maintenance(system_, oma_, registry(), settings_, lanes_);
    consume();
    caf::anon_send(actor_, start_atom::value);
    consume();
  }

  /// The test's registry behind the interface the actor expects (it answers what this test needs).
  registry_hdl registry() const { return caf::actor_cast<registry_hdl>(registry_); }

  void add_job(const std::string& id, const std::string& vma, job_state s) {
    jobs_.push_back({id, vma, s, ""});
  }

  expected<json, caf::error> ask(msg::maintenance m) {
    std::optional<expected<json, caf::error>> out;
    system_.spawn([&, m](caf::event_based_actor* self) {
      self->request(actor_, std::chrono::seconds(3600), m)
          .then([&](const std::string& text) { out = json::parse(text); },
                [&](const caf::error& err) { out = unexpected(err); });
    });
    consume();
    EXPECT_TRUE(out) << "no answer";
    return out ? *out : unexpected(caf::error(caf::sec::request_timeout));
  }

  static msg::maintenance on(std::string scope = "all", std::uint32_t parallel = 0) {
    msg::maintenance m;
    m.hdr.from = "api";
    m.enabled = true;
    m.reason = "host patching";
    m.scope = std::move(scope);
    m.max_parallel = parallel;
    return m;
  }

  static msg::maintenance off(bool resume_after) {
    msg::maintenance m;
    m.hdr.from = "api";
    m.resume_after = resume_after;
    return m;
  }

  /// The job's stop settles, as its actor would announce it.
  void settle(const std::string& job, job_state s, std::string stop_id = "") {
    msg::job_state_changed c;
    c.job = job;
    c.state = s;
    c.stop_id = stop_id.empty() ? "s-" + job : stop_id;
    ASSERT_TRUE(oma_->publish(*oma_->subjects().job_state(job), c));
    in_flight_ -= 1;
    consume();
  }

  std::vector<std::string> stopped_jobs() const {
    std::vector<std::string> out;
    for (const auto& r : stops_) out.push_back(r.job);
    return out;
  }

  maintenance_mode stored() {
    auto text = settings_->get("maintenance");
    EXPECT_TRUE(text && *text);
    auto m = maintenance_from_json(text && *text ? **text : "");
    EXPECT_TRUE(m) << m.error();
    return m ? *m : maintenance_mode{};
  }

  std::shared_ptr<memory_documents> settings_;
  caf::actor registry_;
  caf::actor actor_;
  std::vector<job_summary> jobs_;
  std::vector<msg::stop_request> stops_;
  std::vector<std::string> resumes_;
  std::string gate_;
  int in_flight_ = 0;
  int max_in_flight_ = 0;
  std::set<std::string> unanswered_;  ///< jobs whose stop is taken but never answered
  std::vector<caf::typed_response_promise<job_record>> withheld_;
  std::map<std::string, job_record> snapshots_;  ///< what (get_atom, id) answers
};

TEST_F(maintenance_test, on_stops_the_active_jobs_in_scope_never_more_than_max_parallel_at_once) {
  for (auto id : {"r-1", "r-2", "r-3", "r-4"}) add_job(id, "local", job_state::replicating);
  add_job("r-5", "local", job_state::queued);
  add_job("r-6", "local", job_state::stopped);
  add_job("r-7", "other", job_state::replicating);
  spawn();
  auto mode = ask(on("vma:local", 2));
  ASSERT_TRUE(mode) << to_string(mode.error());
  EXPECT_EQ((*mode)["enabled"], true);
  EXPECT_EQ(gate_, "vma:local");
  EXPECT_EQ(stopped_jobs(), (std::vector<std::string>{"r-1", "r-2"}));
  for (const auto& r : stops_) {
    EXPECT_EQ(r.reason, msg::stop_reason::maintenance);
    EXPECT_EQ(r.volumes, msg::volume_action::keep);
    EXPECT_EQ(r.mode, msg::stop_mode::graceful);
    EXPECT_NE(r.comment.find("host patching"), std::string::npos) << r.comment;
  }
  settle("r-1", job_state::stopped);
  EXPECT_EQ(stops_.size(), 3u);
  for (auto id : {"r-2", "r-3", "r-4", "r-5"}) settle(id, job_state::stopped);
  EXPECT_EQ(stopped_jobs(), (std::vector<std::string>{"r-1", "r-2", "r-3", "r-4", "r-5"}));
  EXPECT_EQ(max_in_flight_, 2);
  const auto m = stored();
  EXPECT_TRUE(m.enabled);
  EXPECT_EQ(m.stopped, (std::vector<std::string>{"r-1", "r-2", "r-3", "r-4", "r-5"}));
  EXPECT_TRUE(m.stopping.empty());
}

TEST_F(maintenance_test, off_with_resume_after_resumes_exactly_the_jobs_it_stopped) {
  for (auto id : {"r-1", "r-2", "r-3", "r-4"}) add_job(id, "local", job_state::replicating);
  add_job("r-9", "local", job_state::stopped);  // stopped by an operator before: stays so
  spawn();
  ASSERT_TRUE(ask(on()));
  settle("r-1", job_state::stopped);
  settle("r-2", job_state::failed);                // not stopped: not resumed
  settle("r-3", job_state::stopped, "s-someone");  // another stop settled it
  // r-4 still stopping when maintenance goes off: resumed once its stop settles.
  auto mode = ask(off(true));
  ASSERT_TRUE(mode);
  EXPECT_EQ((*mode)["enabled"], false);
  EXPECT_EQ(gate_, "");
  EXPECT_EQ(resumes_, (std::vector<std::string>{"r-1"}));
  settle("r-4", job_state::stopped);
  EXPECT_EQ(resumes_, (std::vector<std::string>{"r-1", "r-4"}));
  EXPECT_EQ(stored().resumed, (std::vector<std::string>{"r-1", "r-4"}));
}

TEST_F(maintenance_test, off_without_resume_after_resumes_nothing) {
  add_job("r-1", "local", job_state::replicating);
  spawn();
  ASSERT_TRUE(ask(on()));
  settle("r-1", job_state::stopped);
  ASSERT_TRUE(ask(off(false)));
  EXPECT_TRUE(resumes_.empty());
}

TEST_F(maintenance_test, a_stop_taken_but_answered_too_late_keeps_its_slot_and_counts) {
  for (auto id : {"r-1", "r-2", "r-3"}) add_job(id, "local", job_state::replicating);
  unanswered_ = {"r-1", "r-2"};
  spawn();
  auto mode = ask(on("all", 1));
  ASSERT_TRUE(mode);
  const auto comment = "maintenance " + (*mode)["id"].get<std::string>() + ": host patching";
  // r-1 took the stop and is stopping; r-2 never got to write it and still replicates.
  snapshots_["r-1"].id = "r-1";
  snapshots_["r-1"].state = job_state::stopping;
  snapshots_["r-1"].stop = stop_record{};
  snapshots_["r-1"].stop->id = "s-r-1";
  snapshots_["r-1"].stop->requested_by = "maintenance";
  snapshots_["r-1"].stop->comment = comment;
  snapshots_["r-2"].id = "r-2";
  snapshots_["r-2"].state = job_state::replicating;
  advance(std::chrono::seconds(31));
  EXPECT_EQ(stopped_jobs(), (std::vector<std::string>{"r-1"})) << "one slot, still taken";
  EXPECT_EQ(stored().stopping.at("r-1"), "s-r-1");
  settle("r-1", job_state::stopped);
  EXPECT_EQ(stored().stopped, (std::vector<std::string>{"r-1"}));
  EXPECT_EQ(stopped_jobs(), (std::vector<std::string>{"r-1", "r-2"}));
  // r-2's stop times out and the job shows no stop of ours: it is asked again, in its turn.
  unanswered_.clear();
  advance(std::chrono::seconds(31));
  EXPECT_EQ(stopped_jobs(), (std::vector<std::string>{"r-1", "r-2", "r-2"}));
  settle("r-2", job_state::stopped);
  EXPECT_EQ(stopped_jobs(), (std::vector<std::string>{"r-1", "r-2", "r-2", "r-3"}));
  settle("r-3", job_state::stopped);
  EXPECT_EQ(stored().stopped, (std::vector<std::string>{"r-1", "r-2", "r-3"}));
  EXPECT_LE(max_in_flight_, 2) << "r-2 counted twice by the test's registry, never more";
}

TEST_F(maintenance_test, the_mode_survives_a_restart_and_carries_on) {
  for (auto id : {"r-1", "r-2", "r-3"}) add_job(id, "local", job_state::replicating);
  spawn();
  ASSERT_TRUE(ask(on("all", 1)));
  EXPECT_EQ(stops_.size(), 1u);
  // The OMA goes; r-1's stop settles meanwhile; a new actor reads the mode back.
  caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
  consume();
  gate_.clear();
  jobs_[0].state = job_state::stopped;
  jobs_[0].stop_id = "s-r-1";
  in_flight_ = 0;
  actor_ = spawn_maintenance(system_, oma_, registry(), settings_, lanes_);
  consume();
  EXPECT_EQ(gate_, "all") << "the gate closes before the registry recovers the jobs";
  caf::anon_send(actor_, start_atom::value);
  consume();
  EXPECT_EQ(stopped_jobs(), (std::vector<std::string>{"r-1", "r-2"}));
  settle("r-2", job_state::stopped);
  settle("r-3", job_state::stopped);
  EXPECT_EQ(stored().stopped, (std::vector<std::string>{"r-1", "r-2", "r-3"}));
  ASSERT_TRUE(ask(off(true)));
  EXPECT_EQ(resumes_, (std::vector<std::string>{"r-1", "r-2", "r-3"}));
}

TEST_F(maintenance_test, a_stop_whose_job_was_deleted_meanwhile_frees_its_slot_after_a_restart) {
  for (auto id : {"r-1", "r-2"}) add_job(id, "local", job_state::replicating);
  spawn();
  ASSERT_TRUE(ask(on("all", 1)));
  EXPECT_EQ(stopped_jobs(), (std::vector<std::string>{"r-1"}));
  // r-1 is deleted while the OMA is away: its stop will never be heard to settle.
  caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
  consume();
  jobs_.erase(jobs_.begin());
  actor_ = spawn_maintenance(system_, oma_, registry(), settings_, lanes_);
  consume();
  caf::anon_send(actor_, start_atom::value);
  consume();
  EXPECT_EQ(stopped_jobs(), (std::vector<std::string>{"r-1", "r-2"}));
  EXPECT_EQ(stored().stopping.count("r-1"), 0u);
}

TEST_F(maintenance_test, a_switch_from_the_bus_is_applied) {
  add_job("r-1", "local", job_state::replicating);
  spawn();
  auto m = on();
  ASSERT_TRUE(oma_->publish(oma_->subjects().maintenance(), m));  // e.g. a schedule
  consume();
  EXPECT_EQ(gate_, "all");
  EXPECT_EQ(stopped_jobs(), (std::vector<std::string>{"r-1"}));
}

TEST_F(maintenance_test, bad_switches_are_refused_and_change_nothing) {
  spawn();
  auto bad = ask(on("vma:Bad Id"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(code_of(bad.error()), errc::invalid);
  ASSERT_TRUE(ask(on("vma:local")));
  auto other = ask(on("all"));
  ASSERT_FALSE(other);
  EXPECT_EQ(code_of(other.error()), errc::conflict);
  EXPECT_EQ(stored().scope.name(), "vma:local");
  auto again = ask(on("vma:local", 5));
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)["max_parallel"], 5);
}

}  // namespace
}  // namespace mk::actors
