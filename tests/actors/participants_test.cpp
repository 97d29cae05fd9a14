// The OMA's stop participants step by step: CAF's deterministic scheduler and virtual clock, the
// bus in memory, a local volume backend in a temporary folder (no server is started here). The
// test plays the job actor (it publishes stops and reads the confirmations), the registry (a
// recorder of what the participants send it) and the agents (responders to status requests
// that answer inline, or stay silent).
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "actors/actor_config.hpp"
#include "actors/atoms.hpp"
#include "actors/errors.hpp"
#include "actors/ids.hpp"
#include "actors/poller_actor.hpp"
#include "actors/scheduler_actor.hpp"
#include "actors/volume_actor.hpp"
#include "bus/in_memory_transport.hpp"
#include "deterministic.hpp"
#include "messages/caf_types.hpp"
#include "support/temp_dir.hpp"
#include "volumes/local_backend.hpp"

namespace mk::actors {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

/// What the registry got, in order.
using inbox = std::vector<caf::message>;

caf::behavior recorder(caf::event_based_actor* self, std::shared_ptr<inbox> got) {
  self->set_default_handler(
      [got](caf::scheduled_actor*, caf::message_view& m) -> caf::result<caf::message> {
        got->push_back(m.copy_content_to_message());
        return caf::message{};
      });
  return {[](const std::string&) {}};  // anything at all goes to the default handler
}

class participants : public deterministic_actors {
 protected:
  participants() : got_(std::make_shared<inbox>()) {
    registry_ = system_.spawn(recorder, got_);
    auto confirms = transport_->subscribe("mk.job.*.stopped", [this](bus::envelope e) {
      auto c = msg::decode<msg::stop_confirm>(e.data);
      ASSERT_TRUE(c) << c.error().message;
      confirms_.push_back(*c);
    });
    EXPECT_TRUE(confirms);
    subscriptions_.push_back(std::move(*confirms));
  }

  ~participants() override {
    subscriptions_.clear();
    for (const auto& a : spawned_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(registry_, caf::exit_reason::user_shutdown);
    consume();
  }

  caf::actor keep(caf::actor a) {
    spawned_.push_back(a);
    return a;
  }

  /// Asks `to` and runs the system until it answered: the reply, or the error.
  template <class... R, class... Ts>
  caf::expected<std::tuple<R...>> ask(const caf::actor& to, Ts... xs) {
    auto slot = std::make_shared<std::optional<caf::expected<std::tuple<R...>>>>();
    system_.spawn([=](caf::event_based_actor* self) {
      self->request(to, caf::infinite, xs...)
          .then([slot](R... r) { *slot = std::tuple<R...>(std::move(r)...); },
                [slot](caf::error& e) { *slot = std::move(e); });
    });
    consume();
    if (!*slot) return caf::make_error(caf::sec::request_timeout);
    return std::move(**slot);
  }

  void publish_stop(const std::string& job, const std::string& stop_id, const std::string& to,
                    msg::volume_action volumes = msg::volume_action::keep,
                    const std::string& vma = "local") {
    msg::stop_request r;
    r.job = job;
    r.stop_id = stop_id;
    r.to = to;
    r.vma = vma;
    r.volumes = volumes;
    ASSERT_TRUE(oma_->publish(*oma_->subjects().job_stop(job), r));
  }

  void publish_progress(const std::string& job, std::uint64_t done, std::string state = "copying",
                        std::uint64_t total = 1000) {
    msg::progress p;
    p.job = job;
    p.state = std::move(state);
    p.bytes_done = done;
    p.bytes_total = total;
    ASSERT_TRUE(agent_->publish(*agent_->subjects().job_progress(job), p));
  }

  /// The registry's messages of one kind, as (job, payload) pairs.
  template <class Atom, class T>
  std::vector<std::pair<std::string, T>> sent() const {
    std::vector<std::pair<std::string, T>> out;
    for (const auto& m : *got_) {
      if (m.match_elements<Atom, std::string, T>())
        out.emplace_back(m.get_as<std::string>(1), m.get_as<T>(2));
    }
    return out;
  }

  auto snapshots() const { return sent<snapshot_atom, msg::progress>(); }
  auto exits() const { return sent<exited_atom, msg::progress>(); }
  auto losses() const { return sent<lost_atom, std::string>(); }
  auto stalls() const { return sent<stalled_atom, std::uint64_t>(); }
  auto fired() const { return sent<trigger_atom, std::string>(); }

  /// Answers `mk.vma.<vma>.status` inline with `movers` (or not at all while `silent`).
  void agent_answers(const std::string& vma) {
    auto sub = transport_->subscribe("mk.vma." + vma + ".status", [this, vma](bus::envelope e) {
      ++status_requests_;
      if (silent_) return;
      msg::vma_status s;
      s.vma = vma;
      s.movers = movers_;
      ASSERT_TRUE(agent_->reply(e, s));
    });
    ASSERT_TRUE(sub);
    subscriptions_.push_back(std::move(*sub));
  }

  std::shared_ptr<inbox> got_;
  caf::actor registry_;
  std::vector<caf::actor> spawned_;
  std::vector<msg::stop_confirm> confirms_;
  std::vector<msg::mover_info> movers_;
  bool silent_ = false;
  int status_requests_ = 0;
};

msg::mover_info running(const std::string& job, std::uint64_t done) {
  msg::mover_info m;
  m.job = job;
  m.pid = 4242;
  m.state = "running";
  m.bytes_done = done;
  return m;
}

// ---------------------------------------------------------------------------------------------
// The poller

poller_options quick_poller() {
  poller_options o;
  o.stall_after = 60s;
  o.status_interval = 5s;
  o.status_timeout = 1ms;  // real time: a silent responder costs the test a millisecond
  o.missed_limit = 3;
  o.snapshot_interval = 500ms;
  o.list_grace = 10s;
  o.detach_requests = false;
  return o;
}

TEST_F(participants, poller_forwards_the_latest_snapshot_at_most_every_500ms_per_job) {
  auto poller = keep(spawn_poller(system_, oma_, registry_, quick_poller()));
  consume();
  publish_progress("r-1", 10);
  consume();
  auto snaps = snapshots();
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0].first, "r-1");
  EXPECT_EQ(snaps[0].second.bytes_done, 10u);

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
  publish_progress("r-1", 40, "exited");
  consume();
  auto ex = exits();
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].second.state, "exited");

  auto latest = ask<msg::progress>(poller, get_atom::value, std::string("r-1"));
  ASSERT_TRUE(latest) << message_of(latest.error());
  EXPECT_EQ(std::get<0>(*latest).state, "exited");
  auto none = ask<msg::progress>(poller, get_atom::value, std::string("r-9"));
  ASSERT_FALSE(none);
  EXPECT_EQ(code_of(none.error()), errc::not_found);
}

