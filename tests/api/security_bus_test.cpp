// The OMA's side of the bus against a running `up` (docs/bus.md and docs/security.md): a client
// with the ctl credentials, which may ask for stops, sends stops that no decoder should let
// through. Strings that are not UTF-8 are dropped and counted (the job records and the API are
// JSON, which cannot hold them); ids that are not ids, and the comments and grace periods that the
// API refuses, are refused; and the OMA goes on.
#include <thread>

#include "bus/home.hpp"
#include "bus/nats_server.hpp"
#include "bus/nats_transport.hpp"
#include "messages/codec.hpp"
#include "security_fixture.hpp"

namespace mk::test {
namespace {

using namespace std::chrono_literals;

/// The count of malformed bus messages the OMA dropped, from /metrics.
long dropped(up_process& up) {
  const std::string key = "migratekit_bus_messages_dropped_total{reason=\"malformed\"} ";
  const auto text = up.get("/metrics").text;
  const auto at = text.find(key);
  return at == std::string::npos ? -1 : std::stol(text.substr(at + key.size()));
}

TEST_F(security, bus_stops_that_the_api_would_refuse_are_dropped_or_refused) {
  auto opts = bus::local_client_options(up().data_dir(), bus::role::ctl);
  ASSERT_TRUE(opts) << opts.error().message;
  opts->name = "security ctl";
  auto ctl = bus::nats_transport::connect(*opts);
  ASSERT_TRUE(ctl) << ctl.error().message;

  // A stop of the demo job that would delete its volume, but for one string.
  msg::stop_request stop;
  stop.hdr = {"sec-1", 1, "security"};
  stop.job = demo();
  stop.mode = msg::stop_mode::force;
  stop.volumes = msg::volume_action::remove;
  stop.reason = msg::stop_reason::bus;
  const auto before = dropped(up());
  ASSERT_GE(before, 0);
  long sent = 0;
  for (const char* comment : {"\xff", "caf\xc3", "\xed\xa0\x80", "\xc0\xaf"}) {
    auto bad = stop;
    bad.comment = comment;
    ASSERT_TRUE((*ctl)->publish("mk.control.stop", msg::encode(bad)));
    ++sent;
  }
  auto bad_sender = stop;
  bad_sender.hdr.from = "\xfe\xff";
  ASSERT_TRUE((*ctl)->publish("mk.control.stop", msg::encode(bad_sender)));
  ++sent;
  ASSERT_TRUE((*ctl)->flush(2s));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (dropped(up()) < before + sent && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(dropped(up()), before + sent) << "not all were dropped as malformed";

  // Refused with an answer that names the field: ids that are not ids (no subject is made of
  // them either: the fixture looks), and what the API refuses in a stop.
  auto refused = [&](const msg::stop_request& r, const std::string& names) {
    auto answer = (*ctl)->request("mk.control.stop", msg::encode(r), 5s);
    ASSERT_TRUE(answer) << answer.error().message;
    auto reply = msg::decode<msg::control_reply>(answer->data);
    ASSERT_TRUE(reply) << reply.error().message;
    EXPECT_FALSE(reply->ok);
    EXPECT_EQ(reply->code, "invalid");
    EXPECT_NE(reply->error.find(names), std::string::npos) << reply->error;
    ++sent;
  };
  for (const auto& job :
       std::vector<std::string>{"../../etc/passwd", "R-1", std::string("r-1\0", 4), "r.*", "r->",
                                std::string(64, 'a'), ""}) {
    auto odd = stop;
    odd.job = job;
    refused(odd, "job");
  }
  for (const auto& comment : std::vector<std::string>{"\x1b[2J\x1b[H",
                                                      "C1 CSI \xc2\x9b"
                                                      "2J",
                                                      "line\nbreak", std::string(1025, 'c')}) {
    auto odd = stop;
    odd.comment = comment;
    refused(odd, "comment");
  }
  auto forever = stop;
  forever.grace_seconds = 4294967295u;
  refused(forever, "grace_seconds");
  tried("bus", static_cast<int>(sent));
  // The demo job's actor still answers for it.
  EXPECT_EQ(
      call("bus", "POST", "/api/v1/replications/" + demo() + "/stop?dry_run=true", "{}").status,
      200);
}

}  // namespace
}  // namespace mk::test
