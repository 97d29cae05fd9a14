// The schedules, message by message on CAF's virtual clock: the wall clock the scheduler reads
// is derived from it, so a window opens and closes to the millisecond. The test plays the
// registry (it lists the jobs and shows each) and the job actors (it settles the stops that
// the scheduler publishes on mk.control.stop, and queues the jobs it resumes).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "actors/atoms.hpp"
#include "actors/errors.hpp"
#include "deterministic.hpp"
#include "messages/caf_types.hpp"
#include "models/job_record.hpp"
#include "models/schedule.hpp"
#include "oma/document_bucket.hpp"
#include "oma/job_store.hpp"
#include "oma/scheduler_actor.hpp"

namespace mk::actors {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

/// 2026-11-29T05:00:00Z: the clock starts an hour before a 22:00-06:00 window closes.
constexpr std::int64_t day_start = 1'795'910'400'000;
constexpr std::int64_t start_wall = day_start + 5 * 3600'000;

class scheduler_test : public deterministic_actors {
 protected:
  scheduler_test()
      : documents_(std::make_shared<memory_documents>()),
        store_(std::make_shared<memory_job_store>()),
        t0_(sched_.clock().now()) {
    registry_ = system_.spawn([this](caf::event_based_actor*) -> caf::behavior {
      return {
          [this](list_atom) {
            std::vector<job_summary> out;
            for (const auto& [id, j] : jobs_)
              out.push_back({id, j.vma, j.state, j.stop ? j.stop->id : ""});
            return out;
          },
          [this](get_atom, const std::string& id) -> caf::result<job_record> {
            if (!jobs_.contains(id)) return make_error(errc::not_found, "no job " + id);
            return jobs_[id];
          },
      };
    });
    for (const auto* subject : {"mk.control.stop", "mk.control.resume", "mk.maintenance"})
      subscriptions_.push_back(
          *transport_->subscribe(subject, [this](bus::envelope e) { heard(std::move(e)); }));
  }

  ~scheduler_test() override {
    for (auto& a : {actor_, registry_})
      if (a) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    consume();
  }

  std::int64_t now() const {
    return start_wall +
           std::chrono::duration_cast<std::chrono::milliseconds>(sched_.clock().now() - t0_)
               .count();
  }

  void spawn() {
    scheduler_options o;
    o.lanes = lanes_;
    o.now_unix_ms = [this] { return now(); };
    o.documents = documents_;
    o.store = store_;
    actor_ = spawn_scheduler(system_, oma_, caf::actor_cast<registry_hdl>(registry_), o);
    consume();
    caf::anon_send(actor_, start_atom::value);
    consume();
  }

  void restart() {
    caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
    consume();
    spawn();
  }

  void job(const std::string& id, const std::string& vma, msg::job_state s) {
    job_record j;
    j.id = id;
    j.vma = vma;
    j.state = s;
    jobs_[id] = j;
  }

  void publish_state(const std::string& id, msg::job_state s) {
    jobs_[id].state = s;
    msg::job_state_changed c;
    c.job = id;
    c.state = s;
    c.stop_id = jobs_[id].stop ? jobs_[id].stop->id : "";
    ASSERT_TRUE(oma_->publish(*oma_->subjects().job_state(id), c));
  }

  /// What the job actor would do with the scheduler's requests.
  void heard(bus::envelope e) {
    auto m = msg::decode_any(e.data);
    ASSERT_TRUE(m);
    if (auto* r = std::get_if<msg::stop_request>(&*m)) {
      stops_.push_back({r->job, now(), r->comment});
      EXPECT_EQ(r->reason, msg::stop_reason::schedule);
      EXPECT_EQ(r->hdr.from, "scheduler");
      auto& j = jobs_[r->job];
      j.stop = stop_record{};
      j.stop->id = "s-" + std::to_string(stops_.size());
      j.stop->reason = msg::stop_reason::schedule;
      j.stop->comment = r->comment;
      j.state = msg::job_state::stopping;
    } else if (auto* q = std::get_if<msg::resume_request>(&*m)) {
      resumes_.push_back(q->job);
    } else if (auto* mm = std::get_if<msg::maintenance>(&*m)) {
      maintenance_.push_back(*mm);
    }
  }

  /// The stops asked so far settle as `stopped`.
  void settle_stops() {
    for (auto& [id, j] : jobs_)
      if (j.state == msg::job_state::stopping) publish_state(id, msg::job_state::stopped);
    consume();
  }

