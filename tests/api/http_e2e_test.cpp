// The REST API end to end (docs/api.md and docs/security.md): HTTP against `migratekit up` as a
// process, with its own nats-server, its agent `local`, real movers and a rate-limited nbdkit
// source for each job.
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "models/job_record.hpp"
#include "nats_fixture.hpp"
#include "support/hash.hpp"
#include "support/in_order.hpp"
#include "support/nbdkit.hpp"
#include "up_process.hpp"

namespace mk::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr std::uint64_t mib = 1 << 20;

std::string state_of(const json& job) { return job.is_object() ? job.value("state", "") : ""; }

class api_e2e : public up_fixture {
 protected:
  // Four requests in flight (not 64): a graceful stop drains 1 MiB, a second at the rate below.
  void SetUp() override { start_up({"--grace", "10", "--mover-arg", "--requests=4"}); }
  void TearDown() override {
    up_fixture::TearDown();
    for (auto& [id, s] : sources_) s.server.stop();
  }

  /// POST /replications of a source of its own; the new job's id (the test fails if it is
  /// refused). Each job reads its own nbdkit, 32 MiB at 8 Mbit/s: a whole copy would take
  /// over 30 s, so a stop lands mid-copy however slow the machine and however many jobs run.
  /// `unthrottle` lets it finish.
  std::string create(const std::string& name = "disk 0") {
    const auto n = "source-" + std::to_string(created_++);
    throttled s{{}, rate_file(dir_ / (n + ".rate"))};
    // noparallel: see control_plane.cpp (nbdkit 1.32 and a mover killed mid-read).
    s.server = nbdkit_server::start(dir_.path(), n, {"noparallel", "rate"},
                                    {"random", "size=" + std::to_string(32 * mib), "seed=11",
                                     "rate=8M", s.rate.arg(), "serialize=requests"});
    auto a = up().post("/api/v1/replications",
                       {{"name", name}, {"source", s.server.uri()}, {"vma", "local"}});
    EXPECT_EQ(a.status, 201) << a.text;
    EXPECT_EQ(state_of(a.body), "queued") << a.text;
    const auto id = a.body.value("id", "");
    if (!id.empty()) sources_.emplace(id, std::move(s));
    return id;
  }

  /// The job's source, as it was given to it.
  std::string source_of(const std::string& id) { return sources_.at(id).server.uri(); }

  /// The job's source at full speed, for a copy or a resume that must complete.
  void unthrottle(const std::string& id) { set_rate(id, "20G"); }
  void set_rate(const std::string& id, const std::string& rate) { sources_.at(id).rate.set(rate); }

  bool wait_state(const std::string& id, const std::string& state,
                  std::chrono::milliseconds timeout = 60s) {
    return wait_job(
        id, [&](const json& j) { return state_of(j) == state; }, state, timeout);
  }

  std::string replicating(const std::string& name = "disk 0") {
    const auto id = create(name);
    EXPECT_TRUE(wait_job(
        id,
        [](const json& j) {
          return state_of(j) == "replicating" && j["progress"].is_object() &&
                 j["progress"].value("bytes_done", 0u) >= 2 * mib;
        },
        "replicating with 2 MiB copied"));
    return id;
  }

 private:
  struct throttled {
    nbdkit_server server;
    rate_file rate;
  };
  std::map<std::string, throttled> sources_;  // by job id
  std::size_t created_ = 0;                   // refused ones too: names stay unique
};

