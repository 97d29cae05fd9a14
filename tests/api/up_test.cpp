// `migratekit up` end to end (docs/overview.md): the demo job, a Ctrl-C that stops active jobs
// with reason `shutdown`, and the next start that resumes exactly those.
#include <thread>

#include "support/files.hpp"
#include "support/in_order.hpp"
#include "up_process.hpp"

namespace mk::test {

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

/// A demo disk that copies in about 12 s (96 MiB at 64 Mbit/s), so a Ctrl-C lands mid-copy.
/// The mover's requests in flight (16 MiB) drain in 2 s at that rate, well inside the short
/// grace that keeps a misbehaving stop short.
const std::vector<std::string> demo_args = {"--demo", "--demo-size", "96M", "--demo-rate",
                                            "64M",    "--grace",     "5"};

/// Bound on a shutdown: grace + 20 s, with room for the rest of the shutdown.
constexpr auto shutdown_bound = 40s;

std::string state_of(const json& job) { return job.value("state", ""); }

std::uint64_t bytes_done(const json& job) {
  const auto& p = job.contains("progress") ? job["progress"] : json();
  return p.is_object() ? p.value("bytes_done", std::uint64_t{0}) : 0;
}

std::string stop_reason(const json& job) {
  const auto& s = job.contains("stop") ? job["stop"] : json();
  return s.is_object() ? s.value("reason", "") : "";
}

/// The command lines of what still runs under `dir`, for a failure message.
std::string described(const std::vector<pid_t>& pids) {
  std::string out;
  for (auto pid : pids) {
    out += std::to_string(pid) + ": " + command_text(pid) + "\n";
  }
  return out;
}

class up_test : public up_fixture {
 protected:
  /// The one job of a fresh `up --demo`, once it is replicating.
  std::string demo_job() {
    auto list = jobs();
    EXPECT_EQ(list.size(), 1u);
    if (list.empty()) return {};
    EXPECT_EQ(list[0].value("name", ""), "demo disk 0");
    EXPECT_EQ(list[0].value("vma", ""), "local");
    const auto id = list[0].value("id", "");
    wait_job(
        id, [](const json& j) { return state_of(j) == "replicating"; }, "replicated");
    return id;
  }

  /// Ctrl-C: `up` ends by itself with exit 0 within the bound, and leaves nothing running.
  void interrupt_cleanly() {
    auto status = up().interrupt(shutdown_bound);
    ASSERT_TRUE(status) << "up still runs " << shutdown_bound.count() << " s after SIGINT; log:\n"
                        << up().log();
    EXPECT_EQ(*status, exit_status::exited(0)) << up().log();
    std::vector<pid_t> left;
    for (int i = 0; i < 40; ++i) {  // reparented children may take a moment to be reaped
      left = running_under(dir_.path());
      if (left.empty()) break;
      std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(left.empty()) << "still running after up ended:\n" << described(left);
  }
};

TEST_F(up_test, a_shutdown_stops_the_demo_job_and_the_next_start_resumes_it) {
  auto& first = start_up(demo_args);
  EXPECT_EQ(first.printed_url(), first.url() + "/?token=" + first.token());
  const auto id = demo_job();
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(wait_job(
      id, [](const json& j) { return bytes_done(j) > 0; }, "copied a byte"));
  const auto before = bytes_done(job(id));
  ASSERT_TRUE(wait_job(
      id, [&](const json& j) { return bytes_done(j) > before; }, "copied more"));

  interrupt_cleanly();
  const auto output = up().output();
  EXPECT_NE(output.find("stopped for the shutdown"), std::string::npos) << output;
  EXPECT_NE(output.find(id), std::string::npos) << output;
  const auto stored = stored_job(id);
  EXPECT_EQ(state_of(stored), "stopped") << stored.dump();
  EXPECT_EQ(stop_reason(stored), "shutdown") << stored.dump();
  EXPECT_TRUE(stored.value("resumable", false)) << stored.dump();

  start_up(demo_args);
  auto list = jobs();
  ASSERT_EQ(list.size(), 1u) << "a second demo job was made";
  EXPECT_EQ(list[0].value("id", ""), id);
  ASSERT_TRUE(wait_job(
      id, [](const json& j) { return state_of(j) == "replicating"; }, "replicated again"));
  const auto log = events(id);
  EXPECT_TRUE(in_order(
      log, {"replicating", "stop_requested", "stop_settled", "resumed", "starting", "replicating"}))
      << ::testing::PrintToString(log);
  auto entries = up().get("/api/v1/replications/" + id + "/log").body["entries"];
  auto stop = std::find_if(entries.begin(), entries.end(),
                           [](const json& e) { return e.value("event", "") == "stop_requested"; });
  ASSERT_NE(stop, entries.end());
  EXPECT_EQ((*stop)["detail"].value("reason", ""), "shutdown") << stop->dump();
}

TEST_F(up_test, a_job_stopped_by_the_operator_stays_stopped_after_a_restart) {
  start_up(demo_args);
  const auto id = demo_job();
  ASSERT_FALSE(id.empty());
  auto answer = up().post("/api/v1/replications/" + id + "/stop", {{"comment", "operator"}});
  EXPECT_EQ(answer.status, 202) << answer.text;
  ASSERT_TRUE(wait_job(
      id, [](const json& j) { return state_of(j) == "stopped"; }, "stopped"));

  interrupt_cleanly();
  EXPECT_EQ(up().output().find(id), std::string::npos)
      << "a job that was not active was stopped again:\n"
      << up().output();

  // Ready means the resumes are done: a job that was to be resumed would be queued by now.
  start_up(demo_args);
  const auto after = job(id);
  EXPECT_EQ(state_of(after), "stopped") << after.dump();
  EXPECT_EQ(stop_reason(after), "user") << after.dump();
  const auto log = events(id);
  EXPECT_EQ(std::find(log.begin(), log.end(), "resumed"), log.end())
      << ::testing::PrintToString(log);
  EXPECT_EQ(jobs().size(), 1u) << "a second demo job was made";
}

// Two `up`s on one folder would stop each other's demo source, movers and nats-server.
TEST_F(up_test, a_second_up_on_the_same_data_folder_is_refused_and_the_first_goes_on) {
  start_up(demo_args);
  const auto id = demo_job();
  ASSERT_FALSE(id.empty());
  spawn_options opts;
  opts.stdout_path = dir_ / "second.out";
  opts.stderr_path = dir_ / "second.log";
  auto second = process::spawn({MK_MIGRATEKIT_PATH, "up", "--demo", "--data", data_dir().string(),
                                "--listen", "127.0.0.1:0"},
                               opts);
  const auto status = second.wait_for(30s);
  ASSERT_TRUE(status) << "the second up did not end";
  EXPECT_EQ(*status, exit_status::exited(1));
  const auto said = read_text(dir_ / "second.log");
  EXPECT_NE(
      said.find("is in use by another migratekit up (pid " + std::to_string(up().pid()) + ")"),
      std::string::npos)
      << said;
  EXPECT_EQ(up().get("/healthz").status, 200);
  EXPECT_EQ(state_of(job(id)), "replicating") << job(id).dump();
  EXPECT_EQ(jobs().size(), 1u);
}

}  // namespace

}  // namespace mk::test
