// The in-memory bus and the subject rules it shares with NATS.
#include "bus/in_memory_transport.hpp"

#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <thread>

#include "bus/subjects.hpp"

namespace mk::bus {
namespace {

using namespace std::chrono_literals;

std::vector<std::uint8_t> bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

TEST(subjects, wildcards_match_as_on_nats) {
  struct row {
    const char* pattern;
    const char* subject;
    bool match;
  };
  for (const auto& r : std::initializer_list<row>{
           {"mk.job.r-1.stop", "mk.job.r-1.stop", true},
           {"mk.job.r-1.stop", "mk.job.r-2.stop", false},
           {"mk.job.*.stop", "mk.job.r-1.stop", true},
           {"mk.job.*.stop", "mk.job.r-1.stopped", false},
           {"mk.job.*.stop", "mk.job.stop", false},
           {"mk.job.*.stop", "mk.job.r-1.stop.x", false},
           {"mk.>", "mk.job.r-1.stop", true},
           {"mk.>", "mk.maintenance", true},
           {"mk.>", "mk", false},
           {">", "mk", true},
           {"*", "mk", true},
           {"*", "mk.job", false},
           {"mk.*.*.stop", "mk.job.r-1.stop", true},
           {"mk.vma.local.>", "mk.vma.local.start", true},
           {"mk.vma.local.>", "mk.vma.other.start", false},
           {"mk.job", "mk.job.r-1", false},
       }) {
    EXPECT_EQ(subject_matches(r.pattern, r.subject), r.match) << r.pattern << " ~ " << r.subject;
  }
}

TEST(subjects, only_well_formed_subjects_and_ids_pass) {
  EXPECT_TRUE(valid_subject("mk.job.r-1.stop", false));
  EXPECT_TRUE(valid_subject("_INBOX.abc.1", false));
  EXPECT_TRUE(valid_subject("mk.job.*.stop", true));
  EXPECT_TRUE(valid_subject("mk.>", true));
  for (const auto* bad : {"", ".", "mk.", ".mk", "mk..job", "mk job", "mk.\tjob", "mk.job\r\n"}) {
    EXPECT_FALSE(valid_subject(bad, true)) << bad;
  }
  EXPECT_FALSE(valid_subject("mk.*", false));
  EXPECT_FALSE(valid_subject("mk.>", false));
  EXPECT_FALSE(valid_subject("mk.>.x", true));
  EXPECT_FALSE(valid_subject("mk.a*", true));
  EXPECT_FALSE(valid_subject("mk.a>", false));

  EXPECT_TRUE(valid_id("r-7f3a9c21"));
  EXPECT_TRUE(valid_id("0"));
  EXPECT_TRUE(valid_id(std::string(63, 'a')));
  EXPECT_FALSE(valid_id(std::string(64, 'a')));
  for (const auto* bad : {"", "-r", "R-1", "r.1", "r_1", "r 1", "*", ">", "r/1", "é"}) {
    EXPECT_FALSE(valid_id(bad)) << bad;
  }
  EXPECT_TRUE(valid_prefix("mk"));
  EXPECT_TRUE(valid_prefix("mk_test-2"));
  EXPECT_FALSE(valid_prefix("mk.x"));
  EXPECT_FALSE(valid_prefix(""));
}

TEST(in_memory_transport, delivers_to_every_matching_subscription_in_order) {
  in_memory_transport bus;
  std::vector<std::string> seen;
  auto record = [&seen](std::string tag) {
    return [&seen, tag](envelope e) { seen.push_back(tag + " " + e.subject); };
  };
  auto exact = bus.subscribe("mk.job.r-1.stop", record("exact"));
  auto star = bus.subscribe("mk.job.*.stop", record("star"));
  auto tail = bus.subscribe("mk.>", record("tail"));
  ASSERT_TRUE(exact && star && tail);

  ASSERT_TRUE(bus.publish("mk.job.r-1.stop", bytes_of("x")));
  ASSERT_TRUE(bus.publish("mk.job.r-1.progress", bytes_of("x")));
  ASSERT_TRUE(bus.publish("other.subject", bytes_of("x")));
  EXPECT_EQ(seen, (std::vector<std::string>{"exact mk.job.r-1.stop", "star mk.job.r-1.stop",
                                            "tail mk.job.r-1.stop", "tail mk.job.r-1.progress"}));

  seen.clear();
  star->reset();
  ASSERT_TRUE(bus.publish("mk.job.r-2.stop", bytes_of("x")));
  EXPECT_EQ(seen, (std::vector<std::string>{"tail mk.job.r-2.stop"}));

  const auto bad = bus.publish("mk.*", bytes_of("x"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::invalid);
}

TEST(in_memory_transport, requests_get_replies_time_out_or_find_nobody) {
  in_memory_transport bus;
  auto echo = bus.subscribe("mk.vma.local.status",
                            [&bus](envelope e) { ASSERT_TRUE(reply(bus, e, e.data)); });
  auto silent = bus.subscribe("mk.vma.local.start", [](envelope) {});
  ASSERT_TRUE(echo && silent);

  const auto answer = bus.request("mk.vma.local.status", bytes_of("ping"), 1s);
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->data, bytes_of("ping"));

  const auto start = std::chrono::steady_clock::now();
  const auto late = bus.request("mk.vma.local.start", bytes_of("go"), 50ms);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, errc::timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);

