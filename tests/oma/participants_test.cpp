// The OMA's stop participants step by step: CAF's deterministic scheduler and virtual clock, the
// bus in memory, a local volume backend in a temporary folder (no server is started here). The
// test plays the job actor (it publishes stops and reads the confirmations), the registry (a
// recorder of what the participants send it) and the agents (responders to status requests
// that answer inline, or stay silent).
#include "participants_fixture.hpp"

namespace mk::actors {
namespace participants_test {
namespace {

constexpr std::int64_t wall = 1'800'000'000'000;  // a fixed wall clock: virtual time decides

scheduler_options fixed_wall(std::shared_ptr<blocking_lanes> lanes) {
  scheduler_options o;
  o.now_unix_ms = [] { return wall; };
  o.lanes = std::move(lanes);
  return o;
}

TEST_F(participants, scheduler_fires_a_trigger_at_its_virtual_time) {
  auto scheduler = keep(spawn_scheduler(system_, oma_, registry(), fixed_wall(lanes_)));
  consume();
  auto id = ask<std::string>(scheduler, trigger_atom::value, std::string("r-1"),
                             trigger_action::stop, wall + 60'000);
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
  EXPECT_EQ(got[0], (std::pair<std::string, trigger_action>{"r-1", trigger_action::stop}));
  advance(5min, 1min);
  EXPECT_EQ(fired().size(), 1u) << "a trigger fires once";
  listed = ask<std::string>(scheduler, get_atom::value);
  EXPECT_EQ(std::get<0>(*listed), "[]");

  // A time that has passed fires at once.
  ASSERT_TRUE((ask<std::string>(scheduler, trigger_atom::value, std::string("r-2"),
                                trigger_action::resume, wall - 5'000)));
  sched_.advance_time(0ms);
  consume();
  got = fired();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], (std::pair<std::string, trigger_action>{"r-2", trigger_action::resume}));

  auto bad = ask<std::string>(scheduler, trigger_atom::value, std::string("../x"),
                              trigger_action::stop, wall);
  ASSERT_FALSE(bad);
  EXPECT_EQ(code_of(bad.error()), errc::invalid);
  bad = ask<std::string>(scheduler, trigger_atom::value, std::string("r-1"), trigger_action::stop,
                         std::numeric_limits<std::int64_t>::max());
  ASSERT_FALSE(bad);
  EXPECT_EQ(code_of(bad.error()), errc::invalid);
}

TEST_F(participants, scheduler_stop_drops_the_jobs_triggers_once) {
  auto scheduler = keep(spawn_scheduler(system_, oma_, registry(), fixed_wall(lanes_)));
  consume();
  for (const auto& [job, action, at] :
       std::vector<std::tuple<std::string, trigger_action, std::int64_t>>{
           {"r-1", trigger_action::stop, wall + 10'000},
           {"r-1", trigger_action::resume, wall + 20'000},
           {"r-2", trigger_action::stop, wall + 15'000}}) {
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
  EXPECT_EQ(got[0], (std::pair<std::string, trigger_action>{"r-2", trigger_action::stop}));

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
    volume_ =
        keep(spawn_volume_actor(system_, oma_, backend_, {.detached = false, .remote_for = {}}));
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
  volume_hdl volume_;
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
  auto done =
      ask<>(volume_, finish_atom::value, std::string("v-1"), true, std::string("vma:local/r-1"));
  ASSERT_TRUE(done) << message_of(done.error());
  EXPECT_EQ(backend_->info("v-1")->state, volumes::volume_state::complete);
  done =
      ask<>(volume_, finish_atom::value, std::string("v-2"), false, std::string("vma:local/r-2"));
  ASSERT_TRUE(done) << message_of(done.error());
  EXPECT_EQ(backend_->info("v-2")->state, volumes::volume_state::partial);
  EXPECT_EQ(backend_->info("v-2")->checkpoint, "vma:local/r-2");

  auto got = ask<volumes::volume_info>(volume_, get_atom::value, std::string("v-1"));
  ASSERT_TRUE(got) << message_of(got.error());
  const auto& v = std::get<0>(*got);
  EXPECT_EQ(v.id, "v-1");
  EXPECT_EQ(v.state, volumes::volume_state::complete);
  EXPECT_EQ(v.size, 64u << 20);
  EXPECT_EQ(v.path, dir_.path() / "volumes" / "v-1.img");

  auto unknown = ask<volumes::volume_info>(volume_, get_atom::value, std::string("v-9"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(code_of(unknown.error()), errc::not_found);
  auto missing = ask<>(volume_, finish_atom::value, std::string("v-9"), true, std::string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(code_of(missing.error()), errc::not_found);
}

TEST_F(volume_participant, attach_refuses_an_empty_source_and_a_bad_id_naming_the_volume) {
  auto empty = ask<std::string, std::uint64_t>(volume_, attach_atom::value, std::string("v-1"),
                                               std::uint64_t{0}, std::string("local"));
  ASSERT_FALSE(empty);
  EXPECT_EQ(code_of(empty.error()), errc::invalid);
  EXPECT_NE(message_of(empty.error()).find("volume v-1"), std::string::npos)
      << message_of(empty.error());
  EXPECT_EQ(backend_->info("v-1").error().code, volumes::errc::not_found)
      << "a volume was made for an empty source";
  auto bad_id = ask<std::string, std::uint64_t>(volume_, attach_atom::value, std::string("../x"),
                                                std::uint64_t{4096}, std::string("local"));
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
      return {[](trigger_atom, const std::string&, trigger_action) {}};
    });
    auto scheduler = spawn_scheduler(system, link, caf::actor_cast<registry_hdl>(registry));
    auto poller = spawn_poller(system, link, caf::actor_cast<registry_hdl>(registry), {});
    caf::scoped_actor self{system};
    self->request(scheduler, caf::infinite, trigger_atom::value, std::string("r-1"),
                  trigger_action::stop, unix_ms() + 3'600'000)
        .receive([](const std::string&) {}, [](const caf::error& e) { FAIL() << message_of(e); });
    // Following a job arms the poller's re-arming poll.
    self->send(poller, start_atom::value, std::string("r-1"), std::string("local"));
    self->send(poller, shutdown_atom::value);
    for (const auto& a : {scheduler, registry}) self->send_exit(a, caf::exit_reason::user_shutdown);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

}  // namespace
}  // namespace participants_test
}  // namespace mk::actors
