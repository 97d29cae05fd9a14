// The volume actor with real servers: a volume is made at the size of a real nbdkit source (as
// the job's agent measured it), served by the local backend's nbdkit, and a real `migratekit copy`
// writes through the URI it answered. The stops of phase 2 detach what is attached. The bus is the
// in-memory one (the volume's protocol is what is tested here, the bus has its own integration
// tests); the actor runs detached on CAF's real scheduler, as in the OMA.
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

#include "actors/actor_config.hpp"
#include "actors/atoms.hpp"
#include "actors/errors.hpp"
#include "bus/in_memory_transport.hpp"
#include "messages/caf_types.hpp"
#include "nats_fixture.hpp"
#include "oma/poller_actor.hpp"
#include "oma/volume_actor.hpp"
#include "oma/volumes/local_backend.hpp"
#include "support/files.hpp"
#include "support/hash.hpp"
#include "support/nbdkit.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace mk::actors {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr std::uint64_t disk = 32 << 20;

class volume_actor_serving : public ::testing::Test {
 protected:
  volume_actor_serving()
      : transport_(std::make_shared<bus::in_memory_transport>()),
        link_(std::make_shared<bus_link>(transport_, "mk", "oma")) {
    auto b = volumes::local_backend::open({.data_dir = dir_.path()});
    EXPECT_TRUE(b) << b.error().message;
    backend_ = std::move(*b);
    volume_ = spawn_volume_actor(system_, link_, backend_);
    auto confirms = transport_->subscribe("mk.job.*.stopped", [this](bus::envelope e) {
      auto c = msg::decode<msg::stop_confirm>(e.data);
      ASSERT_TRUE(c) << c.error().message;
      std::lock_guard lock(mutex_);
      confirms_.push_back(*c);
    });
    EXPECT_TRUE(confirms);
    confirms_sub_ = std::move(*confirms);
  }

  ~volume_actor_serving() override {
    confirms_sub_.reset();
    caf::anon_send_exit(volume_, caf::exit_reason::user_shutdown);
    volume_ = nullptr;
    system_.await_all_actors_done();
    // Servers outlive their backend by design: what a failed test left attached goes here.
    if (auto all = backend_->list()) {
      for (const auto& v : *all)
        if (v.state == volumes::volume_state::attached) (void)backend_->detach(v.id, false);
    }
  }

  /// Attaches `id` at `source_size` bytes, as the job's agent measured its source.
  caf::expected<std::pair<std::string, std::uint64_t>> attach(const std::string& id,
                                                              std::uint64_t source_size) {
    caf::scoped_actor self{system_};
    caf::expected<std::pair<std::string, std::uint64_t>> out{caf::sec::request_timeout};
    self->request(volume_, 60s, attach_atom::value, id, source_size, std::string("local"))
        .receive(
            [&](const std::string& uri, std::uint64_t size) {
              out = std::pair{uri, size};
            },
            [&](const caf::error& e) { out = e; });
    return out;
  }

  caf::error finish(const std::string& id, bool complete, const std::string& checkpoint) {
    caf::scoped_actor self{system_};
    caf::error out = caf::sec::request_timeout;
    self->request(volume_, 60s, finish_atom::value, id, complete, checkpoint)
        .receive([&] { out = caf::none; }, [&](const caf::error& e) { out = e; });
    return out;
  }

  /// Publishes a stop to "volume" and waits for its confirmation.
  msg::stop_confirm stop(const std::string& job, const std::string& stop_id,
                         msg::volume_action volumes) {
    msg::stop_request r;
    r.job = job;
    r.stop_id = stop_id;
    r.to = "volume";
    r.vma = "local";
    r.volumes = volumes;
    EXPECT_TRUE(link_->publish(*link_->subjects().job_stop(job), r));
    const bool heard = test::eventually(
        [&] {
          std::lock_guard lock(mutex_);
          return std::ranges::any_of(confirms_,
                                     [&](const auto& c) { return c.stop_id == stop_id; });
        },
        30s);
    EXPECT_TRUE(heard) << "no confirmation of " << stop_id;
    std::lock_guard lock(mutex_);
    for (const auto& c : confirms_)
      if (c.stop_id == stop_id) return c;
    return {};
  }

