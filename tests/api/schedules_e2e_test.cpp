// Schedules end to end (docs/operations.md) against `migratekit up`, on the real clock: a daily
// window a few seconds long, added while it is closed, stops the running jobs in its scope
// (reason schedule, a comment and a JobLog entry naming it), resumes exactly those when it
// opens, stops them again when it closes, is still there after a restart, and its removal
// resumes what it stopped. A job its operator stopped stays stopped throughout.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "up_process.hpp"

namespace mk::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::vector<std::string> up_args = {
    "--demo",      "--demo-size",  "256M",        "--demo-rate",         "32M", "--grace", "10",
    "--mover-arg", "--requests=2", "--mover-arg", "--request-size=65536"};

std::string state_of(const json& j) { return j.value("state", ""); }

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// The UTC time of day at `unix_ms`, as HH:MM:SS.
std::string time_of_day(std::int64_t unix_ms) {
  const auto s = (unix_ms / 1000) % 86400;
  return fmt::format("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

/// A time of day as a window's text shows it: the seconds only where they are not 0.
std::string shown_time_of_day(std::int64_t unix_ms) {
  const auto text = time_of_day(unix_ms);
  return text.ends_with(":00") ? text.substr(0, 5) : text;
}

class schedules_e2e : public up_fixture {
 protected:
  std::string create(const std::string& name) {
    const auto source = "nbd+unix:///?socket=" + (data_dir() / "demo" / "source.sock").string();
    auto r =
        up().post("/api/v1/replications", {{"name", name}, {"source", source}, {"vma", "local"}});
    EXPECT_EQ(r.status, 201) << r.text;
    return r.body.value("id", "");
  }

  bool all_are(const std::vector<std::string>& ids, const std::string& state) {
    return std::ranges::all_of(ids, [&](const std::string& id) {
      return wait_job(
          id, [&](const json& j) { return state_of(j) == state; }, state, 90s);
    });
  }

  json schedule(const std::string& id) {
    const auto list = up().get("/api/v1/schedules");
    for (const auto& s : list.body["schedules"])
      if (s["id"] == id) return s;
    return nullptr;
  }
};

TEST_F(schedules_e2e, a_window_a_few_seconds_long_stops_and_resumes_its_jobs_on_the_clock) {
  start_up(up_args);
  const std::vector<std::string> ids = {jobs().at(0).value("id", ""), create("disk 1")};
  const auto operators = create("operator's");
  ASSERT_TRUE(all_are({ids[0], ids[1], operators}, "replicating"));
  ASSERT_EQ(up().post("/api/v1/replications/" + operators + "/stop").status, 202);
  ASSERT_TRUE(all_are({operators}, "stopped"));

  // Closed now; open from +12 s to +20 s (the stops settle in a few seconds on this machine).
  const auto t0 = wall_ms();
  const auto opens = (t0 / 1000 + 12) * 1000, closes = opens + 8000;
  auto added = up().post("/api/v1/schedules",
                         {{"target", {{"vma", "local"}}},
                          {"window", {{"from", time_of_day(opens)}, {"to", time_of_day(closes)}}}});
  ASSERT_EQ(added.status, 201) << added.text;
  const auto id = added.body.value("id", "");
  EXPECT_EQ(added.body["open"], false);
  ASSERT_TRUE(all_are(ids, "stopped"));
  for (const auto& job_id : ids) {
    const auto j = job(job_id);
    EXPECT_EQ(j["stop"]["reason"], "schedule") << j.dump();
    EXPECT_EQ(j["stop"]["comment"], "schedule " + id + ": outside the window " +
                                        shown_time_of_day(opens) + "-" + shown_time_of_day(closes) +
                                        " UTC");
    const auto log = up().get("/api/v1/replications/" + job_id + "/log").body["entries"];
    auto fired = std::ranges::find_if(log, [&](const json& e) {
      return e["event"] == "schedule_fired" && e["detail"]["schedule"] == id;
    });
    EXPECT_NE(fired, log.end()) << log.dump();
    auto requested =
        std::ranges::find_if(log, [](const json& e) { return e["event"] == "stop_requested"; });
    ASSERT_NE(requested, log.end());
    EXPECT_EQ((*requested)["detail"]["requested_by"], "scheduler");
  }
  auto listed = schedule(id);
  auto stopped = listed["stopped"].get<std::vector<std::string>>();
  std::ranges::sort(stopped);
  auto expected = ids;
  std::ranges::sort(expected);
  EXPECT_EQ(stopped, expected) << listed.dump();
  ASSERT_LT(wall_ms(), opens) << "the stops took too long for this test's window";

  // It opens: back to work. It closes: stopped again.
  ASSERT_TRUE(all_are(ids, "replicating"));
  EXPECT_GE(wall_ms(), opens);
  EXPECT_EQ(schedule(id)["open"], true);
  ASSERT_TRUE(all_are(ids, "stopped"));
  EXPECT_GE(wall_ms(), closes);
  EXPECT_EQ(state_of(job(operators)), "stopped");

  // Kept across a restart; removing it while closed resumes what it stopped.
  ASSERT_TRUE(up().interrupt(60s));
  start_up(up_args);
  listed = schedule(id);
  ASSERT_FALSE(listed.is_null()) << "the schedule did not survive the restart";
  EXPECT_EQ(listed["stopped"].size(), 2u) << listed.dump();
  auto removed = up().request("DELETE", "/api/v1/schedules/" + id);
  ASSERT_EQ(removed.status, 200) << removed.text;
  ASSERT_TRUE(all_are(ids, "replicating"));
  EXPECT_EQ(up().get("/api/v1/schedules").body["schedules"], json::array());
  EXPECT_EQ(up().request("DELETE", "/api/v1/schedules/" + id).status, 404);
  EXPECT_EQ(state_of(job(operators)), "stopped");
}

}  // namespace
}  // namespace mk::test