TEST_F(api_e2e, create_list_with_a_filter_and_a_cursor_then_show) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(create("disk " + std::to_string(i)));
  auto first = up().get("/api/v1/replications?limit=2");
  ASSERT_EQ(first.status, 200) << first.text;
  ASSERT_EQ(first.body["replications"].size(), 2u);
  ASSERT_TRUE(first.body["next_cursor"].is_string()) << first.text;
  // Newest first.
  EXPECT_EQ(first.body["replications"][0]["id"], ids[2]);
  EXPECT_EQ(first.body["replications"][1]["id"], ids[1]);
  auto second = up().get("/api/v1/replications?limit=2&cursor=" +
                         first.body["next_cursor"].get<std::string>());
  ASSERT_EQ(second.status, 200) << second.text;
  ASSERT_EQ(second.body["replications"].size(), 1u);
  EXPECT_EQ(second.body["replications"][0]["id"], ids[0]);
  EXPECT_TRUE(second.body["next_cursor"].is_null());

  for (const auto& id : ids) ASSERT_TRUE(wait_state(id, "replicating"));
  auto by_state = up().get("/api/v1/replications?state=replicating&vma=local");
  ASSERT_EQ(by_state.status, 200);
  EXPECT_EQ(by_state.body["replications"].size(), 3u);
  EXPECT_TRUE(up().get("/api/v1/replications?state=completed").body["replications"].empty());
  EXPECT_TRUE(up().get("/api/v1/replications?vma=elsewhere").body["replications"].empty());

  auto one = up().get("/api/v1/replications/" + ids[1]);
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.body["name"], "disk 1");
  EXPECT_EQ(one.body["source"], source_of(ids[1]));
  EXPECT_EQ(one.body["volume"]["state"], "attached");
  EXPECT_EQ(one.body["volume"]["path"],
            (data_dir() / "volumes" / ("v-" + ids[1].substr(2) + ".img")).string());
  EXPECT_FALSE(one.body.contains("internal")) << "the control plane's own fields leaked";
  for (const auto* key : {"id", "name", "state", "source", "vma", "resumable", "error", "volume",
                          "progress", "stop", "created_at", "updated_at"})
    EXPECT_TRUE(one.body.contains(key)) << key;
}

TEST_F(api_e2e, stop_then_resume_completes_with_identical_data) {
  const auto id = replicating();
  auto stop = up().post("/api/v1/replications/" + id + "/stop", {{"comment", "e2e"}});
  ASSERT_EQ(stop.status, 202) << stop.text;
  EXPECT_EQ(state_of(stop.body), "stopping");
  const auto stop_id = stop.body["stop"]["id"];
  ASSERT_TRUE(wait_state(id, "stopped"));
  auto stopped = job(id);
  EXPECT_EQ(stopped["stop"]["id"], stop_id);
  EXPECT_EQ(stopped["stop"]["participants"]["vma_process"], "exited");
  EXPECT_EQ(stopped["volume"]["state"], "partial");
  EXPECT_TRUE(stopped["resumable"].get<bool>());

  unthrottle(id);
  auto resume = up().post("/api/v1/replications/" + id + "/resume");
  ASSERT_EQ(resume.status, 202) << resume.text;
  EXPECT_EQ(state_of(resume.body), "queued");
  ASSERT_TRUE(wait_state(id, "completed"));
  const auto volume = data_dir() / "volumes" / (std::string("v-") + id.substr(2) + ".img");
  EXPECT_EQ(hash_file(volume), hash_export(source_of(id))) << "the volume differs from the source";
  // Waited for: a JobLog entry is written just after the record whose state it explains.
  EXPECT_TRUE(eventually(
      [&] {
        return in_order(events(id), {"created", "replicating", "stop_requested", "stop_settled",
                                     "resumed", "replicating", "completed"});
      },
      10s))
      << ::testing::PrintToString(events(id));
}

TEST_F(api_e2e, delete_removes_the_job_and_its_volume_and_keeps_the_joblog) {
  const auto id = replicating();
  auto del = up().request("DELETE", "/api/v1/replications/" + id);
  ASSERT_EQ(del.status, 202) << del.text;
  EXPECT_EQ(del.body["stop"]["volumes"], "delete");
  EXPECT_TRUE(eventually([&] { return up().get("/api/v1/replications/" + id).status == 404; }, 60s))
      << job(id).dump();
  const auto volume = data_dir() / "volumes" / (std::string("v-") + id.substr(2) + ".img");
  EXPECT_FALSE(std::filesystem::exists(volume));
  auto log = up().get("/api/v1/replications/" + id + "/log");
  ASSERT_EQ(log.status, 200) << "the JobLog must outlive the job";
  EXPECT_TRUE(eventually(
      [&] {
        return in_order(events(id), {"created", "stop_requested", "stop_settled", "deleted"});
      },
      10s))
      << ::testing::PrintToString(events(id));
  for (const auto& j : jobs()) EXPECT_NE(j["id"], id);
  // Gone for good: a second DELETE does not know it.
  EXPECT_EQ(up().request("DELETE", "/api/v1/replications/" + id).status, 404);
}