  /// `migratekit copy SOURCE TARGET`, which must exit 0 within 60 s.
  void copy(const std::string& source, const std::string& target) {
    auto p =
        test::process::spawn({MK_MIGRATEKIT_PATH, "copy", source, target},
                             {.stdout_path = dir_ / "copy.out", .stderr_path = dir_ / "copy.err"});
    auto status = p.wait_for(60s);
    ASSERT_TRUE(status) << "the copy did not end in 60 s";
    EXPECT_EQ(*status, test::exit_status::exited(0)) << test::read_text(dir_ / "copy.err");
  }

  test::temp_dir dir_;
  std::shared_ptr<bus::in_memory_transport> transport_;
  std::shared_ptr<bus_link> link_;
  std::shared_ptr<volumes::local_backend> backend_;
  actor_config cfg_;
  caf::actor_system system_{cfg_};
  volume_hdl volume_;
  bus::subscription confirms_sub_;
  std::mutex mutex_;
  std::vector<msg::stop_confirm> confirms_;
};

TEST_F(volume_actor_serving, attach_creates_at_the_source_size_and_a_copy_lands_in_it) {
  auto src = test::nbdkit_server::start(dir_.path(), "src", {}, {"pattern", std::to_string(disk)});
  auto attached = attach("v-1", disk);
  ASSERT_TRUE(attached) << message_of(attached.error());
  const auto [uri, size] = *attached;
  EXPECT_EQ(size, disk);
  EXPECT_EQ(uri, "nbd+unix:///?socket=" + (dir_.path() / "volumes" / "v-1.sock").string());
  auto info = backend_->info("v-1");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, disk);
  EXPECT_EQ(info->state, volumes::volume_state::attached);

  copy(src.uri(), uri);
  auto err = finish("v-1", true, "vma:local/r-1");
  ASSERT_FALSE(err) << message_of(err);
  info = backend_->info("v-1");
  EXPECT_EQ(info->state, volumes::volume_state::complete);
  EXPECT_EQ(info->nbd_uri, "");
  EXPECT_FALSE(fs::exists(dir_.path() / "volumes" / "v-1.sock")) << "still served";
  EXPECT_EQ(test::hash_file(info->path), test::hash_export(src.uri()));
}

TEST_F(volume_actor_serving, a_resume_attaches_the_volume_as_it_is_and_refuses_another_disk) {
  auto src = test::nbdkit_server::start(dir_.path(), "src", {}, {"pattern", std::to_string(disk)});
  auto first = attach("v-2", disk);
  ASSERT_TRUE(first) << message_of(first.error());
  copy(src.uri(), first->first);
  ASSERT_FALSE(finish("v-2", false, "vma:local/r-2"));
  EXPECT_EQ(backend_->info("v-2")->state, volumes::volume_state::partial);

  // The resume: the same volume, its data as it was.
  auto again = attach("v-2", disk);
  ASSERT_TRUE(again) << message_of(again.error());
  EXPECT_EQ(again->first, first->first);
  EXPECT_EQ(test::hash_export(again->first), test::hash_export(src.uri()));

  // Another disk, twice the size.
  auto refused = attach("v-2", disk * 2);
  ASSERT_FALSE(refused);
  EXPECT_EQ(code_of(refused.error()), errc::conflict);
  EXPECT_NE(message_of(refused.error()).find("v-2"), std::string::npos)
      << message_of(refused.error());
}

TEST_F(volume_actor_serving, keep_detaches_an_attached_volume_and_marks_it_partial) {
  auto src = test::nbdkit_server::start(dir_.path(), "src", {}, {"pattern", std::to_string(disk)});
  auto attached = attach("v-3", disk);
  ASSERT_TRUE(attached) << message_of(attached.error());
  copy(src.uri(), attached->first);
  const auto pid = std::stol(test::read_text(dir_.path() / "volumes" / "v-3.pid"));

  const auto c = stop("r-3", "s-3", msg::volume_action::keep);
  EXPECT_EQ(c.who, msg::participant::volume);
  EXPECT_EQ(c.result, msg::outcome::ok) << c.detail;
  EXPECT_EQ(c.detail, "kept as partial, 32.0 MiB allocated");
  auto info = backend_->info("v-3");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, volumes::volume_state::partial);
  EXPECT_EQ(info->checkpoint, "vma:local/r-3");
  EXPECT_EQ(info->nbd_uri, "");
  EXPECT_FALSE(fs::exists(dir_.path() / "volumes" / "v-3.sock")) << "still served";
  const auto stat = test::read_text("/proc/" + std::to_string(pid) + "/stat");
  EXPECT_TRUE(stat.empty() || stat.find(") Z") != std::string::npos) << "nbdkit still runs";
  EXPECT_EQ(test::hash_file(info->path), test::hash_export(src.uri()));
}

