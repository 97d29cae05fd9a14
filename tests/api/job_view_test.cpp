// The API's pure parts: the read model's pages, filters and cursors; the metrics counted from
// job changes; the checks of request bodies and stop options; the event stream's numbering.
#include "api/job_view.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "api/event_stream.hpp"
#include "api/http_json.hpp"
#include "api/metrics.hpp"

namespace mk::api {
namespace {

using nlohmann::json;

json job(int n, const std::string& state, const std::string& vma = "local") {
  char id[64];
  std::snprintf(id, sizeof id, "r-%08d", n);
  char created[64];
  std::snprintf(created, sizeof created, "2026-11-29T10:%02d:%02d.000Z", n / 60, n % 60);
  return {{"id", id},
          {"name", "disk " + std::to_string(n)},
          {"state", state},
          {"vma", vma},
          {"created_at", created},
          {"volume", {{"id", "v-x"}, {"size", 10}}},
          {"progress", nullptr},
          {"stop", nullptr},
          {"internal", {{"volume_kept", false}, {"runs", 1}}}};
}

TEST(JobView, PagesAreNewestFirstAndTheCursorContinuesWhereThePageEnded) {
  job_view v;
  for (int n = 0; n < 25; ++n) v.put(job(n, n % 2 ? "replicating" : "stopped"));
  std::vector<std::string> seen;
  list_query q;
  q.limit = 10;
  for (int pages = 0; pages < 5; ++pages) {
    auto page = v.list(q);
    ASSERT_TRUE(page) << page.error();
    for (const auto& j : page->jobs) {
      EXPECT_FALSE(j.contains("internal")) << "the API shows no internal part";
      seen.push_back(j["id"]);
    }
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
  }
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_EQ(seen.front(), "r-00000024");
  EXPECT_EQ(seen.back(), "r-00000000");
}

TEST(JobView, FiltersByStateAndVmaAndRefusesBadParameters) {
  job_view v;
  for (int n = 0; n < 12; ++n) v.put(job(n, n % 3 ? "replicating" : "stopped", n % 2 ? "a" : "b"));
  list_query q;
  q.state = "stopped";
  q.vma = "b";
  auto page = v.list(q);
  ASSERT_TRUE(page);
  for (const auto& j : page->jobs) {
    EXPECT_EQ(j["state"], "stopped");
    EXPECT_EQ(j["vma"], "b");
  }
  EXPECT_EQ(page->jobs.size(), 2u);  // 0 and 6
  q = {};
  q.limit = 0;
  EXPECT_NE(v.list(q).error().find("limit"), std::string::npos);
  q = {};
  q.cursor = "../../etc/passwd";
  EXPECT_NE(v.list(q).error().find("cursor"), std::string::npos);
}

TEST(JobView, ShowsTheVolumeStateAndForgetsRemovedJobs) {
  job_view v;
  auto j = job(1, "stopped");
  j["internal"]["volume_kept"] = true;
  v.put(j);
  EXPECT_EQ((*v.get("r-00000001"))["volume"]["state"], "partial");
  j["state"] = "replicating";
  v.put(j);
  EXPECT_EQ((*v.get("r-00000001"))["volume"]["state"], "attached");
  EXPECT_EQ(v.count_by_state().at("replicating"), 1u);
  v.remove("r-00000001");
  EXPECT_FALSE(v.get("r-00000001"));
  EXPECT_TRUE(v.list({})->jobs.empty());
}

json settled(const std::string& stop_id, const std::string& reason, const std::string& state,
             const std::string& vma_outcome, int ms) {
  auto j = job(1, state);
  j["stop"] = {{"id", stop_id},
               {"reason", reason},
               {"requested_at", "2026-11-29T10:00:00.000Z"},
               {"settled_at", "2026-11-29T10:00:0" + std::to_string(ms / 1000) + "." +
                                  std::string(3 - std::to_string(ms % 1000).size(), '0') +
                                  std::to_string(ms % 1000) + "Z"},
               {"participants", {{"vma_process", vma_outcome}}}};
  return j;
}

TEST(Metrics, CountsEachSettledStopOnceWithItsDurationAndForceKills) {
  metrics m;
  auto stopping = job(1, "stopping");
  stopping["progress"] = {{"bytes_done", 100}};
  m.observe(nullptr, stopping);
  auto done = settled("s-1", "user", "stopped", "exited", 2100);
  done["progress"] = {{"bytes_done", 350}};
  m.observe(stopping, done);
  m.observe(done, done);  // told twice: counted once
  m.observe(nullptr, settled("s-2", "maintenance", "stopped", "killed", 40));
  const auto text = m.render({{"stopped", 2}}, 3, 1);
  EXPECT_NE(text.find("migratekit_stops_total{reason=\"user\",outcome=\"stopped\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("migratekit_stops_total{reason=\"maintenance\",outcome=\"stopped\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("migratekit_stop_duration_seconds_bucket{le=\"0.05\"} 1"), std::string::npos);
  EXPECT_NE(text.find("migratekit_stop_duration_seconds_bucket{le=\"2.5\"} 2"), std::string::npos);
  EXPECT_NE(text.find("migratekit_stop_duration_seconds_count 2"), std::string::npos);
  EXPECT_NE(text.find("migratekit_force_kills_total 1"), std::string::npos);
  EXPECT_NE(text.find("migratekit_bytes_copied_total 250"), std::string::npos);
  EXPECT_NE(text.find("migratekit_jobs{state=\"stopped\"} 2"), std::string::npos);
  EXPECT_NE(text.find("migratekit_jobs{state=\"queued\"} 0"), std::string::npos);
  EXPECT_NE(text.find("migratekit_bus_messages_dropped_total{reason=\"malformed\"} 3"),
            std::string::npos);
}

TEST(Metrics, CountsTheBytesResumedRunsCopyAgainFromTheirJobLogEntries) {
  metrics m;
  auto recopy = [](json bytes) {
    return json{{"event", "resumed_from_checkpoint"},
                {"job", "r-1"},
                {"detail", {{"bytes_done_before", 5000}, {"bytes_recopied", bytes}}}};
  };
  m.observe_log(recopy(1904));
  m.observe_log(recopy(96));
  m.observe_log(recopy("lots"));  // malformed: not counted
  m.observe_log({{"event", "stop_settled"}, {"detail", {{"bytes_recopied", 7}}}});
  const auto text = m.render({}, 0, 0);
  EXPECT_NE(text.find("# TYPE migratekit_bytes_recopied_total counter"), std::string::npos);
  EXPECT_NE(text.find("\nmigratekit_bytes_recopied_total 2000\n"), std::string::npos) << text;
}

httplib::Request json_request(std::string body, std::string type = "application/json") {
  httplib::Request r;
  r.body = std::move(body);
  r.headers.emplace("Content-Type", std::move(type));
  return r;
}

TEST(RequestBodies, AreJsonObjectsOfBoundedDepthWithTheRightContentType) {
  EXPECT_TRUE(read_body(json_request(R"({"a":1})"), false));
  EXPECT_TRUE(read_body(json_request(R"({"a":1})", "application/json; charset=utf-8"), false));
  EXPECT_EQ(read_body(json_request(R"({"a":1})", "text/plain"), false).error().status, 415);
  EXPECT_EQ(read_body(json_request("{nope"), false).error().status, 400);
  EXPECT_EQ(read_body(json_request("[1,2]"), false).error().status, 400);
  const auto deep = std::string(100, '[') + std::string(100, ']');
  auto e = read_body(json_request(R"({"a":)" + deep + "}"), false);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("nested"), std::string::npos);
  // Brackets inside strings are text, not nesting.
  EXPECT_TRUE(read_body(json_request(R"({"a":")" + std::string(100, '[') + R"("})"), false));
  EXPECT_TRUE(read_body(httplib::Request{}, true));
  EXPECT_FALSE(read_body(httplib::Request{}, false));
}

TEST(StopOptions, AreCheckedFieldByFieldAndNamed) {
  auto ok = stop_options(
      json{{"mode", "force"}, {"volumes", "delete"}, {"comment", "bye"}, {"grace_seconds", 5}},
      msg::stop_reason::user);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->mode, msg::stop_mode::force);
  EXPECT_EQ(ok->volumes, msg::volume_action::remove);
  EXPECT_EQ(ok->reason, msg::stop_reason::user);
  EXPECT_EQ(ok->grace_seconds, 5u);
  auto named = [](const json& body) {
    auto r = stop_options(body, msg::stop_reason::user);
    return r ? std::string() : r.error().message;
  };
  EXPECT_NE(named({{"mode", "gentle"}}).find("mode: one of graceful, force"), std::string::npos);
  EXPECT_NE(named({{"volumes", 1}}).find("volumes: a string"), std::string::npos);
  EXPECT_NE(named({{"grace_seconds", "10"}}).find("grace_seconds"), std::string::npos);
  EXPECT_NE(named({{"grace_seconds", 0}}).find("grace_seconds"), std::string::npos);
  EXPECT_NE(named({{"comment", "a\nb"}}).find("comment"), std::string::npos);
  EXPECT_NE(named({{"mdoe", "force"}}).find("unknown field 'mdoe'"), std::string::npos);
  EXPECT_TRUE(stop_options({{"ids", json::array()}}, msg::stop_reason::batch, {"ids"}));
}

TEST(Ids, OnlyTheSpecsPatternPasses) {
  EXPECT_FALSE(check_id("r-1234abcd"));
  for (const auto* bad : {"", "../x", "R-1", "-r", "a b", "r.1", "r*", "r>"})
    EXPECT_TRUE(check_id(bad)) << bad;
  EXPECT_TRUE(check_id(std::string(64, 'a')));
}

TEST(EventStream, NumbersEventsAndWakesWaitersAndEndsOnClose) {
  event_stream s(3);
  s.publish("job", "1");
  s.publish("job", "2");
  auto got = s.wait(0, std::chrono::milliseconds(10));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].seq, 2u);
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s.publish("removed", "3");
  });
  got = s.wait(2, std::chrono::seconds(5));
  later.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, "removed");
  for (int i = 0; i < 5; ++i) s.publish("job", "x");
  EXPECT_EQ(s.wait(0, std::chrono::milliseconds(1)).size(), 3u) << "only the newest are kept";
  s.close();
  EXPECT_TRUE(s.wait(0, std::chrono::seconds(5)).empty());
  EXPECT_TRUE(s.closed());
}

}  // namespace
}  // namespace mk::api