TEST_F(api_e2e, batch_stop_by_ids_and_by_filter_with_a_per_job_outcome) {
  const auto a = replicating("a"), b = replicating("b"), c = replicating("c");
  auto batch = up().post("/api/v1/replications/stop",
                         {{"ids", {a, b, "r-00000000"}}, {"comment", "batch of two"}});
  ASSERT_EQ(batch.status, 202) << batch.text;
  EXPECT_EQ(batch.body["accepted"], json({a, b}));
  ASSERT_EQ(batch.body["rejected"].size(), 1u);
  EXPECT_EQ(batch.body["rejected"][0]["id"], "r-00000000");
  EXPECT_EQ(batch.body["rejected"][0]["error"]["code"], "not_found");
  ASSERT_TRUE(wait_state(a, "stopped"));
  ASSERT_TRUE(wait_state(b, "stopped"));
  EXPECT_EQ(job(a)["stop"]["reason"], "batch");

  auto by_filter = up().post("/api/v1/replications/stop",
                             {{"filter", {{"vma", "local"}}}, {"volumes", "delete"}});
  ASSERT_EQ(by_filter.status, 202) << by_filter.text;
  EXPECT_EQ(by_filter.body["accepted"], json({c})) << "only the job that still ran";
  ASSERT_TRUE(wait_state(c, "cancelled"));
  EXPECT_EQ(state_of(job(a)), "stopped") << "a filter without a state picks running jobs only";
}

TEST_F(api_e2e, a_dry_run_plans_the_stop_and_changes_nothing) {
  const auto id = replicating();
  auto plan = up().post("/api/v1/replications/" + id + "/stop?dry_run=true", {{"volumes", "keep"}});
  ASSERT_EQ(plan.status, 200) << plan.text;
  const auto pid =
      job(id)["progress"].is_object() ? plan.body["participants"]["vma_process"]["pid"] : json();
  EXPECT_TRUE(pid.is_number_integer() && pid.get<int>() > 0) << plan.text;
  EXPECT_EQ(plan.body["participants"]["vma_process"]["signal"], "SIGTERM");
  EXPECT_EQ(plan.body["participants"]["vma_process"]["then"], "SIGKILL after 10 s");
  EXPECT_EQ(plan.body["participants"]["volume"]["action"], "keep");
  EXPECT_EQ(plan.body["participants"]["volume"]["path"], job(id)["volume"]["path"]);
  EXPECT_TRUE(plan.body["participants"]["volume"]["path"].is_string()) << plan.text;
  EXPECT_EQ(plan.body["final_state"], "stopped");
  EXPECT_GT(plan.body["bytes_kept"].get<std::uint64_t>(), 0u);
  auto forced = up().post("/api/v1/replications/" + id + "/stop?dry_run=true",
                          {{"mode", "force"}, {"volumes", "delete"}});
  EXPECT_EQ(forced.body["participants"]["vma_process"]["signal"], "SIGKILL");
  EXPECT_EQ(forced.body["final_state"], "cancelled");
  EXPECT_EQ(forced.body["bytes_kept"], 0);
  // Nothing changed: the job still copies, and its JobLog has no stop.
  EXPECT_EQ(state_of(job(id)), "replicating");
  for (const auto& e : events(id)) EXPECT_NE(e, "stop_requested");
}

TEST_F(api_e2e, events_deliver_the_stopping_and_stopped_changes_in_order) {
  const auto id = replicating();
  std::mutex mutex;
  std::vector<std::string> states;  // of the job's `event: job` messages, in order
  std::atomic<bool> done{false};
  std::string buffer;
  httplib::Client client(up().url());
  client.set_bearer_token_auth(up().token());
  client.set_read_timeout(60, 0);
  std::thread reader([&] {
    client.Get("/api/v1/events", [&](const char* data, std::size_t n) {
      buffer.append(data, n);
      for (auto end = buffer.find("\n\n"); end != std::string::npos; end = buffer.find("\n\n")) {
        const auto block = buffer.substr(0, end);
        buffer.erase(0, end + 2);
        const auto at = block.find("data: ");
        if (block.find("event: job") == std::string::npos || at == std::string::npos) continue;
        auto j = json::parse(block.substr(at + 6, block.find('\n', at) - at - 6), nullptr, false);
        if (j.is_object() && j.value("id", "") == id) {
          std::lock_guard lock(mutex);
          if (states.empty() || states.back() != state_of(j)) states.push_back(state_of(j));
        }
      }
      return !done.load();
    });
  });
  std::this_thread::sleep_for(500ms);  // the stream is open before the stop
  auto stop = up().post("/api/v1/replications/" + id + "/stop");
  ASSERT_EQ(stop.status, 202) << stop.text;
  const bool settled = eventually(
      [&] {
        std::lock_guard lock(mutex);
        return !states.empty() && states.back() == "stopped";
      },
      60s);
  done = true;
  client.stop();
  reader.join();
  EXPECT_TRUE(settled);
  EXPECT_TRUE(in_order(states, {"stopping", "stopped"})) << ::testing::PrintToString(states);
  EXPECT_EQ(std::count(states.begin(), states.end(), "stopped"), 1);
}

