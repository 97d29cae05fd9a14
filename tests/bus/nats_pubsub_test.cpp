// Publish/subscribe into CAF actors and request/reply over a real nats-server.
#include <atomic>
#include <caf/all.hpp>
#include <thread>

#include "bus/nats_fixture.hpp"

namespace mk::test {
namespace {

using bus::envelope;
using bus::errc;
using bus::role;

using nats_pubsub = nats_fixture;

TEST_F(nats_pubsub, messages_reach_an_actor_in_order_and_only_matching_ones) {
  caf::actor_system_config cfg;
  bus::add_bus_types(cfg);
  caf::actor_system system{cfg};
  caf::scoped_actor self{system};
  // A spawned actor, as the product's are, that hands what it gets to the test.
  auto forwarder = system.spawn([dest = caf::actor{self}](caf::event_based_actor* a) {
    return caf::behavior{[a, dest](const envelope& e) { a->send(dest, e); }};
  });

  auto listener = connect(role::oma, "listener");
  auto sender = connect(role::oma, "sender");
  ASSERT_TRUE(listener && sender);
  auto sub = bus::subscribe_actor(*listener, "mk.job.*.state", forwarder);
  ASSERT_TRUE(sub) << sub.error().message;
  ASSERT_TRUE(listener->flush(2s));  // the server knows the interest before anyone publishes

  ASSERT_TRUE(sender->publish("mk.job.r-1.progress", bytes_of("not for us")));
  ASSERT_TRUE(sender->publish("mk.job.r-1.state", bytes_of("first")));
  ASSERT_TRUE(sender->publish("mk.job.r-2.state", bytes_of("second")));
  ASSERT_TRUE(sender->flush(2s));

  std::vector<envelope> got;
  for (int i = 0; i < 2; ++i) {
    self->receive([&got](const envelope& e) { got.push_back(e); },
                  caf::after(std::chrono::seconds(5)) >> [] { FAIL() << "no message in 5 s"; });
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].subject, "mk.job.r-1.state");
  EXPECT_EQ(text_of(got[0].data), "first");
  EXPECT_TRUE(got[0].reply.empty());
  EXPECT_EQ(got[1].subject, "mk.job.r-2.state");
  EXPECT_EQ(text_of(got[1].data), "second");
  bool more = false;
  self->receive([&more](const envelope&) { more = true; },
                caf::after(std::chrono::milliseconds(200)) >> [] {});
  EXPECT_FALSE(more) << "a message on a subject that does not match arrived";

  sub->reset();
  caf::anon_send_exit(forwarder, caf::exit_reason::user_shutdown);
}

TEST_F(nats_pubsub, a_request_gets_the_reply_of_its_responder) {
  auto agent = connect(role::vma, "vma local");
  auto oma = connect(role::oma, "oma");
  ASSERT_TRUE(agent && oma);
  // The agent answers on the reply subject: allowed to vma by allow_responses alone.
  auto responder = agent->subscribe("mk.vma.local.status", [&agent](envelope e) {
    const auto answer = bytes_of("movers of " + text_of(e.data));
    EXPECT_TRUE(bus::reply(*agent, e, answer));
  });
  ASSERT_TRUE(responder) << responder.error().message;
  ASSERT_TRUE(agent->flush(2s));

  auto answer = oma->request("mk.vma.local.status", bytes_of("local"), 2s);
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(text_of(answer->data), "movers of local");
  EXPECT_EQ(agent->stats().permission_violations, 0u);

  // A message without a reply subject cannot be answered.
  const auto no_request = bus::reply(*agent, envelope{"mk.x", {}, {}}, bytes_of("?"));
  ASSERT_FALSE(no_request);
  EXPECT_EQ(no_request.error().code, errc::invalid);
}

TEST_F(nats_pubsub, a_request_several_answer_gets_every_answer_on_the_reply_subject_given) {
  auto first = connect(role::vma, "vma local");
  auto second = connect(role::vma, "vma local, second connection");
  auto oma = connect(role::oma, "oma");
  ASSERT_TRUE(first && second && oma);
  std::vector<bus::subscription> responders;
  for (auto* t : {first.get(), second.get()}) {
    auto r = t->subscribe("mk.vma.local.status",
                          [t](envelope e) { EXPECT_TRUE(bus::reply(*t, e, bytes_of("here"))); });
    ASSERT_TRUE(r) << r.error().message;
    responders.push_back(std::move(*r));
    ASSERT_TRUE(t->flush(2s));
  }
  std::atomic<int> answers{0};
  const auto inbox = bus::inbox_prefix("oma") + ".many";
  auto listen = oma->subscribe(inbox, [&answers](envelope e) {
    if (text_of(e.data) == "here") ++answers;
  });
  ASSERT_TRUE(listen) << listen.error().message;
  ASSERT_TRUE(oma->publish_request("mk.vma.local.status", bytes_of("?"), inbox));
  EXPECT_TRUE(eventually([&] { return answers == 2; }, 5s)) << answers << " answers";

  const auto bad = oma->publish_request("mk.vma.local.status", bytes_of("?"), "_INBOX_oma.*");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::invalid);
}

