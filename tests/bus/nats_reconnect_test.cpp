// The server killed and restarted while clients publish: nothing published while it was
// down is lost; a client may start before its server.
#include <csignal>
#include <mutex>

#include "bus/nats_fixture.hpp"

namespace mk::test {
namespace {

using bus::envelope;
using bus::role;

using nats_reconnect = nats_fixture;

std::vector<std::uint8_t> number(int n) { return bytes_of(std::to_string(n)); }

TEST_F(nats_reconnect, nothing_published_during_an_outage_is_lost) {
  // The listener comes back within milliseconds of the server, the publisher only after
  // 1.5 s: by then the listener has renewed its interest, so the publisher's buffered
  // messages find it. (Had the publisher come back first, they would have gone nowhere: NATS
  // is at most once, which is why every protocol of the product retries.)
  auto listener = connect(role::oma, "listener", [](bus::nats_options& o) {
    o.reconnect_wait = 20ms;
    o.reconnect_jitter = 0ms;
  });
  auto publisher = connect(role::oma, "publisher", [](bus::nats_options& o) {
    o.reconnect_wait = 1500ms;
    o.reconnect_jitter = 0ms;
  });
  ASSERT_TRUE(listener && publisher);
  std::mutex mutex;
  std::vector<int> got;
  auto sub = listener->subscribe("mk.test.numbers", [&](envelope e) {
    std::lock_guard lock(mutex);
    got.push_back(std::stoi(text_of(e.data)));
  });
  ASSERT_TRUE(sub);
  ASSERT_TRUE(listener->flush(2s));
  const auto received = [&] {
    std::lock_guard lock(mutex);
    return got.size();
  };
  constexpr int per_phase = 200;
  int next = 1;
  const auto publish_phase = [&] {
    for (int i = 0; i < per_phase; ++i) {
      const auto r = publisher->publish("mk.test.numbers", number(next++));
      ASSERT_TRUE(r) << r.error().message;
    }
  };

  // Before: delivered and flushed, so the server has them all when it dies.
  publish_phase();
  ASSERT_TRUE(publisher->flush(2s));
  ASSERT_TRUE(eventually([&] { return received() == per_phase; }));

  const auto port = server_->port();
  const auto url = server_->url();
  ASSERT_EQ(::kill(server_->pid(), SIGKILL), 0);
  server_->stop();  // reaps it
  ASSERT_TRUE(eventually([&] { return !publisher->connected() && !listener->connected(); }));

  // During: the publisher's reconnect buffer holds them.
  publish_phase();
  EXPECT_FALSE(publisher->flush(100ms));

  restart_server();
  ASSERT_TRUE(server_);
  EXPECT_EQ(server_->port(), port);
  EXPECT_EQ(server_->url(), url);

  // After: the buffered ones go first, then these.
  ASSERT_TRUE(eventually([&] { return publisher->connected(); }, 10s));
  publish_phase();
  ASSERT_TRUE(publisher->flush(2s));
  ASSERT_TRUE(eventually([&] { return received() == 3 * per_phase; }, 10s))
      << "received " << received() << " of " << 3 * per_phase;

  std::lock_guard lock(mutex);
  for (int i = 0; i < 3 * per_phase; ++i) ASSERT_EQ(got[i], i + 1) << "at " << i;
  EXPECT_GE(publisher->stats().disconnects, 1u);
  EXPECT_GE(publisher->stats().reconnects, 1u);
  EXPECT_GE(listener->stats().reconnects, 1u);
}

TEST_F(nats_reconnect, a_client_may_start_before_its_server) {
  auto opts = client_options(role::oma, "early");
  server_->stop();
  opts.reconnect_wait = 50ms;
  auto early = bus::nats_transport::connect(opts);
  ASSERT_TRUE(early) << early.error().message;
  EXPECT_FALSE((*early)->connected());

  restart_server();
  ASSERT_TRUE(eventually([&] { return (*early)->connected(); }));
  EXPECT_TRUE((*early)->publish("mk.test.hello", bytes_of("hi")));
  EXPECT_TRUE((*early)->flush(2s));
}

}  // namespace
}  // namespace mk::test