// Stops of every kind, then their analytics: the job deleted counts too (its JobLog stays),
// and a resumed run's bytes copied again are the sum the JobLogs carry.
TEST_F(api_e2e, stop_analytics_count_each_kind_of_stop_from_the_joblog) {
  const auto before = actors::rfc3339(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count() -
                                      1000);
  const auto graceful = replicating("graceful"), forced = replicating("forced"),
             deleted = replicating("deleted"), maintained = replicating("maintained");
  auto stop_with = [&](const std::string& id, const json& options) {
    auto a = up().post("/api/v1/replications/" + id + "/stop", options);
    EXPECT_EQ(a.status, 202) << a.text;
  };
  stop_with(graceful, {{"volumes", "keep"}});
  stop_with(forced, {{"mode", "force"}});
  stop_with(maintained, {{"reason", "maintenance"}});
  ASSERT_EQ(up().request("DELETE", "/api/v1/replications/" + deleted).status, 202);
  ASSERT_TRUE(wait_state(graceful, "stopped"));
  ASSERT_TRUE(wait_state(forced, "stopped"));
  ASSERT_TRUE(wait_state(maintained, "stopped"));
  ASSERT_TRUE(
      eventually([&] { return up().get("/api/v1/replications/" + deleted).status == 404; }, 60s));
  EXPECT_EQ(job(forced)["stop"]["participants"]["vma_process"], "killed");
  // Not unthrottled: the resumed run must report progress (every 0.5 s) before it ends, or it
  // has nothing to tell its start from; at 20G the rest of the copy ended before its first.
  set_rate(graceful, "100M");
  ASSERT_EQ(up().post("/api/v1/replications/" + graceful + "/resume").status, 202);
  ASSERT_TRUE(wait_state(graceful, "completed"));

  auto a = up().get("/api/v1/analytics/stops");
  ASSERT_EQ(a.status, 200) << a.text;
  EXPECT_TRUE(a.body["since"].is_null());
  EXPECT_EQ(a.body["stops"], 4) << a.text;
  EXPECT_EQ(a.body["by_reason"]["user"], 3) << a.text;
  EXPECT_EQ(a.body["by_reason"]["maintenance"], 1) << a.text;
  EXPECT_EQ(a.body["by_outcome"],
            (json{{"stopped", 3}, {"cancelled", 1}, {"failed", 0}, {"completed", 0}}));
  EXPECT_EQ(a.body["force_kills"], 1) << a.text;
  const auto& d = a.body["duration_ms"];
  ASSERT_TRUE(d["p50"].is_number() && d["p95"].is_number() && d["max"].is_number()) << a.text;
  EXPECT_LE(d["p50"].get<double>(), d["p95"].get<double>());
  EXPECT_LE(d["p95"].get<double>(), d["max"].get<double>());
  EXPECT_GT(d["max"].get<double>(), 0);
  // The resumed run logged what it copied again; the analytics and /metrics add it up.
  std::uint64_t recopied = 0;
  std::size_t entries = 0;
  const auto log = up().get("/api/v1/replications/" + graceful + "/log");
  ASSERT_EQ(log.status, 200) << log.text;
  for (const auto& e : log.body["entries"])
    if (e["event"] == "resumed_from_checkpoint") {
      ++entries;
      recopied += e["detail"]["bytes_recopied"].get<std::uint64_t>();
    }
  EXPECT_EQ(entries, 1u) << ::testing::PrintToString(events(graceful));
  EXPECT_EQ(a.body["bytes_recopied"], recopied);
  const auto metrics = up().get("/metrics").text;
  EXPECT_NE(metrics.find("\nmigratekit_bytes_recopied_total " + std::to_string(recopied) + "\n"),
            std::string::npos)
      << metrics;

  auto since = up().get("/api/v1/analytics/stops?since=" + before);
  ASSERT_EQ(since.status, 200) << since.text;
  EXPECT_EQ(since.body["since"], before);
  EXPECT_EQ(since.body["stops"], 4) << since.text;
  auto future = up().get("/api/v1/analytics/stops?since=2999-01-01T00:00:00Z");
  ASSERT_EQ(future.status, 200) << future.text;
  EXPECT_EQ(future.body["stops"], 0) << future.text;
  EXPECT_EQ(future.body["force_kills"], 0);
  EXPECT_TRUE(future.body["duration_ms"]["p50"].is_null()) << future.text;
  auto bad = up().get("/api/v1/analytics/stops?since=yesterday");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body["error"]["message"].get<std::string>().find("since"), std::string::npos)
      << bad.text;
  httplib::Client anonymous(up().url());
  auto refused = anonymous.Get("/api/v1/analytics/stops");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
}

