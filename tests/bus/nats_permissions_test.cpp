// The roles of SPEC section 9 on the embedded server: what a vma and a ctl client may not
// publish is refused by the server, and clients without credentials are refused.
#include <atomic>

#include "bus/nats_fixture.hpp"

namespace mk::test {
namespace {

using bus::envelope;
using bus::errc;
using bus::role;

using nats_permissions = nats_fixture;

TEST_F(nats_permissions, a_vma_cannot_announce_maintenance_nor_speak_for_another_agent) {
  auto oma = connect(role::oma, "oma");
  auto agent = connect(role::vma, "vma local");
  ASSERT_TRUE(oma && agent);
  std::atomic<int> maintenance{0};
  std::atomic<int> other{0};
  std::atomic<int> own{0};
  auto s1 = oma->subscribe("mk.maintenance", [&](envelope) { ++maintenance; });
  auto s2 = oma->subscribe("mk.vma.other.hello", [&](envelope) { ++other; });
  auto s3 = oma->subscribe("mk.vma.local.hello", [&](envelope) { ++own; });
  ASSERT_TRUE(s1 && s2 && s3);
  ASSERT_TRUE(oma->flush(2s));

  // Accepted by the client library: the refusal comes back asynchronously.
  EXPECT_TRUE(agent->publish("mk.maintenance", bytes_of("on")));
  EXPECT_TRUE(agent->publish("mk.vma.other.hello", bytes_of("I am other")));
  EXPECT_TRUE(agent->publish("mk.vma.local.hello", bytes_of("I am local")));
  ASSERT_TRUE(agent->flush(2s));

  ASSERT_TRUE(eventually([&] { return agent->stats().permission_violations >= 2; }))
      << agent->stats().permission_violations;
  // The allowed message went after the refused ones on the same connection: once it is
  // here, they would have been too.
  ASSERT_TRUE(eventually([&] { return own.load() == 1; }));
  ASSERT_TRUE(oma->flush(2s));
  EXPECT_EQ(maintenance.load(), 0);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(agent->stats().async_errors, agent->stats().permission_violations);
  EXPECT_EQ(oma->stats().permission_violations, 0u);
}

TEST_F(nats_permissions, a_ctl_client_may_only_ask_for_stops) {
  auto oma = connect(role::oma, "oma");
  auto ctl = connect(role::ctl, "ctl");
  ASSERT_TRUE(oma && ctl);
  std::atomic<int> stops{0};
  auto s1 = oma->subscribe("mk.job.r-1.stop", [&](envelope) { ++stops; });
  // The OMA answers control requests: allowed by allow_responses.
  auto s2 = oma->subscribe("mk.control.stop", [&oma](envelope e) {
    EXPECT_TRUE(bus::reply(*oma, e, bytes_of("accepted")));
  });
  ASSERT_TRUE(s1 && s2);
  ASSERT_TRUE(oma->flush(2s));

  EXPECT_TRUE(ctl->publish("mk.job.r-1.stop", bytes_of("stop")));
  auto answer = ctl->request("mk.control.stop", bytes_of("stop r-1"), 2s);
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(text_of(answer->data), "accepted");
  ASSERT_TRUE(eventually([&] { return ctl->stats().permission_violations >= 1; }));
  EXPECT_EQ(stops.load(), 0);
}

TEST_F(nats_permissions, clients_without_valid_credentials_are_refused) {
  const auto port = std::to_string(server_->port());
  const auto refused = [](const std::string& url, bool retry) {
    bus::nats_options opts;
    opts.url = url;
    opts.name = "intruder";
    opts.retry_on_failed_connect = retry;
    return bus::nats_transport::connect(opts);
  };
  for (const bool retry : {false, true}) {
    const auto anonymous = refused("nats://127.0.0.1:" + port, retry);
    ASSERT_FALSE(anonymous);
    EXPECT_EQ(anonymous.error().code, errc::permission) << anonymous.error().message;

    const auto wrong = refused("nats://vma:not-the-password@127.0.0.1:" + port, retry);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, errc::permission) << wrong.error().message;
    EXPECT_EQ(wrong.error().message.find("not-the-password"), std::string::npos)
        << "the password shows in: " << wrong.error().message;
  }
}

}  // namespace
}  // namespace mk::test
