// JetStream state: KeyValue revisions, the JobLog across server restarts, idempotent start-up.
#include "bus/state.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>

#include "bus/nats_fixture.hpp"

namespace mk::test {
namespace {

using bus::errc;
using bus::role;

class state : public nats_fixture {
 protected:
  void SetUp() override {
    nats_fixture::SetUp();
    if (HasFatalFailure()) return;
    oma_ = connect(role::oma, "oma", [](bus::nats_options& o) { o.reconnect_wait = 20ms; });
    ASSERT_TRUE(oma_);
    auto store = bus::state_store::open(*oma_);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    oma_.reset();
    nats_fixture::TearDown();
  }

  std::unique_ptr<bus::nats_transport> oma_;
  std::unique_ptr<bus::state_store> store_;
};

TEST_F(state, a_second_update_from_the_same_revision_is_a_conflict) {
  auto& jobs = store_->jobs();
  const auto created = jobs.create("r-1", bytes_of("queued"));
  ASSERT_TRUE(created) << created.error().message;

  // Two writers read the same revision; the first wins, the second learns it lost.
  const auto first = jobs.update("r-1", bytes_of("replicating"), *created);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_GT(*first, *created);
  const auto second = jobs.update("r-1", bytes_of("stopping"), *created);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, errc::conflict) << second.error().message;

  const auto now = jobs.get("r-1");
  ASSERT_TRUE(now) << now.error().message;
  EXPECT_EQ(text_of(now->value), "replicating");
  EXPECT_EQ(now->revision, *first);

  // Retried from the revision it just read, the loser's update goes through.
  EXPECT_TRUE(jobs.update("r-1", bytes_of("stopping"), now->revision));

  const auto again = jobs.create("r-1", bytes_of("queued"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, errc::conflict) << again.error().message;
  const auto missing = jobs.update("r-2", bytes_of("x"), 1);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, errc::conflict) << missing.error().message;
}

TEST_F(state, keys_come_and_go) {
  auto& settings = store_->settings();
  const auto none = settings.get("maintenance");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, errc::not_found) << none.error().message;
  const auto empty = settings.keys();
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_TRUE(empty->empty());

  ASSERT_TRUE(settings.put("maintenance", bytes_of("off")));
  ASSERT_TRUE(settings.put("maintenance", bytes_of("on")));
  ASSERT_TRUE(settings.put("window", bytes_of("22-06")));
  auto keys = settings.keys();
  ASSERT_TRUE(keys) << keys.error().message;
  std::sort(keys->begin(), keys->end());
  EXPECT_EQ(*keys, (std::vector<std::string>{"maintenance", "window"}));

  ASSERT_TRUE(settings.erase("window"));
  ASSERT_TRUE(settings.erase("never-there"));
  const auto gone = settings.get("window");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, errc::not_found);
  keys = settings.keys();
  ASSERT_TRUE(keys);
  EXPECT_EQ(*keys, (std::vector<std::string>{"maintenance"}));
  // An erased key can be created again.
  EXPECT_TRUE(settings.create("window", bytes_of("21-05")));

  for (const auto* bad : {"", "Upper", "a.b", "a b", "*", ">", "-lead"}) {
    const auto r = settings.put(bad, bytes_of("x"));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, errc::invalid);
  }
}

// NATS.c's own listing (kvStore_Keys) timed out past a few thousand keys, whatever its timeout:
// an OMA with that many job records started with none. MK_KV_KEYS sets how many (3000).
TEST_F(state, many_keys_are_all_listed) {
  const char* n = std::getenv("MK_KV_KEYS");
  const std::size_t count = n ? std::strtoul(n, nullptr, 10) : 3000;
  auto& jobs = store_->jobs();
  for (std::size_t i = 0; i < count; ++i)
    ASSERT_TRUE(jobs.create("r-" + std::to_string(i), bytes_of("{}")));
  const auto keys = jobs.keys();
  ASSERT_TRUE(keys) << keys.error().message;
  EXPECT_EQ(keys->size(), count);
}