  /// The resumes asked so far queue their jobs.
  void queue_resumed() {
    for (const auto& id : std::exchange(resumes_, {})) publish_state(id, msg::job_state::queued);
    consume();
  }

  expected<json, caf::error> add(const json& body) {
    std::optional<expected<json, caf::error>> out;
    system_.spawn([&](caf::event_based_actor* self) {
      self->request(actor_, std::chrono::seconds(3600), schedule_atom::value, body.dump(),
                    std::string("test"))
          .then([&](const std::string& text) { out = json::parse(text); },
                [&](const caf::error& err) { out = unexpected(err); });
    });
    consume();
    EXPECT_TRUE(out) << "no answer";
    return out ? *out : unexpected(caf::error(caf::sec::request_timeout));
  }

  /// The schedule `id` as GET /schedules shows it.
  json listed(const json& id) {
    const auto all = ask_json(caf::make_message(list_atom::value));
    for (const auto& s : all["schedules"])
      if (s["id"] == id) return s;
    return nullptr;
  }

  json ask_json(const caf::message& m) {
    json out;
    system_.spawn([&](caf::event_based_actor* self) {
      self->request(actor_, std::chrono::seconds(3600), m)
          .then([&](const std::string& text) { out = json::parse(text); },
                [&](const caf::error& err) {
                  out = {{"error", message_of(err)}};
                });
    });
    consume();
    return out;
  }

  /// Advances to `wall` (unix ms) in one-second steps.
  void advance_to(std::int64_t wall) { advance(std::chrono::milliseconds(wall - now()), 1s); }

  std::vector<std::string> stopped_jobs() const {
    std::vector<std::string> out;
    for (const auto& s : stops_) out.push_back(s.job);
    return out;
  }

  std::vector<std::string> logged(const std::string& job) {
    std::vector<std::string> out;
    auto entries = store_->read_log(job);
    EXPECT_TRUE(entries);
    for (const auto& text : entries ? *entries : std::vector<std::string>{}) {
      auto e = json::parse(text);
      out.push_back(e["event"].get<std::string>() + " " +
                    e["detail"]["schedule"].get<std::string>() + " " +
                    e["detail"]["action"].get<std::string>());
    }
    return out;
  }

  struct asked_stop {
    std::string job;
    std::int64_t at;
    std::string comment;
  };