TEST_F(volume_actor_serving, delete_detaches_an_attached_volume_and_removes_it) {
  auto src = test::nbdkit_server::start(dir_.path(), "src", {}, {"pattern", std::to_string(disk)});
  auto attached = attach("v-4", disk);
  ASSERT_TRUE(attached) << message_of(attached.error());
  const auto c = stop("r-4", "s-4", msg::volume_action::remove);
  EXPECT_EQ(c.result, msg::outcome::ok) << c.detail;
  EXPECT_EQ(c.detail, "deleted");
  EXPECT_FALSE(fs::exists(dir_.path() / "volumes" / "v-4.img"));
  EXPECT_FALSE(fs::exists(dir_.path() / "volumes" / "v-4.sock"));
  EXPECT_EQ(backend_->info("v-4").error().code, volumes::errc::not_found);
}

// The poller over a real nats-server, on CAF's real scheduler, with its status requests on
// detached helpers as in the OMA: an agent's account of an exited mover reaches the registry,
// and an agent that goes away loses its jobs after `missed_limit` polls.
class poller_over_nats : public test::nats_fixture {};

TEST_F(poller_over_nats, an_exit_and_a_vanished_agent_reach_the_registry) {
  struct heard {
    std::mutex mutex;
    std::vector<std::string> events;  // "exited r-1 1", "lost r-2 ..."
    bool has(const std::string& prefix) {
      std::lock_guard lock(mutex);
      return std::ranges::any_of(events, [&](const auto& e) { return e.starts_with(prefix); });
    }
  };
  auto got = std::make_shared<heard>();
  std::shared_ptr<bus::transport> oma = connect(bus::role::oma, "oma");
  std::shared_ptr<bus::transport> agent = connect(bus::role::oma, "agent");
  ASSERT_TRUE(oma && agent);
  auto agent_link = std::make_shared<bus_link>(agent, "mk", "vma:local");
  {
    auto answering = agent->subscribe("mk.vma.local.status", [&](bus::envelope e) {
      msg::vma_status s;
      s.vma = "local";
      msg::mover_info m;
      m.job = "r-1";
      m.pid = 99;
      m.state = msg::mover_state::exited;
      m.exit_code = 1;
      m.detail = "exit 1: source: read failed";
      s.movers.push_back(m);
      EXPECT_TRUE(agent_link->reply(e, s));
    });
    ASSERT_TRUE(answering) << answering.error().message;
    ASSERT_TRUE(agent->flush(5s));

    actor_config cfg;
    caf::actor_system system{cfg};
    auto registry = system.spawn([got](caf::event_based_actor*) -> caf::behavior {
      return {
          [got](exited_atom, const std::string& job, const msg::progress& p) {
            std::lock_guard lock(got->mutex);
            got->events.push_back("exited " + job + " " + std::to_string(p.exit_code) + " " +
                                  p.detail);
          },
          [got](lost_atom, const std::string& job, const std::string& why) {
            std::lock_guard lock(got->mutex);
            got->events.push_back("lost " + job + " " + why);
          },
          [](snapshot_atom, const std::string&, const msg::progress&) {},
      };
    });
    poller_options opts;
    opts.status_interval = 100ms;
    opts.status_timeout = 500ms;
    opts.missed_limit = 2;
    opts.list_grace = 0ms;
    auto poller = spawn_poller(system, std::make_shared<bus_link>(oma, "mk", "oma"),
                               caf::actor_cast<registry_hdl>(registry), opts);
    caf::anon_send(poller, start_atom::value, std::string("r-1"), std::string("local"));
    EXPECT_TRUE(test::eventually(
        [&] { return got->has("exited r-1 1 exit 1: source: read failed"); }, 10s));

    // The agent goes away: nobody answers its status any more.
    answering->reset();
    ASSERT_TRUE(agent->flush(5s));
    caf::anon_send(poller, start_atom::value, std::string("r-2"), std::string("local"));
    EXPECT_TRUE(
        test::eventually([&] { return got->has("lost r-2 vma local does not answer"); }, 10s));
    EXPECT_FALSE(got->has("lost r-1")) << "an exited mover is not lost as well";

    caf::anon_send_exit(poller, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
  }
  // The actors have ended (the system is gone) before the connections close.
  oma.reset();
  agent.reset();
}

}  // namespace
}  // namespace mk::actors