TEST_F(participants, poller_drops_malformed_progress_and_counts_it) {
  auto poller = keep(spawn_poller(system_, oma_, registry_, quick_poller()));
  consume();
  const std::vector<std::uint8_t> garbage{0xc1, 0x00, 0xff};
  ASSERT_TRUE(transport_->publish("mk.job.r-1.progress", garbage));
  // Well-formed, but for another job than its subject says.
  msg::progress p;
  p.job = "r-2";
  ASSERT_TRUE(agent_->publish("mk.job.r-1.progress", p));
  consume();
  EXPECT_TRUE(got_->empty());
  auto stats = ask<std::string>(poller, get_atom::value);
  ASSERT_TRUE(stats);
  EXPECT_EQ(json::parse(std::get<0>(*stats))["malformed"], 2);
}

TEST_F(participants, poller_reports_a_stall_once_until_progress_moves) {
  agent_answers("local");
  movers_ = {running("r-1", 100)};
  auto poller = keep(spawn_poller(system_, oma_, registry_, quick_poller()));
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
  auto poller = keep(spawn_poller(system_, oma_, registry_, quick_poller()));
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

TEST_F(participants, poller_reports_an_exit_the_agent_lists) {
  agent_answers("local");
  auto exited = running("r-1", 700);
  exited.state = "exited";
  exited.exit_code = 1;
  exited.detail = "exit 1: target: write failed";
  movers_ = {exited};
  auto poller = keep(spawn_poller(system_, oma_, registry_, quick_poller()));
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
  publish_progress("r-1", 700, "exited");
  consume();
  advance(10s);
  EXPECT_EQ(exits().size(), 1u);
  EXPECT_TRUE(losses().empty());
}

TEST_F(participants, poller_stop_takes_the_final_snapshot_and_is_idempotent) {
  agent_answers("local");
  movers_ = {running("r-1", 20)};
  auto poller = keep(spawn_poller(system_, oma_, registry_, quick_poller()));
  caf::anon_send(poller, start_atom::value, std::string("r-1"), std::string("local"));
  consume();
  publish_progress("r-1", 10, "copying", 100);
  publish_progress("r-1", 20, "draining", 100);  // waits for its turn
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

// ---------------------------------------------------------------------------------------------
// The scheduler

constexpr std::int64_t wall = 1'800'000'000'000;  // a fixed wall clock: virtual time decides

scheduler_options fixed_wall() {
  return {.now_unix_ms = [] { return wall; }};
}

TEST_F(participants, scheduler_fires_a_trigger_at_its_virtual_time) {
  auto scheduler = keep(spawn_scheduler(system_, oma_, registry_, fixed_wall()));
  consume();
  auto id = ask<std::string>(scheduler, trigger_atom::value, std::string("r-1"),
                             std::string("stop"), wall + 60'000);
  ASSERT_TRUE(id) << message_of(id.error());
  EXPECT_FALSE(std::get<0>(*id).empty());
  auto listed = ask<std::string>(scheduler, get_atom::value);
  ASSERT_TRUE(listed);
  auto triggers = json::parse(std::get<0>(*listed));
  ASSERT_EQ(triggers.size(), 1u);
  EXPECT_EQ(triggers[0]["id"], std::get<0>(*id));
  EXPECT_EQ(triggers[0]["job"], "r-1");
  EXPECT_EQ(triggers[0]["action"], "stop");
  EXPECT_EQ(triggers[0]["at_unix_ms"], wall + 60'000);

  advance(59'999ms, 59'999ms);
  EXPECT_TRUE(fired().empty());
  advance(1ms, 1ms);
  auto got = fired();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (std::pair<std::string, std::string>{"r-1", "stop"}));
  advance(5min, 1min);
  EXPECT_EQ(fired().size(), 1u) << "a trigger fires once";
  listed = ask<std::string>(scheduler, get_atom::value);
  EXPECT_EQ(std::get<0>(*listed), "[]");

  // A time that has passed fires at once.
  ASSERT_TRUE((ask<std::string>(scheduler, trigger_atom::value, std::string("r-2"),
                                std::string("resume"), wall - 5'000)));
  sched_.advance_time(0ms);
  consume();
  got = fired();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], (std::pair<std::string, std::string>{"r-2", "resume"}));

  auto bad = ask<std::string>(scheduler, trigger_atom::value, std::string("r-1"),
                              std::string("explode"), wall);
  ASSERT_FALSE(bad);
  EXPECT_EQ(code_of(bad.error()), errc::invalid);
  EXPECT_NE(message_of(bad.error()).find("explode"), std::string::npos);
  bad = ask<std::string>(scheduler, trigger_atom::value, std::string("../x"), std::string("stop"),
                         wall);
  ASSERT_FALSE(bad);
  EXPECT_EQ(code_of(bad.error()), errc::invalid);
  bad = ask<std::string>(scheduler, trigger_atom::value, std::string("r-1"), std::string("stop"),
                         std::numeric_limits<std::int64_t>::max());
  ASSERT_FALSE(bad);
  EXPECT_EQ(code_of(bad.error()), errc::invalid);
}

TEST_F(participants, scheduler_stop_drops_the_jobs_triggers_once) {
  auto scheduler = keep(spawn_scheduler(system_, oma_, registry_, fixed_wall()));
  consume();
  for (const auto& [job, action, at] :
       std::vector<std::tuple<std::string, std::string, std::int64_t>>{
           {"r-1", "stop", wall + 10'000},
           {"r-1", "resume", wall + 20'000},
           {"r-2", "stop", wall + 15'000}}) {
    ASSERT_TRUE((ask<std::string>(scheduler, trigger_atom::value, job, action, at)));
  }
  publish_stop("r-1", "s-1", "scheduler");
  consume();
  ASSERT_EQ(confirms_.size(), 1u);
  EXPECT_EQ(confirms_[0].who, msg::participant::scheduler);
  EXPECT_EQ(confirms_[0].result, msg::outcome::ok);
  EXPECT_EQ(confirms_[0].detail, "dropped 2 triggers");

  // Asked again (a re-send): the same answer, although nothing is left to drop.
  publish_stop("r-1", "s-1", "scheduler");
  consume();
  ASSERT_EQ(confirms_.size(), 2u);
  EXPECT_EQ(confirms_[1].detail, "dropped 2 triggers");

  advance(30s, 1s);
  auto got = fired();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (std::pair<std::string, std::string>{"r-2", "stop"}));

  publish_stop("r-1", "s-2", "scheduler");
  consume();
  ASSERT_EQ(confirms_.size(), 3u);
  EXPECT_EQ(confirms_[2].detail, "dropped 0 triggers");
}

// ---------------------------------------------------------------------------------------------
// The volume actor, without a server: volumes at rest.

class volume_participant : public participants {
 protected:
  volume_participant() {
    auto b = volumes::local_backend::open({.data_dir = dir_.path()});
    EXPECT_TRUE(b) << b.error().message;
    backend_ = std::move(*b);
    volume_ = keep(spawn_volume_actor(system_, oma_, backend_, {.detached = false}));
    consume();
  }

  /// A volume with 1 MiB of data written into it, as a mover would have.
  void make_volume(const std::string& id) {
    auto v = backend_->create(id, 64 << 20);
    ASSERT_TRUE(v) << v.error().message;
    std::fstream f(v->path, std::ios::in | std::ios::out | std::ios::binary);
    const std::string data(1 << 20, 'x');
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
    ASSERT_TRUE(f.good());
  }

  test::temp_dir dir_;
  std::shared_ptr<volumes::local_backend> backend_;
  caf::actor volume_;
};

TEST_F(volume_participant, keep_marks_the_volume_partial_with_its_checkpoint) {
  ASSERT_EQ(volume_id_for("r-1"), "v-1");
  make_volume("v-1");
  publish_stop("r-1", "s-1", "volume", msg::volume_action::keep, "local");
  consume();
  ASSERT_EQ(confirms_.size(), 1u);
  EXPECT_EQ(confirms_[0].who, msg::participant::volume);
  EXPECT_EQ(confirms_[0].result, msg::outcome::ok) << confirms_[0].detail;
  EXPECT_EQ(confirms_[0].detail, "kept as partial, 1.0 MiB allocated");
  auto v = backend_->info("v-1");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->state, volumes::volume_state::partial);
  EXPECT_EQ(v->checkpoint, "vma:local/r-1");

  // Without an agent the checkpoint cannot be named: refused before anything changes.
  make_volume("v-2");
  publish_stop("r-2", "s-2", "volume", msg::volume_action::keep, "");
  consume();
  ASSERT_EQ(confirms_.size(), 2u);
  EXPECT_EQ(confirms_[1].result, msg::outcome::failed);
  EXPECT_NE(confirms_[1].detail.find("v-2"), std::string::npos) << confirms_[1].detail;
  EXPECT_EQ(backend_->info("v-2")->state, volumes::volume_state::detached);

  // A complete volume stays complete.
  make_volume("v-3");
  ASSERT_TRUE(backend_->mark_complete("v-3"));
  publish_stop("r-3", "s-3", "volume", msg::volume_action::keep, "local");
  consume();
  ASSERT_EQ(confirms_.size(), 3u);
  EXPECT_EQ(confirms_[2].result, msg::outcome::ok);
  EXPECT_EQ(confirms_[2].detail, "kept, complete, 1.0 MiB allocated");
  EXPECT_EQ(backend_->info("v-3")->state, volumes::volume_state::complete);
}

TEST_F(volume_participant, delete_removes_the_file_and_a_repeated_stop_acts_once) {
  make_volume("v-1");
  const auto path = backend_->info("v-1")->path;
  publish_stop("r-1", "s-1", "volume", msg::volume_action::remove);
  consume();
  ASSERT_EQ(confirms_.size(), 1u);
  EXPECT_EQ(confirms_[0].result, msg::outcome::ok) << confirms_[0].detail;
  EXPECT_EQ(confirms_[0].detail, "deleted");
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(backend_->info("v-1").error().code, volumes::errc::not_found);

  // A volume made anew under the same id: a re-sent s-1 is answered, never acted on again.
  make_volume("v-1");
  publish_stop("r-1", "s-1", "volume", msg::volume_action::remove);
  consume();
  ASSERT_EQ(confirms_.size(), 2u);
  EXPECT_EQ(confirms_[1].detail, "deleted");
  EXPECT_TRUE(fs::exists(path)) << "the same stop acted twice";
  // A stop of its own does act.
  publish_stop("r-1", "s-2", "volume", msg::volume_action::remove);
  consume();
  ASSERT_EQ(confirms_.size(), 3u);
  EXPECT_EQ(confirms_[2].stop_id, "s-2");
  EXPECT_FALSE(fs::exists(path));

  publish_stop("r-9", "s-9", "volume", msg::volume_action::remove);
  publish_stop("r-8", "s-8", "volume", msg::volume_action::keep);
  consume();
  ASSERT_EQ(confirms_.size(), 5u);
  EXPECT_EQ(confirms_[3].detail, "no volume");
  EXPECT_EQ(confirms_[3].result, msg::outcome::ok);
  EXPECT_EQ(confirms_[4].detail, "no volume");
}

TEST_F(volume_participant, finish_marks_and_get_describes) {
  make_volume("v-1");
  make_volume("v-2");
  auto done = ask<caf::unit_t>(volume_, finish_atom::value, std::string("v-1"), true,
                               std::string("vma:local/r-1"));
  ASSERT_TRUE(done) << message_of(done.error());
  EXPECT_EQ(backend_->info("v-1")->state, volumes::volume_state::complete);
  done = ask<caf::unit_t>(volume_, finish_atom::value, std::string("v-2"), false,
                          std::string("vma:local/r-2"));
  ASSERT_TRUE(done) << message_of(done.error());
  EXPECT_EQ(backend_->info("v-2")->state, volumes::volume_state::partial);
  EXPECT_EQ(backend_->info("v-2")->checkpoint, "vma:local/r-2");

  auto text = ask<std::string>(volume_, get_atom::value, std::string("v-1"));
  ASSERT_TRUE(text) << message_of(text.error());
  const auto v = json::parse(std::get<0>(*text));
  EXPECT_EQ(v["id"], "v-1");
  EXPECT_EQ(v["state"], "complete");
  EXPECT_EQ(v["size"], 64u << 20);
  EXPECT_EQ(v["path"], (dir_.path() / "volumes" / "v-1.img").string());

  auto unknown = ask<std::string>(volume_, get_atom::value, std::string("v-9"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(code_of(unknown.error()), errc::not_found);
  auto missing =
      ask<caf::unit_t>(volume_, finish_atom::value, std::string("v-9"), true, std::string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(code_of(missing.error()), errc::not_found);
}

TEST_F(volume_participant, attach_refuses_a_bad_source_naming_the_volume) {
  auto bad = ask<std::string, std::uint64_t>(volume_, attach_atom::value, std::string("v-1"),
                                             std::string("ftp://example.com/disk"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(code_of(bad.error()), errc::invalid);
  EXPECT_NE(message_of(bad.error()).find("volume v-1"), std::string::npos)
      << message_of(bad.error());
  EXPECT_NE(message_of(bad.error()).find("ftp"), std::string::npos) << message_of(bad.error());
  auto missing = ask<std::string, std::uint64_t>(volume_, attach_atom::value, std::string("v-1"),
                                                 (dir_.path() / "no-such-disk").string());
  ASSERT_FALSE(missing);
  EXPECT_NE(message_of(missing.error()).find("no-such-disk"), std::string::npos)
      << message_of(missing.error());
  EXPECT_EQ(backend_->info("v-1").error().code, volumes::errc::not_found)
      << "a volume was made for a source that cannot be read";
  auto bad_id = ask<std::string, std::uint64_t>(volume_, attach_atom::value, std::string("../x"),
                                                std::string("/dev/null"));
  ASSERT_FALSE(bad_id);
  EXPECT_EQ(code_of(bad_id.error()), errc::invalid);
}

// ---------------------------------------------------------------------------------------------
// Ending: armed timers hold up no shutdown (STACK.md), on CAF's real scheduler.

TEST(participants_shutdown, end_with_timers_armed) {
  const auto started = std::chrono::steady_clock::now();
  {
    actor_config cfg;
    caf::actor_system system{cfg};
    auto transport = std::make_shared<bus::in_memory_transport>();
    auto link = std::make_shared<bus_link>(transport, "mk", "oma");
    auto registry = system.spawn([](caf::event_based_actor*) -> caf::behavior {
      return {[](trigger_atom, const std::string&, const std::string&) {}};
    });
    auto scheduler = spawn_scheduler(system, link, registry);
    auto poller = spawn_poller(system, link, registry, {});
    caf::scoped_actor self{system};
    self->request(scheduler, caf::infinite, trigger_atom::value, std::string("r-1"),
                  std::string("stop"), unix_ms() + 3'600'000)
        .receive([](const std::string&) {}, [](const caf::error& e) { FAIL() << message_of(e); });
    // Following a job arms the poller's re-arming poll.
    self->send(poller, start_atom::value, std::string("r-1"), std::string("local"));
    self->send(poller, shutdown_atom::value);
    for (const auto& a : {scheduler, registry}) self->send_exit(a, caf::exit_reason::user_shutdown);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

}  // namespace
}  // namespace mk::actors
