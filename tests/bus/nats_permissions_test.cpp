// The roles of docs/security.md on the embedded server, with the product's own configuration:
// what a vma or a ctl client may not publish or hear is refused by the server, and clients
// without valid credentials are refused.
#include <atomic>
#include <map>
#include <mutex>
#include <optional>

#include "bus/nats_fixture.hpp"

namespace mk::test {
namespace {

using bus::envelope;
using bus::errc;
using bus::role;

using nats_permissions = nats_fixture;

/// Every subject the client hears under `pattern`, with how often.
class listener {
 public:
  listener(bus::nats_transport& t, const std::string& pattern) {
    auto sub = t.subscribe(pattern, [this](envelope e) {
      std::lock_guard lock(mutex_);
      ++heard_[e.subject];
    });
    EXPECT_TRUE(sub) << pattern;
    if (sub) sub_ = std::move(*sub);
  }
  std::map<std::string, int> heard() {
    std::lock_guard lock(mutex_);
    return heard_;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, int> heard_;
  std::optional<bus::subscription> sub_;
};

/// `t` answers every request on `subject` with `text` while the subscription lives.
bus::subscription answering(bus::nats_transport& t, const std::string& subject, std::string text) {
  auto sub = t.subscribe(subject,
                         [&t, text](envelope e) { EXPECT_TRUE(bus::reply(t, e, bytes_of(text))); });
  EXPECT_TRUE(sub) << subject;
  return sub ? std::move(*sub) : bus::subscription();
}

// Each refused publish is accepted by the client library; the refusal comes back
// asynchronously. An allowed message sent last on the same connection tells when the refused
// ones would have arrived, had the server let them through.
TEST_F(nats_permissions, a_vma_may_publish_only_on_its_own_subjects) {
  auto oma = connect(role::oma, "oma");
  auto agent = connect(role::vma, "vma local");
  ASSERT_TRUE(oma && agent);
  listener all(*oma, "mk.>");
  ASSERT_TRUE(oma->flush(2s));

  const std::vector<std::string> refused = {"mk.maintenance",
                                            "mk.control.stop",
                                            "mk.control.replicate",
                                            "mk.control.resume",
                                            "mk.vma.other.hello",
                                            "mk.vma.other.start",
                                            "mk.job.r-1.stop",
                                            "mk.job.r-1.state",
                                            "mk.log.r-1",
                                            "$JS.API.INFO",
                                            "$KV.mk_jobs.r-1",
                                            "mk.job.r-1.progress",
                                            "mk.job.r-1.stopped",
                                            "mk.vma.other.job.r-1.stopped",
                                            "mk.vma.other.job.r-1.progress"};
  for (const auto& subject : refused) EXPECT_TRUE(agent->publish(subject, bytes_of("forged")));
  for (const auto* allowed :
       {"mk.vma.local.job.r-1.progress", "mk.vma.local.job.r-1.stopped", "mk.vma.local.hello"})
    EXPECT_TRUE(agent->publish(allowed, bytes_of("mine")));
  ASSERT_TRUE(agent->flush(2s));

  ASSERT_TRUE(eventually([&] { return all.heard().contains("mk.vma.local.hello"); }));
  ASSERT_TRUE(eventually([&] { return agent->stats().permission_violations >= refused.size(); }))
      << agent->stats().permission_violations;
  ASSERT_TRUE(oma->flush(2s));
  const std::map<std::string, int> only_allowed = {{"mk.vma.local.job.r-1.progress", 1},
                                                   {"mk.vma.local.job.r-1.stopped", 1},
                                                   {"mk.vma.local.hello", 1}};
  EXPECT_EQ(all.heard(), only_allowed);
  EXPECT_EQ(agent->stats().async_errors, agent->stats().permission_violations);
  EXPECT_EQ(oma->stats().permission_violations, 0u);
}

// An agent hears maintenance and its own subjects (its movers' stops among them); not another
// agent's, not the stops of the OMA's participants, not control
// requests, and not the inboxes, which carry the replies to everyone's requests (the OMA's
// JetStream reads with every job record, ctl's answers, other agents' replies).
TEST_F(nats_permissions, a_vma_cannot_listen_to_another_agent_to_control_or_to_replies) {
  auto oma = connect(role::oma, "oma");
  auto ctl = connect(role::ctl, "ctl");
  auto spy = connect(role::vma, "vma local");
  ASSERT_TRUE(oma && ctl && spy);
  const auto answer = answering(*oma, "mk.control.stop", "accepted");
  const std::vector<std::string> refused = {"mk.vma.other.>", "mk.control.>", "_INBOX.>",
                                            "_INBOX_oma.>",   "_INBOX_ctl.>", "_INBOX_other.>",
                                            "mk.job.*.stop",  "mk.>",         ">"};
  std::vector<std::unique_ptr<listener>> listeners;
  for (const auto& pattern : refused)
    listeners.push_back(std::make_unique<listener>(*spy, pattern));
  listener own(*spy, "mk.vma.local.>");
  ASSERT_TRUE(spy->flush(2s));
  ASSERT_TRUE(oma->flush(2s));

  EXPECT_TRUE(oma->publish("mk.vma.other.start", bytes_of("for another agent")));
  auto reply = ctl->request("mk.control.stop", bytes_of("stop r-1"), 2s);
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_TRUE(oma->publish("mk.vma.local.start", bytes_of("for this one")));
  ASSERT_TRUE(oma->flush(2s));

  ASSERT_TRUE(eventually([&] { return own.heard().size() == 1; }));
  for (std::size_t i = 0; i < refused.size(); ++i)
    EXPECT_TRUE(listeners[i]->heard().empty())
        << refused[i] << " heard " << listeners[i]->heard().begin()->first;
  ASSERT_TRUE(eventually([&] { return spy->stats().permission_violations >= refused.size(); }))
      << spy->stats().permission_violations;
}

TEST_F(nats_permissions, a_ctl_client_may_only_ask_for_stops) {
  auto oma = connect(role::oma, "oma");
  auto ctl = connect(role::ctl, "ctl");
  ASSERT_TRUE(oma && ctl);
  listener all(*oma, "mk.>");
  // The OMA answers control requests: allowed by allow_responses.
  const auto answer = answering(*oma, "mk.control.stop", "accepted");
  ASSERT_TRUE(oma->flush(2s));

  const std::vector<std::string> refused = {"mk.job.r-1.stop",
                                            "mk.job.r-1.state",
                                            "mk.maintenance",
                                            "mk.vma.local.start",
                                            "$JS.API.INFO",
                                            "$KV.mk_jobs.r-1",
                                            "$JS.API.STREAM.DELETE.MK_JOBLOG"};
  for (const auto& subject : refused) EXPECT_TRUE(ctl->publish(subject, bytes_of("forged")));
  auto reply = ctl->request("mk.control.stop", bytes_of("stop r-1"), 2s);
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(text_of(reply->data), "accepted");
  ASSERT_TRUE(eventually([&] { return ctl->stats().permission_violations >= refused.size(); }))
      << ctl->stats().permission_violations;
  ASSERT_TRUE(oma->flush(2s));
  const std::map<std::string, int> only_control = {{"mk.control.stop", 1}};
  EXPECT_EQ(all.heard(), only_control);
}

// Each identity has its own inbox prefix: ctl cannot read the replies to the OMA's requests
// (its JetStream reads, an agent's answers), nor an agent's.
TEST_F(nats_permissions, a_ctl_client_hears_only_the_replies_to_its_own_requests) {
  auto oma = connect(role::oma, "oma");
  auto ctl = connect(role::ctl, "ctl");
  auto agent = connect(role::vma, "vma local");
  ASSERT_TRUE(oma && ctl && agent);
  const auto answer = answering(*agent, "mk.vma.local.status", "movers: none");
  const std::vector<std::string> refused = {"_INBOX.>", "_INBOX_oma.>", "_INBOX_local.>", ">"};
  std::vector<std::unique_ptr<listener>> listeners;
  for (const auto& pattern : refused)
    listeners.push_back(std::make_unique<listener>(*ctl, pattern));
  ASSERT_TRUE(ctl->flush(2s));
  ASSERT_TRUE(agent->flush(2s));

  auto reply = oma->request("mk.vma.local.status", bytes_of("which"), 2s);
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(text_of(reply->data), "movers: none");
  ASSERT_TRUE(eventually([&] { return ctl->stats().permission_violations >= refused.size(); }))
      << ctl->stats().permission_violations;
  ASSERT_TRUE(ctl->flush(2s));
  for (std::size_t i = 0; i < refused.size(); ++i)
    EXPECT_TRUE(listeners[i]->heard().empty()) << refused[i];
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

    // A user and password: the server knows users only by their JWTs.
    const auto wrong = refused("nats://vma:not-the-password@127.0.0.1:" + port, retry);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, errc::permission) << wrong.error().message;
    EXPECT_EQ(wrong.error().message.find("not-the-password"), std::string::npos)
        << "the password shows in: " << wrong.error().message;
  }
}

}  // namespace
}  // namespace mk::test