  std::shared_ptr<memory_documents> documents_;
  std::shared_ptr<memory_job_store> store_;
  caf::actor_clock::time_point t0_;
  caf::actor registry_;
  caf::actor actor_;
  std::map<std::string, job_record> jobs_;
  std::vector<asked_stop> stops_;
  std::vector<std::string> resumes_;
  std::vector<msg::maintenance> maintenance_;
};

TEST_F(scheduler_test, a_window_that_closes_stops_the_jobs_in_scope_and_reopening_resumes_them) {
  job("r-1", "local", msg::job_state::replicating);
  job("r-2", "local", msg::job_state::queued);
  job("r-3", "other", msg::job_state::replicating);
  job("r-4", "local", msg::job_state::stopped);  // stopped by its operator: not the window's
  spawn();
  auto w = add({{"target", {{"vma", "local"}}}, {"window", {{"from", "22:00"}, {"to", "06:00"}}}});
  ASSERT_TRUE(w) << message_of(w.error());
  const auto id = (*w)["id"].get<std::string>();
  EXPECT_EQ((*w)["open"], true);
  EXPECT_EQ((*w)["next_change_at"], rfc3339(day_start + 6 * 3600'000));

  advance_to(day_start + 6 * 3600'000 - 1000);
  EXPECT_TRUE(stops_.empty()) << "nothing stops while the window is open";
  advance(1s, 1s);
  ASSERT_EQ(stopped_jobs(), (std::vector<std::string>{"r-1", "r-2"}));
  EXPECT_EQ(stops_[0].at, day_start + 6 * 3600'000) << "at the closing, to the millisecond";
  EXPECT_EQ(stops_[0].comment, "schedule " + id + ": outside the window 22:00-06:00 UTC");
  EXPECT_EQ(logged("r-1"), (std::vector<std::string>{"schedule_fired " + id + " stop"}));
  settle_stops();

  // Queued while the window is closed (a new job, a resume by hand): it waits for the opening.
  job("r-5", "local", msg::job_state::queued);
  publish_state("r-5", msg::job_state::queued);
  consume();
  ASSERT_EQ(stopped_jobs(), (std::vector<std::string>{"r-1", "r-2", "r-5"}));
  settle_stops();
  auto stored = schedule_from_json(**documents_->get(id));
  ASSERT_TRUE(stored) << stored.error();
  EXPECT_EQ(stored->stopped, (std::vector<std::string>{"r-1", "r-2", "r-5"}));
  EXPECT_EQ(stored->open, false);

  advance_to(day_start + 22 * 3600'000 - 1000);
  EXPECT_TRUE(resumes_.empty());
  advance(1s, 1s);
  std::ranges::sort(resumes_);
  EXPECT_EQ(resumes_, (std::vector<std::string>{"r-1", "r-2", "r-5"}))
      << "exactly the jobs it stopped: not r-3 (another agent) nor r-4 (stopped by hand)";
  EXPECT_EQ(logged("r-1").back(), "schedule_fired " + id + " resume");
  queue_resumed();
  EXPECT_TRUE(schedule_from_json(**documents_->get(id))->stopped.empty());
  EXPECT_EQ(stopped_jobs().size(), 3u) << "the queued jobs are not stopped again: it is open";

  // The next day it closes again.
  for (const auto* j : {"r-1", "r-2", "r-5"}) publish_state(j, msg::job_state::replicating);
  advance_to(day_start + 30 * 3600'000 + 1000);
  EXPECT_EQ(stopped_jobs().size(), 6u);
}

TEST_F(scheduler_test, a_job_still_stopping_at_the_opening_is_resumed_once_it_settles) {
  job("r-1", "local", msg::job_state::replicating);
  spawn();
  auto w =
      add({{"target", {{"all", true}}}, {"window", {{"from", "05:00:30"}, {"to", "05:00:10"}}}});
  ASSERT_TRUE(w);
  advance_to(start_wall + 10'000);
  ASSERT_EQ(stopped_jobs(), (std::vector<std::string>{"r-1"}));
  advance_to(start_wall + 31'000);  // open, and r-1 still stopping
  EXPECT_TRUE(resumes_.empty());
  settle_stops();
  EXPECT_EQ(resumes_, (std::vector<std::string>{"r-1"}));
}

TEST_F(scheduler_test, one_shot_actions_fire_once_at_their_time_and_say_what_they_did) {
  job("r-1", "local", msg::job_state::replicating);
  job("r-2", "other", msg::job_state::replicating);
  job("r-3", "local", msg::job_state::completed);
  spawn();
  auto at = [](int s) { return rfc3339(start_wall + s * 1000); };
  auto stop = add({{"action", "stop"}, {"target", {{"vma", "local"}}}, {"at", at(10)}});
  auto resume = add({{"action", "resume"}, {"target", {{"job", "r-1"}}}, {"at", at(20)}});
  auto on = add({{"action", "maintenance_on"}, {"target", {{"all", true}}}, {"at", at(30)}});
  auto off = add({{"action", "maintenance_off"}, {"target", {{"vma", "other"}}}, {"at", at(40)}});
  ASSERT_TRUE(stop && resume && on && off);
  EXPECT_EQ((*stop)["state"], "pending");

  advance_to(start_wall + 9'999);
  EXPECT_TRUE(stops_.empty());
  advance(1ms, 1ms);
  ASSERT_EQ(stopped_jobs(), (std::vector<std::string>{"r-1"}));
  EXPECT_EQ(stops_[0].comment,
            "schedule " + (*stop)["id"].get<std::string>() + ": stop at " + at(10));
  settle_stops();
  advance_to(start_wall + 20'000);
  EXPECT_EQ(resumes_, (std::vector<std::string>{"r-1"}));
  advance_to(start_wall + 40'000);
  ASSERT_EQ(maintenance_.size(), 2u);
  EXPECT_TRUE(maintenance_[0].enabled);
  EXPECT_EQ(maintenance_[0].scope, "all");
  EXPECT_EQ(maintenance_[0].reason,
            "schedule " + (*on)["id"].get<std::string>() + ": maintenance_on at " + at(30));
  EXPECT_FALSE(maintenance_[1].enabled);
  EXPECT_EQ(maintenance_[1].scope, "vma:other");
  EXPECT_TRUE(maintenance_[1].resume_after);

  EXPECT_EQ(ask_json(caf::make_message(list_atom::value))["schedules"].size(), 4u);
  auto fired = listed((*stop)["id"]);
  EXPECT_EQ(fired["state"], "fired");
  EXPECT_EQ(fired["fired_at"], at(10));
  EXPECT_EQ(fired["result"]["jobs"], json::array({"r-1"}));
  EXPECT_EQ(fired["result"]["detail"], "asked 1 job to stop");
  EXPECT_EQ(logged("r-1"),
            (std::vector<std::string>{
                "schedule_fired " + (*stop)["id"].get<std::string>() + " stop",
                "schedule_fired " + (*resume)["id"].get<std::string>() + " resume"}));
  advance(1h, 1min);
  EXPECT_EQ(stopped_jobs().size(), 1u) << "a one-shot fires once";
  EXPECT_EQ(resumes_.size(), 1u);
}

TEST_F(scheduler_test, a_fired_one_shot_leaves_the_list_after_its_retention_and_its_log_stays) {
  job("r-1", "local", msg::job_state::replicating);
  spawn();
  constexpr std::int64_t day = 24 * 3600'000;
  const auto fires = start_wall + 10'000;
  auto stop = add({{"action", "stop"}, {"target", {{"job", "r-1"}}}, {"at", rfc3339(fires)}});
  auto later =
      add({{"action", "resume"}, {"target", {{"job", "r-1"}}}, {"at", rfc3339(fires + 8 * day)}});
  ASSERT_TRUE(stop && later);
  const auto id = (*stop)["id"].get<std::string>();
  advance_to(fires);
  settle_stops();
  EXPECT_EQ(listed(id)["state"], "fired");

  const auto leaves =
      fires + std::chrono::milliseconds(defaults::schedules::fired_retention).count();
  advance(std::chrono::milliseconds(leaves - 1000 - now()), 1h);
  EXPECT_EQ(listed(id)["state"], "fired") << "still listed a second before its retention ends";
  ASSERT_TRUE(documents_->get(id).value());
  advance_to(leaves + 1000);
  EXPECT_TRUE(listed(id).is_null()) << "listed past its retention";
  EXPECT_FALSE(documents_->get(id).value()) << "still stored past its retention";
  EXPECT_EQ(listed((*later)["id"])["state"], "pending") << "a pending one-shot is kept";
  EXPECT_EQ(logged("r-1"), (std::vector<std::string>{"schedule_fired " + id + " stop"}))
      << "what it did stays in the JobLog";
}

TEST_F(scheduler_test, a_restart_carries_on_and_fires_what_it_missed) {
  job("r-1", "local", msg::job_state::replicating);
  spawn();
  auto w = add({{"target", {{"job", "r-1"}}}, {"window", {{"from", "05:10"}, {"to", "05:01"}}}});
  auto once =
      add({{"action", "stop"}, {"target", {{"all", true}}}, {"at", rfc3339(start_wall + 120'000)}});
  ASSERT_TRUE(w && once);
  advance_to(start_wall + 61'000);
  ASSERT_EQ(stopped_jobs(), (std::vector<std::string>{"r-1"}));
  settle_stops();

  // Down from 05:01:01 to 05:12: the one-shot's time passed and the window opened meanwhile.
  caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
  consume();
  advance_to(start_wall + 12 * 60'000);
  spawn();
  EXPECT_EQ(resumes_, (std::vector<std::string>{"r-1"})) << "the window resumes what it stopped";
  auto missed = listed((*once)["id"]);
  EXPECT_EQ(missed["state"], "fired") << "fired late rather than never";
  EXPECT_EQ(missed["fired_at"], rfc3339(start_wall + 12 * 60'000));
}

TEST_F(scheduler_test, removing_a_closed_window_resumes_the_jobs_it_stopped) {
  job("r-1", "local", msg::job_state::replicating);
  spawn();
  auto w = add({{"target", {{"all", true}}}, {"window", {{"from", "23:00"}, {"to", "01:00"}}}});
  ASSERT_TRUE(w);
  EXPECT_EQ((*w)["open"], false);
  ASSERT_EQ(stopped_jobs(), (std::vector<std::string>{"r-1"})) << "closed now: stops at once";
  settle_stops();
  restart();
  EXPECT_EQ(stopped_jobs().size(), 1u) << "a restart stops nothing twice";
  auto removed = ask_json(caf::make_message(remove_atom::value, (*w)["id"].get<std::string>()));
  EXPECT_EQ(removed["stopped"], json::array({"r-1"}));
  EXPECT_EQ(resumes_, (std::vector<std::string>{"r-1"}));
  EXPECT_FALSE(*documents_->get((*w)["id"].get<std::string>()));
  EXPECT_EQ(ask_json(caf::make_message(list_atom::value))["schedules"], json::array());
  EXPECT_EQ(ask_json(caf::make_message(remove_atom::value, std::string("sc-nothing")))["error"],
            "no schedule sc-nothing");
}

TEST_F(scheduler_test, bad_schedules_are_refused_naming_the_field_and_nothing_is_kept) {
  job("r-1", "local", msg::job_state::replicating);
  spawn();
  const std::pair<json, std::string> cases[] = {
      {{{"action", "stop"}, {"target", {{"all", true}}}, {"at", rfc3339(start_wall - 1000)}},
       "at: in the past (the OMA's time is " + rfc3339(start_wall) + ")"},
      {{{"action", "stop"}, {"target", {{"all", true}}}, {"at", "tomorrow"}},
       "at: an RFC 3339 time expected (2026-11-28T22:00:00Z)"},
      {{{"action", "halt"}, {"target", {{"all", true}}}, {"at", rfc3339(start_wall + 1000)}},
       "action: stop, resume, maintenance_on or maintenance_off expected (or a window)"},
      {{{"action", "maintenance_on"},
        {"target", {{"job", "r-1"}}},
        {"at", rfc3339(start_wall + 1000)}},
       R"(target: maintenance covers {"all":true} or {"vma":ID}, not one job)"},
      {{{"target", {{"vma", "../etc"}}}, {"window", {{"from", "22:00"}, {"to", "06:00"}}}},
       "target.vma: an id matching ^[a-z0-9][a-z0-9-]{0,62}$ expected"},
      {{{"target", {{"all", true}}}, {"window", {{"from", "22:00"}, {"to", "22:00"}}}},
       "window: from and to must differ"},
      {{{"target", {{"all", true}}}, {"window", {{"from", "24:00"}, {"to", "06:00"}}}},
       "window.from: a UTC time of day HH:MM or HH:MM:SS expected (22:00)"},
      {{{"target", {{"all", true}}}, {"window", {{"from", "22:00"}, {"to", "06:00"}}}, {"x", 1}},
       "unknown field \"x\" (action, target, at or window expected)"},
      {{{"window", {{"from", "22:00"}, {"to", "06:00"}}}},
       R"(target: one of {"job":ID}, {"vma":ID} or {"all":true} expected)"},
  };
  for (const auto& [body, message] : cases) {
    auto r = add(body);
    ASSERT_FALSE(r) << body.dump();
    EXPECT_EQ(code_of(r.error()), errc::invalid) << body.dump();
    EXPECT_EQ(message_of(r.error()), message) << body.dump();
  }
  auto unknown =
      add({{"action", "stop"}, {"target", {{"job", "r-9"}}}, {"at", rfc3339(start_wall + 1000)}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(code_of(unknown.error()), errc::not_found);
  EXPECT_TRUE(documents_->keys()->empty());
  EXPECT_TRUE(stops_.empty());
}

TEST(schedule_window, opens_and_closes_across_midnight_by_utc_seconds_of_day) {
  daily_window w{22 * 3600, 6 * 3600};
  EXPECT_TRUE(w.open_at(day_start + 23 * 3600'000));
  EXPECT_TRUE(w.open_at(day_start + 5 * 3600'000 + 3599'999));
  EXPECT_FALSE(w.open_at(day_start + 6 * 3600'000));
  EXPECT_TRUE(w.open_at(day_start + 22 * 3600'000));
  EXPECT_EQ(w.next_change_after(day_start), day_start + 6 * 3600'000);
  EXPECT_EQ(w.next_change_after(day_start + 6 * 3600'000), day_start + 22 * 3600'000);
  EXPECT_EQ(w.next_change_after(day_start + 23 * 3600'000), day_start + 30 * 3600'000);
  daily_window day{9 * 3600 + 30, 17 * 3600};
  EXPECT_FALSE(day.open_at(day_start + 9 * 3600'000 + 29'999));
  EXPECT_TRUE(day.open_at(day_start + 9 * 3600'000 + 30'000));
  EXPECT_EQ(day.text(), "09:00:30-17:00 UTC");
}

}  // namespace
}  // namespace mk::actors