TEST_F(state, the_job_log_survives_a_killed_server_and_the_erased_job) {
  auto& log = store_->log();
  ASSERT_TRUE(store_->jobs().create("r-1", bytes_of("record")));
  for (int i = 0; i < 20; ++i) {
    const auto a = log.append("r-1", bytes_of("r-1 entry " + std::to_string(i)));
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_TRUE(log.append("r-2", bytes_of("r-2 entry " + std::to_string(i))));
  }

  // Killed, not stopped: what was acknowledged must be on disk already.
  ASSERT_EQ(::kill(server_->pid(), SIGKILL), 0);
  restart_server();
  ASSERT_TRUE(eventually([&] { return oma_->connected(); }, 10s));

  ASSERT_TRUE(store_->jobs().erase("r-1"));
  const auto entries = log.read("r-1");
  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_EQ(entries->size(), 20u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(text_of((*entries)[i]), "r-1 entry " + std::to_string(i));
  }
  const auto other = log.read("r-2");
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_EQ(other->size(), 20u);

  const auto none = log.read("r-3");
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->empty());
  const auto bad = log.read("r.>");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::invalid);
}

TEST_F(state, the_whole_job_log_is_read_in_order_across_jobs_and_from_a_time) {
  auto& log = store_->log();
  auto read_all = [&log](std::int64_t since) {
    std::vector<std::string> out;
    const auto r = log.read_all(
        since, [&out](std::span<const std::uint8_t> b) { out.emplace_back(b.begin(), b.end()); });
    EXPECT_TRUE(r) << r.error().message;
    return out;
  };
  EXPECT_TRUE(read_all(0).empty()) << "an empty stream";
  std::vector<std::string> written;
  // More entries than one fetch takes, of three jobs, interleaved.
  for (int i = 0; i < 1200; ++i) {
    const auto job = "r-" + std::to_string(i % 3);
    written.push_back(job + " entry " + std::to_string(i));
    ASSERT_TRUE(log.append(job, bytes_of(written.back())));
  }
  ASSERT_TRUE(store_->jobs().erase("r-1"));
  EXPECT_EQ(read_all(0), written);
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  // From a time, by the server's clock less a margin: what came since is all there...
  EXPECT_EQ(read_all(now - 1000), written);
  // ...and a time well past the margin finds nothing, without waiting for a fetch to time out.
  const auto before = std::chrono::steady_clock::now();
  EXPECT_TRUE(read_all(now + 3'600'000).empty());
  EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);
  // 2999-01-01, past what the server can store as 64-bit nanoseconds.
  EXPECT_TRUE(read_all(32'472'144'000'000).empty());
  // What is appended after a read is the next read's.
  ASSERT_TRUE(log.append("r-2", bytes_of("later")));
  written.push_back("later");
  EXPECT_EQ(read_all(0), written);
}

TEST_F(state, opening_again_binds_to_what_exists) {
  ASSERT_TRUE(store_->schedules().put("s-1", bytes_of("at 22:00")));
  ASSERT_TRUE(store_->log().append("r-1", bytes_of("created")));
  store_.reset();

  for (int i = 0; i < 2; ++i) {
    auto store = bus::state_store::open(*oma_);
    ASSERT_TRUE(store) << store.error().message;
    const auto s = (*store)->schedules().get("s-1");
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(text_of(s->value), "at 22:00");
    const auto entries = (*store)->log().read("r-1");
    ASSERT_TRUE(entries);
    EXPECT_EQ(entries->size(), 1u);
  }
  // Another client opening while the first holds it open, as two OMA starts might.
  auto other = connect(role::oma, "oma 2");
  ASSERT_TRUE(other);
  auto a = bus::state_store::open(*oma_);
  auto b = bus::state_store::open(*other);
  EXPECT_TRUE(a && b);
}

TEST_F(state, a_vma_cannot_touch_the_state) {
  auto agent = connect(role::vma, "vma local");
  ASSERT_TRUE(agent);
  bus::state_options opts;
  opts.timeout = 500ms;
  const auto store = bus::state_store::open(*agent, opts);
  ASSERT_FALSE(store);
  EXPECT_TRUE(eventually([&] { return agent->stats().permission_violations >= 1; }));
}

}  // namespace
}  // namespace mk::test
