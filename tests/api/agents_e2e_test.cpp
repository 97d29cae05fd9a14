// Enrolment and revocation of agents (docs/security.md) against `migratekit up` as a process:
// an agent enrolled over the API joins the bus with its join file as its own process and
// runs a job; removing it is refused while it has active jobs, and with force fails them
// resumably and revokes it: nats-server closes its connection at once and refuses its
// credentials from then on.
#include <sys/stat.h>

#include <thread>

#include "bus/home.hpp"
#include "bus/nats_transport.hpp"
#include "models/join_file.hpp"
#include "support/files.hpp"
#include "support/nbdkit.hpp"
#include "up_process.hpp"

namespace mk::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class agents_e2e : public up_fixture {
 protected:
  void SetUp() override { start_up({"--grace", "10", "--mover-arg", "--requests=4"}); }
  void TearDown() override {
    agent_ = {};
    up_fixture::TearDown();
    source_.stop();
  }

  /// POST /agents; the answer.
  http_answer enrol(const std::string& id) { return up().post("/api/v1/agents", {{"id", id}}); }

  /// `migratekit vma --join FILE --data DIR/<agent>`, its output in DIR/<agent>.log.
  process run_agent(const std::filesystem::path& join, const std::string& agent) {
    return process::spawn(
        {MK_MIGRATEKIT_PATH, "vma", "--join", join.string(), "--data", (dir_ / agent).string()},
        {.stdout_path = dir_ / (agent + ".log"), .stderr_path = dir_ / (agent + ".log")});
  }

  json agent(const std::string& id) {
    auto a = up().get("/api/v1/agents/" + id);
    return a.status == 200 ? a.body : json();
  }

  bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(50ms);
    }
    return true;
  }

  process agent_;
  nbdkit_server source_;
};