TEST_F(nats_pubsub, a_request_without_a_reply_times_out) {
  auto agent = connect(role::vma, "vma local");
  auto oma = connect(role::oma, "oma");
  ASSERT_TRUE(agent && oma);
  std::atomic<int> asked{0};
  auto silent = agent->subscribe("mk.vma.local.start", [&asked](envelope) { ++asked; });
  ASSERT_TRUE(silent);
  ASSERT_TRUE(agent->flush(2s));

  const auto start = std::chrono::steady_clock::now();
  const auto answer = oma->request("mk.vma.local.start", bytes_of("go"), 300ms);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, errc::timeout) << answer.error().message;
  EXPECT_GE(took, 250ms);  // NATS.c's timers are a little early at times
  EXPECT_LT(took, 2s);
  EXPECT_EQ(asked.load(), 1);
}

TEST_F(nats_pubsub, a_request_nobody_listens_to_fails_at_once_with_no_responders) {
  auto oma = connect(role::oma, "oma");
  ASSERT_TRUE(oma);
  const auto start = std::chrono::steady_clock::now();
  const auto answer = oma->request("mk.vma.gone.status", bytes_of("?"), 5s);
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code, errc::no_responders) << answer.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_NE(answer.error().message.find("mk.vma.gone.status"), std::string::npos);
}

TEST_F(nats_pubsub, a_subscriber_that_falls_behind_is_counted_as_a_slow_consumer) {
  auto listener = connect(role::oma, "listener");
  auto sender = connect(role::oma, "sender");
  ASSERT_TRUE(listener && sender);
  std::atomic<bool> release{false};
  std::atomic<int> handled{0};
  auto stuck = listener->subscribe("mk.test.flood", [&](envelope) {
    while (!release) std::this_thread::sleep_for(1ms);
    ++handled;
  });
  ASSERT_TRUE(stuck);
  ASSERT_TRUE(listener->flush(2s));

  // Past NATS.c's 65536 pending messages per subscription, the rest are dropped.
  const auto one = bytes_of("x");
  for (int i = 0; i < 70'000; ++i) ASSERT_TRUE(sender->publish("mk.test.flood", one));
  ASSERT_TRUE(sender->flush(5s));
  EXPECT_TRUE(eventually([&] { return listener->stats().slow_consumers >= 1; }, 10s));
  release = true;
  EXPECT_EQ(listener->stats().permission_violations, 0u);
  stuck->reset();
  EXPECT_LT(handled.load(), 70'000);
}

TEST_F(nats_pubsub, bad_subjects_never_reach_the_server) {
  auto oma = connect(role::oma, "oma");
  ASSERT_TRUE(oma);
  for (const auto* subject : {"", "mk..x", "mk.job.a b.stop", "mk.job.*.stop", "mk.>", "mk.\n"}) {
    const auto r = oma->publish(subject, bytes_of("x"));
    ASSERT_FALSE(r) << subject;
    EXPECT_EQ(r.error().code, errc::invalid);
  }
  const auto sub = oma->subscribe("mk.>.x", [](envelope) {});
  ASSERT_FALSE(sub);
  EXPECT_EQ(sub.error().code, errc::invalid);
}

}  // namespace
}  // namespace mk::test
