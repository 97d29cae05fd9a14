// Maintenance mode end to end (docs/operations.md) against `migratekit up`: 50 running jobs on a
// rate-limited source, all stopped with reason `maintenance`, never more than max_parallel
// stopping at once (read from the JobLog), new replications refused with 503, the mode still
// on after a restart, and off with resume_after bringing back exactly those 50.
#include <algorithm>
#include <map>
#include <set>

#include "up_process.hpp"

namespace mk::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

/// MK_MAINTENANCE_JOBS jobs (50 unless told). Each mover keeps two 64 KiB requests in
/// flight, so that a graceful stop drains at once even with all of them reading one source.
std::size_t job_count() {
  const char* n = std::getenv("MK_MAINTENANCE_JOBS");
  return n ? std::max(2ul, std::strtoul(n, nullptr, 10)) : 50;
}

const std::vector<std::string> up_args = {
    "--demo",      "--demo-size",  "256M",        "--demo-rate",         "64M", "--grace", "10",
    "--mover-arg", "--requests=2", "--mover-arg", "--request-size=65536"};

std::string state_of(const json& j) { return j.value("state", ""); }

std::string stop_reason(const json& j) {
  return j.contains("stop") && j["stop"].is_object() ? j["stop"].value("reason", "") : "";
}

/// The most stops in flight at once, from each job's JobLog: a stop counts from its
/// `stop_requested` entry to its `stop_settled` one (RFC 3339 times of one width sort as text).
int most_at_once(const std::map<std::string, std::vector<json>>& logs) {
  std::vector<std::pair<std::string, int>> edges;
  for (const auto& [job, entries] : logs)
    for (const auto& e : entries) {
      const auto event = e.value("event", "");
      if (event == "stop_requested")
        edges.emplace_back(e.value("ts", ""), +1);
      else if (event == "stop_settled")
        edges.emplace_back(e.value("ts", ""), -1);
    }
  std::ranges::sort(edges);  // at equal times the end (-1) sorts first
  int now = 0, most = 0;
  for (const auto& [ts, d] : edges) most = std::max(most, now += d);
  return most;
}

class maintenance_e2e : public up_fixture {
 protected:
  std::string create(const std::string& name) {
    const auto source = "nbd+unix:///?socket=" + (data_dir() / "demo" / "source.sock").string();
    auto r =
        up().post("/api/v1/replications", {{"name", name}, {"source", source}, {"vma", "local"}});
    EXPECT_EQ(r.status, 201) << r.text;
    return r.body.value("id", "");
  }

  bool all(const std::set<std::string>& ids, const std::function<bool(const json&)>& holds) {
    std::size_t done = 0;
    for (const auto& id : ids)
      if (wait_job(id, holds, "as the test waits for", 180s)) ++done;
    return done == ids.size();
  }
};

TEST_F(maintenance_e2e, fifty_jobs_stop_within_max_parallel_and_come_back_after_a_restart) {
  const std::size_t n = job_count();
  const int max_parallel = 8;
  start_up(up_args);
  std::set<std::string> running = {jobs().at(0).value("id", "")};
  while (running.size() < n) running.insert(create("disk " + std::to_string(running.size())));
  // Stopped by an operator before the maintenance: it must stay stopped after it.
  const auto operators = create("operator's");
  // Its volume is attached after the fifty others, one at a time: minutes on a loaded machine.
  ASSERT_TRUE(wait_job(
      operators, [](const json& j) { return state_of(j) == "replicating"; }, "replicating", 180s));
  ASSERT_EQ(up().post("/api/v1/replications/" + operators + "/stop").status, 202);
  ASSERT_TRUE(wait_job(
      operators, [](const json& j) { return state_of(j) == "stopped"; }, "stopped"));
  ASSERT_TRUE(all(running, [](const json& j) { return state_of(j) == "replicating"; }));

  auto on = up().request(
      "PUT", "/api/v1/maintenance",
      {{"enabled", true}, {"reason", "host patching"}, {"max_parallel", max_parallel}});
  ASSERT_EQ(on.status, 200) << on.text;
  EXPECT_EQ(on.body["enabled"], true);
  auto refused = up().post("/api/v1/replications",
                           {{"name", "late"}, {"source", "nbd://127.0.0.1/x"}, {"vma", "local"}});
  EXPECT_EQ(refused.status, 503) << refused.text;
  EXPECT_NE(refused.text.find("maintenance mode is on"), std::string::npos) << refused.text;
  EXPECT_EQ(up().post("/api/v1/replications/" + operators + "/resume").status, 503);

  ASSERT_TRUE(all(running, [](const json& j) {
    return state_of(j) == "stopped" && stop_reason(j) == "maintenance";
  }));
  std::map<std::string, std::vector<json>> logs;
  for (const auto& id : running)
    logs[id] = up().get("/api/v1/replications/" + id + "/log").body["entries"];
  const int most = most_at_once(logs);
  EXPECT_LE(most, max_parallel);
  EXPECT_GE(most, 2) << "the stops ran one at a time";
  auto mode = up().get("/api/v1/maintenance").body;
  EXPECT_EQ(mode["stopped"].size(), n) << mode.dump();

  // A restart keeps the mode: still on, still refusing, nothing resumed.
  ASSERT_TRUE(up().interrupt(60s));
  start_up(up_args);
  mode = up().get("/api/v1/maintenance").body;
  EXPECT_EQ(mode["enabled"], true) << mode.dump();
  EXPECT_EQ(up().post("/api/v1/replications/" + *running.begin() + "/resume").status, 503);
  for (const auto& id : running) EXPECT_EQ(state_of(job(id)), "stopped") << id;

  auto off =
      up().request("PUT", "/api/v1/maintenance", {{"enabled", false}, {"resume_after", true}});
  ASSERT_EQ(off.status, 200) << off.text;
  ASSERT_TRUE(all(running, [](const json& j) { return state_of(j) == "replicating"; }));
  EXPECT_EQ(state_of(job(operators)), "stopped");
  for (const auto& j : jobs()) {
    if (!running.contains(j.value("id", ""))) {
      EXPECT_EQ(j.value("id", ""), operators) << "an unexpected job: " << j.dump();
    }
  }
}

}  // namespace
}  // namespace mk::test