TEST_F(agents_e2e, an_enrolled_agent_joins_runs_a_job_and_is_revoked_at_once) {
  auto added = enrol("vma-a");
  ASSERT_EQ(added.status, 201) << added.text;
  EXPECT_EQ(added.body["agent"]["id"], "vma-a");
  EXPECT_EQ(added.body["agent"]["enrolled"], true);
  EXPECT_EQ(added.body["agent"]["online"], false);
  auto join = actors::join_file_from_json(added.body["join"]);
  ASSERT_TRUE(join) << join.error() << "\n" << added.text;
  EXPECT_EQ(join->agent, "vma-a");
  EXPECT_EQ(join->psk_identity, "vma-a");
  EXPECT_EQ(join->prefix, "mk");
  ASSERT_FALSE(join->urls.empty());

  // A join file that others may read is not taken.
  const auto careless = dir_ / "careless.join";
  ASSERT_TRUE(actors::write_join_file(careless, *join));
  ASSERT_EQ(::chmod(careless.c_str(), 0644), 0);
  auto refused = run_agent(careless, "careless");
  EXPECT_EQ(refused.wait_for(10s), exit_status::exited(2));
  EXPECT_NE(read_text(dir_ / "careless.log").find("chmod 600"), std::string::npos)
      << read_text(dir_ / "careless.log");

  const auto file = dir_ / "vma-a.join";
  ASSERT_TRUE(actors::write_join_file(file, *join));
  agent_ = run_agent(file, "vma-a");
  ASSERT_TRUE(eventually([&] { return agent("vma-a").value("online", false); }))
      << agent("vma-a") << "\n"
      << read_text(dir_ / "vma-a.log");
  namespace fs = std::filesystem;
  for (const auto* secret : {"bus.creds", "volumes.psk"})
    EXPECT_EQ(fs::status(dir_ / "vma-a" / secret).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write)
        << secret;

  // A job on it, slow enough to be running when the agent is removed.
  source_ = nbdkit_server::start(
      dir_.path(), "source", {"noparallel", "rate"},
      {"random", "size=" + std::to_string(32 << 20), "seed=3", "rate=8M", "serialize=requests"});
  auto created = up().post("/api/v1/replications",
                           {{"name", "on vma-a"}, {"source", source_.uri()}, {"vma", "vma-a"}});
  ASSERT_EQ(created.status, 201) << created.text;
  const auto id = created.body.value("id", "");
  ASSERT_TRUE(wait_job(
      id, [](const json& j) { return j.value("state", "") == "replicating"; }, "replicating"));

  auto busy = up().request("DELETE", "/api/v1/agents/vma-a");
  EXPECT_EQ(busy.status, 409) << busy.text;
  EXPECT_NE(busy.text.find(id), std::string::npos) << busy.text;
  EXPECT_TRUE(agent("vma-a").value("online", false)) << "a refused removal changes nothing";

  auto removed = up().request("DELETE", "/api/v1/agents/vma-a?force=true");
  ASSERT_EQ(removed.status, 200) << removed.text;
  EXPECT_EQ(removed.body["jobs_failed"], json::array({id}));
  ASSERT_TRUE(wait_job(
      id, [](const json& j) { return j.value("state", "") == "failed"; }, "failed"));
  EXPECT_NE(job(id).value("error", "").find("vma-a was removed"), std::string::npos) << job(id);
  // The volume is kept as it is: its mover may still write (docs/security.md).
  EXPECT_EQ(job(id)["volume"].value("state", ""), "partial") << job(id);
  EXPECT_TRUE(std::filesystem::exists(job(id)["volume"].value("path", ""))) << job(id);
  EXPECT_EQ(job(id).value("resumable", false), true) << job(id);

  // The server closed the agent's connection at once and refuses its credentials now.
  ASSERT_TRUE(eventually([&] {
    return read_text(dir_ / "vma-a.log").find("Revoked") != std::string::npos;
  })) << read_text(dir_ / "vma-a.log");
  // An agent that can no longer speak for its movers ends, and says why.
  EXPECT_EQ(agent_.wait_for(20s), exit_status::exited(1)) << read_text(dir_ / "vma-a.log");
  auto opts = bus::local_client_options(up().data_dir(), bus::role::ctl);
  ASSERT_TRUE(opts) << opts.error().message;
  opts->creds_file = dir_ / "vma-a" / "bus.creds";
  opts->inbox_prefix = bus::inbox_prefix("vma-a");
  opts->retry_on_failed_connect = false;
  auto again = bus::nats_transport::connect(*opts);
  ASSERT_FALSE(again) << "a revoked agent connected";
  EXPECT_EQ(again.error().code, bus::errc::permission) << again.error().message;

  const auto listed = up().get("/api/v1/agents");
  for (const auto& a : listed.body["agents"]) {
    if (a["id"] == "vma-a") {
      EXPECT_EQ(a["enrolled"], false) << a;
    }
  }
  EXPECT_EQ(up().request("DELETE", "/api/v1/agents/vma-a").status, 404);
  const auto closed = bus::close_nats(5s);
  EXPECT_TRUE(closed) << closed.error().message;
}

TEST_F(agents_e2e, bad_enrolments_are_refused_with_the_reason) {
  EXPECT_EQ(enrol("Not An Id").status, 400);
  const auto own = enrol("oma");
  EXPECT_EQ(own.status, 400) << own.text;
  EXPECT_NE(own.text.find("OMA's own users"), std::string::npos) << own.text;
  EXPECT_EQ(up().post("/api/v1/agents", json::object()).status, 400);
  EXPECT_EQ(up().post("/api/v1/agents", {{"id", "vma-x"}, {"extra", 1}}).status, 400);
  ASSERT_EQ(enrol("vma-x").status, 201);
  const auto twice = enrol("vma-x");
  EXPECT_EQ(twice.status, 409) << twice.text;

  const auto builtin = up().request("DELETE", "/api/v1/agents/local");
  EXPECT_EQ(builtin.status, 409) << builtin.text;
  EXPECT_EQ(agent("local").value("builtin", false), true) << agent("local");
  EXPECT_EQ(up().request("DELETE", "/api/v1/agents/vma-none").status, 404);
  EXPECT_EQ(up().request("DELETE", "/api/v1/agents/vma-x?force=maybe").status, 400);
  EXPECT_EQ(up().request("DELETE", "/api/v1/agents/vma-x").status, 200);
  EXPECT_TRUE(agent("vma-x").is_null()) << "forgotten once revoked: " << agent("vma-x");
}

}  // namespace
}  // namespace mk::test
