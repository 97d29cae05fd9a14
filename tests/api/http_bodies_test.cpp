// Requests without a body, in the three forms a client may send them (issue 13): no framing
// header at all (what `curl -X POST URL` sends; RFC 9112 says its body is empty),
// `Content-Length: 0`, and a chunked body of no chunks. Written byte for byte on a connection
// kept open, as curl keeps it: a server that waited for more would answer late or not at all.
#include <fmt/format.h>

#include <thread>

#include "models/job_record.hpp"
#include "support/nbdkit.hpp"
#include "support/raw_http.hpp"
#include "up_process.hpp"

namespace mk::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

enum class framing { none, zero_length, chunked };

std::string name_of(framing f) {
  switch (f) {
    case framing::none:
      return "no Content-Length";
    case framing::zero_length:
      return "Content-Length: 0";
    case framing::chunked:
      return "chunked, empty";
  }
  return "";
}

std::string a_day_ahead() {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return actors::rfc3339((now + 24h).count());
}

constexpr framing every_framing[] = {framing::none, framing::zero_length, framing::chunked};

class api_bodies : public up_fixture {
 protected:
  void SetUp() override {
    // Slow enough that a job is still copying when the test stops it.
    source_ = nbdkit_server::start(dir_.path(), "source", {"rate"},
                                   {"random", "size=64M", "seed=13", "rate=16M"});
    start_up({"--grace", "10"});
  }
  void TearDown() override {
    up_fixture::TearDown();
    source_.stop();
  }

  /// `method path` with no body in the form `f`, its answer parsed.
  http_answer send(const std::string& method, const std::string& path, framing f) {
    std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                          "Authorization: Bearer " + up().token() + "\r\n";
    if (f == framing::zero_length) request += "Content-Length: 0\r\n";
    if (f == framing::chunked) request += "Transfer-Encoding: chunked\r\n";
    request += "\r\n";
    if (f == framing::chunked) request += "0\r\n\r\n";
    const auto raw = raw_http(port_of(up().url()), request);
    http_answer out;
    out.status = raw.status;
    out.text = raw.status ? raw.body : "no answer in " + std::to_string(raw.took.count()) + " ms";
    out.body = json::parse(raw.body, nullptr, false);
    return out;
  }

  std::string replicating(const std::string& name) {
    auto a = up().post("/api/v1/replications",
                       {{"name", name}, {"source", source_.uri()}, {"vma", "local"}});
    EXPECT_EQ(a.status, 201) << a.text;
    const auto id = a.body.value("id", "");
    EXPECT_TRUE(wait_job(
        id, [](const json& j) { return j.value("state", "") == "replicating"; }, "replicating"));
    return id;
  }

  nbdkit_server source_;
};

TEST_F(api_bodies, every_route_that_takes_no_body_accepts_each_form_of_none) {
  for (const auto f : every_framing) {
    SCOPED_TRACE(name_of(f));
    const auto id = replicating("bodiless " + name_of(f));
    const auto one = "/api/v1/replications/" + id;

    auto plan = send("POST", one + "/stop?dry_run=true", f);
    EXPECT_EQ(plan.status, 200) << plan.text;
    EXPECT_TRUE(plan.body.contains("participants")) << plan.text;

    auto stop = send("POST", one + "/stop", f);
    ASSERT_EQ(stop.status, 202) << stop.text;
    EXPECT_EQ(stop.body.value("state", ""), "stopping") << stop.text;
    EXPECT_EQ(stop.body["stop"].value("reason", ""), "user") << stop.text;
    ASSERT_TRUE(wait_job(
        id, [](const json& j) { return j.value("state", "") == "stopped"; }, "stopped"));

    auto resume = send("POST", one + "/resume", f);
    ASSERT_EQ(resume.status, 202) << resume.text;
    EXPECT_EQ(resume.body.value("state", ""), "queued") << resume.text;

    auto added = up().post("/api/v1/schedules",
                           {{"action", "stop"}, {"target", {{"job", id}}}, {"at", a_day_ahead()}});
    ASSERT_EQ(added.status, 201) << added.text;
    auto unscheduled = send("DELETE", "/api/v1/schedules/" + added.body.value("id", ""), f);
    EXPECT_EQ(unscheduled.status, 200) << unscheduled.text;

    auto removed = send("DELETE", one, f);
    ASSERT_EQ(removed.status, 202) << removed.text;
    EXPECT_EQ(removed.body["stop"].value("volumes", ""), "delete") << removed.text;
    bool gone = false;
    for (int i = 0; i < 600 && !gone; ++i, std::this_thread::sleep_for(100ms))
      gone = up().get(one).status == 404;
    EXPECT_TRUE(gone) << "the record of a deleted job is still there after 60 s";
  }
}

TEST_F(api_bodies, routes_that_need_a_body_say_so_in_each_form_of_none) {
  const std::pair<std::string, std::string> routes[] = {{"POST", "/api/v1/replications"},
                                                        {"POST", "/api/v1/replications/stop"},
                                                        {"POST", "/api/v1/schedules"},
                                                        {"PUT", "/api/v1/maintenance"}};
  for (const auto f : every_framing) {
    for (const auto& [method, path] : routes) {
      SCOPED_TRACE(name_of(f) + ": " + method + " " + path);
      auto a = send(method, path, f);
      ASSERT_EQ(a.status, 400) << a.text;
      EXPECT_EQ(a.body["error"].value("message", ""), "body: a JSON object expected") << a.text;
    }
    SCOPED_TRACE(name_of(f) + ": a path that takes no POST");
    auto a = send("POST", "/api/v1/no-such-thing", f);
    EXPECT_EQ(a.status, 404) << a.text;
  }
  EXPECT_TRUE(jobs().empty());
}

// A chunked body that does carry JSON is read as a whole, and one over the limit is 413.
TEST_F(api_bodies, chunked_bodies_are_read_and_limited) {
  const auto id = replicating("chunked");
  const std::string body = R"({"mode":"force","comment":"chunked"})";
  const std::string head =
      "POST /api/v1/replications/" + id +
      "/stop HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + up().token() +
      "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  // In two chunks, split inside a key.
  const auto half = body.size() / 2;
  auto chunk = [](const std::string& data) {
    return fmt::format("{:x}\r\n{}\r\n", data.size(), data);
  };
  auto stop = raw_http(port_of(up().url()),
                       head + chunk(body.substr(0, half)) + chunk(body.substr(half)) + "0\r\n\r\n");
  ASSERT_EQ(stop.status, 202) << stop.body;
  const auto job = json::parse(stop.body);
  EXPECT_EQ(job["stop"].value("mode", ""), "force") << stop.body;
  EXPECT_EQ(job["stop"].value("comment", ""), "chunked") << stop.body;

  auto refused =
      raw_http(port_of(up().url()), head + chunk(std::string(2 << 20, ' ')) + "0\r\n\r\n");
  EXPECT_EQ(refused.status, 413) << refused.body;
}

}  // namespace
}  // namespace mk::test