TEST_F(api_e2e, agents_lists_local_online_with_its_last_report_host_and_movers) {
  // `local` said hello before the OMA listened: `up` tells the OMA to expect it, and the
  // poller's first answer from it counts.
  http_answer last;
  auto local = [&](const std::function<bool(const json&)>& holds) {
    return eventually(
        [&] {
          last = up().get("/api/v1/agents");
          if (last.status != 200 || !last.body["agents"].is_array()) return false;
          for (const auto& a : last.body["agents"])
            if (a.value("id", "") == "local") return holds(a);
          return false;
        },
        15s);
  };
  ASSERT_TRUE(local([](const json& a) { return a.value("online", false); }))
      << last.text << "\nup's log:\n"
      << up().log();
  json agent;
  for (const auto& a : last.body["agents"])
    if (a["id"] == "local") agent = a;
  ASSERT_TRUE(agent["last_hello"].is_string()) << agent.dump();
  const auto heard = actors::parse_rfc3339(agent["last_hello"].get<std::string>());
  ASSERT_TRUE(heard) << agent.dump();
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  EXPECT_LE(now - *heard, 30000) << agent.dump();
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  EXPECT_EQ(agent["host"], host);
  EXPECT_TRUE(agent["version"].is_string() && !agent["version"].get<std::string>().empty())
      << agent.dump();
  EXPECT_EQ(agent["movers"], 0) << agent.dump();

  // A running mover shows in the agent's next answer (a source slow enough to outlast a
  // poll); an agent that only a job names is listed, offline, never heard from.
  auto slow = nbdkit_server::start(dir_.path(), "slow", {"rate"},
                                   {"random", "size=1G", "seed=3", "rate=8M"});
  auto running = up().post("/api/v1/replications",
                           {{"name", "slow"}, {"source", slow.uri()}, {"vma", "local"}});
  ASSERT_EQ(running.status, 201) << running.text;
  EXPECT_TRUE(local([](const json& a) { return a.value("movers", 0) == 1; }))
      << last.text << "\nup's log:\n"
      << up().log();
  auto ghost = up().post("/api/v1/replications",
                         {{"name", "ghost"}, {"source", slow.uri()}, {"vma", "ghost"}});
  ASSERT_EQ(ghost.status, 201) << ghost.text;
  auto listed = up().get("/api/v1/agents");
  ASSERT_EQ(listed.status, 200) << listed.text;
  ASSERT_EQ(listed.body["agents"].size(), 2u) << listed.text;
  EXPECT_EQ(listed.body["agents"][0]["id"], "ghost") << "sorted by id";
  EXPECT_EQ(listed.body["agents"][0]["online"], false);
  EXPECT_TRUE(listed.body["agents"][0]["last_hello"].is_null()) << listed.text;

  httplib::Client anonymous(up().url());
  auto refused = anonymous.Get("/api/v1/agents");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
}

}  // namespace
}  // namespace mk::test