  const auto nobody = bus.request("mk.vma.gone.status", bytes_of("?"), 1s);
  ASSERT_FALSE(nobody);
  EXPECT_EQ(nobody.error().code, errc::no_responders);
}

TEST(in_memory_transport, every_answer_comes_to_the_reply_subject_given) {
  in_memory_transport bus;
  std::vector<subscription> responders;
  for (int i = 0; i < 2; ++i) {
    auto r = bus.subscribe("mk.vma.local.status",
                           [&bus](envelope e) { ASSERT_TRUE(reply(bus, e, bytes_of("here"))); });
    ASSERT_TRUE(r);
    responders.push_back(std::move(*r));
  }
  int answers = 0;
  auto inbox = bus.subscribe("_INBOX.many", [&answers](envelope) { ++answers; });
  ASSERT_TRUE(inbox);
  ASSERT_TRUE(bus.publish_request("mk.vma.local.status", bytes_of("?"), "_INBOX.many"));
  EXPECT_EQ(answers, 2);
  const auto bad = bus.publish_request("mk.vma.local.status", bytes_of("?"), "_INBOX.>");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::invalid);
}

TEST(in_memory_transport, a_reply_may_come_later_from_another_thread) {
  in_memory_transport bus;
  std::vector<std::jthread> workers;
  auto deferred = bus.subscribe("mk.vma.local.start", [&](envelope e) {
    workers.emplace_back([&bus, e] {
      std::this_thread::sleep_for(20ms);
      EXPECT_TRUE(reply(bus, e, bytes_of("started")));
    });
  });
  ASSERT_TRUE(deferred);
  const auto answer = bus.request("mk.vma.local.start", bytes_of("go"), 2s);
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->data, bytes_of("started"));
}

TEST(in_memory_transport, a_handler_may_publish_to_its_own_subject) {
  in_memory_transport bus;
  int calls = 0;
  auto countdown = bus.subscribe("mk.test.count", [&](envelope e) {
    ++calls;
    if (e.data.front() > '0') {
      const std::uint8_t next[] = {static_cast<std::uint8_t>(e.data.front() - 1)};
      EXPECT_TRUE(bus.publish("mk.test.count", next));
    }
  });
  ASSERT_TRUE(countdown);
  ASSERT_TRUE(bus.publish("mk.test.count", bytes_of("3")));
  EXPECT_EQ(calls, 4);
}

TEST(in_memory_transport, a_subscription_may_outlive_its_transport) {
  subscription sub;
  {
    in_memory_transport bus;
    auto s = bus.subscribe("mk.>", [](envelope) {});
    ASSERT_TRUE(s);
    sub = std::move(*s);
  }
  sub.reset();
  EXPECT_FALSE(sub);
}

// The shape of the actor protocol tests to come: the bus in memory, CAF on its deterministic
// scheduler, every step taken by the test.
TEST(in_memory_transport, drives_actors_step_by_step) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.policy", caf::atom("testing"));
  add_bus_types(cfg);
  caf::actor_system system{cfg};
  auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(system.scheduler());

  in_memory_transport bus;
  auto acker = system.spawn([&bus](caf::event_based_actor*) {
    return caf::behavior{
        [&bus](const envelope& e) { EXPECT_TRUE(bus.publish("mk.test.ack", e.data)); }};
  });
  std::vector<std::string> acks;
  auto to_actor = subscribe_actor(bus, "mk.test.ping", acker);
  auto ack_sub = bus.subscribe(
      "mk.test.ack", [&acks](envelope e) { acks.emplace_back(e.data.begin(), e.data.end()); });
  ASSERT_TRUE(to_actor && ack_sub);

  ASSERT_TRUE(bus.publish("mk.test.ping", bytes_of("1")));
  ASSERT_TRUE(bus.publish("mk.test.ping", bytes_of("2")));
  EXPECT_TRUE(acks.empty()) << "in the mailbox, not yet handled";
  EXPECT_TRUE(sched.try_run_once());
  EXPECT_EQ(acks, (std::vector<std::string>{"1"}));
  sched.run();
  EXPECT_EQ(acks, (std::vector<std::string>{"1", "2"}));

  to_actor->reset();
  caf::anon_send_exit(acker, caf::exit_reason::user_shutdown);
  sched.run();
}

}  // namespace
}  // namespace mk::bus
