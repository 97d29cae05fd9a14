// `migratekit ctl` end to end: the binary as a user runs it, against `migratekit up` with its
// demo job (real nats-server, nbdkit and mover), finding the API through up's data folder.
#include <fmt/chrono.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "nats_fixture.hpp"
#include "support/files.hpp"
#include "up_process.hpp"

namespace mk::test {

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

/// A demo disk that copies in about 60 s (64 MiB at 8 Mbit/s): it is still copying whenever a
/// test stops it. A short grace keeps every stop short.
const std::vector<std::string> demo_args = {"--demo", "--demo-size", "64M", "--demo-rate",
                                            "8M",     "--grace",     "5"};

/// One run of ctl: how it ended and what it printed.
struct ctl_run {
  std::optional<exit_status> status;  ///< nothing: still running at the deadline (killed)
  std::string out;
  std::string err;
};

std::string state_of(const json& job) { return job.value("state", ""); }

/// The TCP connections that process `pid` holds established to 127.0.0.1:`port`, by socket
/// inode (from /proc: its descriptors, and the kernel's table of IPv4 sockets).
std::set<std::string> connections_to(pid_t pid, int port) {
  std::set<std::string> sockets;
  std::error_code ec;
  for (const auto& fd :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    const auto target = std::filesystem::read_symlink(fd.path(), ec).string();
    if (target.rfind("socket:[", 0) == 0) sockets.insert(target.substr(8, target.size() - 9));
  }
  char remote_port[8];
  std::snprintf(remote_port, sizeof remote_port, "%04X", port);
  std::set<std::string> out;
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // the header
  while (std::getline(table, line)) {
    std::istringstream in(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    in >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >>
        inode;
    if (state == "01" && remote.substr(remote.find(':') + 1) == remote_port &&
        sockets.contains(inode))
      out.insert(inode);
  }
  return out;
}

class ctl_e2e : public up_fixture {
 protected:
  /// `migratekit ctl --data DATA ARGS...` started in the background.
  process spawn_ctl(const std::vector<std::string>& args, const std::string& name) {
    std::vector<std::string> argv = {MK_MIGRATEKIT_PATH, "ctl", "--data", data_dir().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return process::spawn(argv, {.stdout_path = dir_ / (name + ".out"),
                                 .stderr_path = dir_ / (name + ".err"),
                                 .stdout_fd = -1});
  }

  ctl_run finish(process& p, const std::string& name, std::chrono::milliseconds timeout) {
    ctl_run run;
    run.status = p.wait_for(timeout);
    if (!run.status) p.kill();
    run.out = read_text(dir_ / (name + ".out"));
    run.err = read_text(dir_ / (name + ".err"));
    return run;
  }

  /// `migratekit ctl ARGS...` to its end (at most `timeout`).
  ctl_run ctl(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 60s) {
    const auto name = "ctl-" + std::to_string(++calls_);
    auto p = spawn_ctl(args, name);
    return finish(p, name, timeout);
  }

  /// Lets a `watch` started as "watch" run until its output shows `until` (at most
  /// `within`), then ends it with a Ctrl-C.
  ctl_run end_watch(process& watch, const std::string& until, std::chrono::milliseconds within) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline &&
           read_text(dir_ / "watch.out").find(until) == std::string::npos)
      std::this_thread::sleep_for(100ms);
    watch.signal(SIGINT);
    return finish(watch, "watch", 10s);
  }

  /// The demo job, once it is replicating.
  std::string demo_job() {
    auto list = jobs();
    EXPECT_EQ(list.size(), 1u);
    if (list.empty()) return {};
    const auto id = list[0].value("id", "");
    wait_job(
        id, [](const json& j) { return state_of(j) == "replicating"; }, "replicating");
    return id;
  }

  /// Waits until a `watch` started as "watch" holds its event stream open: one connection to
  /// the API that lasts (its first GET is gone in milliseconds). A fixed sleep was not enough
  /// for a ctl built with sanitizers, which then met the stop already settled.
  bool watch_streaming(const process& watch) {
    const auto port = std::stoi(up().url().substr(up().url().rfind(':') + 1));
    return eventually(
        [&] {
          const auto first = connections_to(watch.pid(), port);
          if (first.empty()) return false;
          std::this_thread::sleep_for(300ms);
          for (const auto& c : connections_to(watch.pid(), port))
            if (first.contains(c)) return true;
          return false;
        },
        30s);
  }

  int calls_ = 0;
};

::testing::AssertionResult exited(const ctl_run& run, int code) {
  if (run.status == exit_status::exited(code)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "ctl: " << (run.status ? to_string(*run.status) : "still running") << ", expected exit "
         << code << "\nstdout:\n"
         << run.out << "stderr:\n"
         << run.err;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_F(ctl_e2e, list_show_and_log_find_the_api_through_ups_data_folder) {
  start_up(demo_args);
  const auto id = demo_job();

  auto list = ctl({"list"});
  ASSERT_TRUE(exited(list, 0));
  EXPECT_TRUE(list.out.starts_with("ID ")) << list.out;
  EXPECT_TRUE(has(list.out, id)) << list.out;
  EXPECT_TRUE(has(list.out, "demo disk 0")) << list.out;

  auto raw = ctl({"--json", "list", "--all"});
  ASSERT_TRUE(exited(raw, 0));
  auto page = json::parse(raw.out);
  ASSERT_EQ(page["replications"].size(), 1u) << raw.out;
  EXPECT_EQ(page["replications"][0]["id"], id);

  auto show = ctl({"show", id});
  ASSERT_TRUE(exited(show, 0));
  EXPECT_TRUE(has(show.out, "state")) << show.out;
  EXPECT_TRUE(has(show.out, "replicating")) << show.out;

  auto log = ctl({"log", id});
  ASSERT_TRUE(exited(log, 0));
  EXPECT_TRUE(has(log.out, "created")) << log.out;

  auto missing = ctl({"show", "r-nothere"});
  EXPECT_TRUE(exited(missing, 1));
  EXPECT_TRUE(has(missing.err, "HTTP 404 not_found")) << missing.err;
}

TEST_F(ctl_e2e, stop_wait_shows_each_confirmation_and_ends_as_asked) {
  start_up(demo_args);
  const auto id = demo_job();

  auto plan = ctl({"stop", id, "--dry-run"});
  ASSERT_TRUE(exited(plan, 0));
  EXPECT_TRUE(has(plan.out, "Dry run, nothing changed")) << plan.out;
  EXPECT_TRUE(has(plan.out, "SIGTERM")) << plan.out;
  EXPECT_EQ(state_of(job(id)), "replicating") << "a dry run changes nothing";

  auto stop = ctl({"stop", id, "--wait", "--timeout", "60", "--comment", "e2e"}, 90s);
  ASSERT_TRUE(exited(stop, 0));
  for (const auto* who : {"scheduler", "poller", "vma_process", "volume"})
    EXPECT_TRUE(has(stop.out, id + ": " + who + " confirmed")) << who << "\n" << stop.out;
  EXPECT_TRUE(has(stop.out, id + ": stopping -> stopped")) << stop.out;
  EXPECT_EQ(state_of(job(id)), "stopped");

  auto again = ctl({"stop", id});
  EXPECT_TRUE(exited(again, 1));
  EXPECT_TRUE(has(again.err, "HTTP 409 conflict")) << again.err;

  // Ends as asked, and says how: cancelled (the wait may end there, or with the record's
  // removal). The record goes right after the job is cancelled, and the watcher may hear the
  // removal before the cancelled state (it did under the sanitizers): the JobLog tells it then.
  auto removed = ctl({"delete", id, "--wait", "--timeout", "60"}, 90s);
  ASSERT_TRUE(exited(removed, 0));
  EXPECT_TRUE(has(removed.out, "-> cancelled")) << removed.out;
}

TEST_F(ctl_e2e, a_resume_wait_ends_not_as_asked_when_the_job_is_stopped_instead) {
  start_up(demo_args);
  const auto id = demo_job();
  ASSERT_TRUE(exited(ctl({"stop", id, "--wait", "--timeout", "60"}, 90s), 0));

  auto waiting = spawn_ctl({"resume", id, "--wait"}, "resume");
  wait_job(
      id, [](const json& j) { return state_of(j) == "replicating"; }, "replicating");
  ASSERT_TRUE(exited(ctl({"stop", id}), 0));
  auto resumed = finish(waiting, "resume", 60s);
  EXPECT_TRUE(exited(resumed, 3));
  EXPECT_TRUE(has(resumed.err, "not as asked: " + id + " stopped")) << resumed.err;

  wait_job(
      id, [](const json& j) { return state_of(j) == "stopped"; }, "stopped");
  auto short_wait = ctl({"resume", id, "--wait", "--timeout", "2"});
  EXPECT_TRUE(exited(short_wait, 4)) << "the copy takes longer than the timeout";
  EXPECT_TRUE(has(short_wait.err, "timed out")) << short_wait.err;
}

TEST_F(ctl_e2e, watch_follows_a_batch_stop_live) {
  start_up(demo_args);
  const auto id = demo_job();
  auto watch = spawn_ctl({"watch"}, "watch");
  ASSERT_TRUE(watch_streaming(watch)) << "the watch never opened its event stream";

  auto batch =
      ctl({"stop", "--filter-vma", "local", "--reason", "maintenance", "--wait", "--timeout", "60"},
          90s);
  ASSERT_TRUE(exited(batch, 0));
  EXPECT_TRUE(has(batch.out, "accepted: " + id)) << batch.out;

  auto watched = end_watch(watch, "stopping -> stopped", 5s);
  EXPECT_TRUE(has(watched.out, id + ": replicating -> stopping (stop ")) << watched.out;
  EXPECT_TRUE(has(watched.out, " maintenance)")) << watched.out;
  EXPECT_TRUE(has(watched.out, id + ": vma_process confirmed")) << watched.out;
  EXPECT_TRUE(has(watched.out, id + ": stopping -> stopped")) << watched.out;
}

TEST_F(ctl_e2e, watch_carries_on_across_a_restart_of_up_on_another_port) {
  start_up(demo_args);
  const auto id = demo_job();
  const auto first_url = up().url();
  auto watch = spawn_ctl({"watch", id}, "watch");
  ASSERT_TRUE(watch_streaming(watch)) << "the watch never opened its event stream";

  ASSERT_TRUE(up().interrupt(40s)) << up().log();  // stops the job: reason shutdown
  start_up(demo_args);                             // resumes it, on a new free port
  ASSERT_NE(up().url(), first_url);
  wait_job(
      id, [](const json& j) { return state_of(j) == "replicating"; }, "resumed");

  auto watched = end_watch(watch, "-> replicating", 10s);
  EXPECT_TRUE(has(watched.out, id + ": replicating -> stopping (stop ")) << watched.out;
  EXPECT_TRUE(has(watched.out, " shutdown)")) << watched.out;
  EXPECT_TRUE(has(watched.out, "event stream lost")) << watched.out;
  EXPECT_TRUE(has(watched.out, "the API is now at " + up().url())) << watched.out;
  EXPECT_TRUE(has(watched.out, "event stream back")) << watched.out;
  EXPECT_TRUE(has(watched.out, "-> replicating")) << watched.out;
}

TEST_F(ctl_e2e, analytics_shows_the_stops_since_a_time) {
  start_up(demo_args);
  const auto id = demo_job();
  ASSERT_TRUE(exited(ctl({"stop", id, "--force", "--wait", "--timeout", "60"}, 90s), 0));

  auto shown = ctl({"analytics"});
  ASSERT_TRUE(exited(shown, 0));
  EXPECT_TRUE(has(shown.out, "by_reason.user")) << shown.out;
  EXPECT_TRUE(has(shown.out, "force_kills")) << shown.out;
  EXPECT_TRUE(has(shown.out, "duration_ms.p50")) << shown.out;
  auto raw = ctl({"--json", "analytics"});
  ASSERT_TRUE(exited(raw, 0));
  const auto a = json::parse(raw.out);
  EXPECT_EQ(a["stops"], 1) << raw.out;
  EXPECT_EQ(a["by_reason"]["user"], 1) << raw.out;
  EXPECT_EQ(a["by_outcome"]["stopped"], 1) << raw.out;
  EXPECT_EQ(a["force_kills"], 1) << raw.out;
  EXPECT_TRUE(a["duration_ms"]["max"].is_number()) << raw.out;

  auto later = ctl({"--json", "analytics", "--since", "2999-01-01T00:00:00Z"});
  ASSERT_TRUE(exited(later, 0));
  const auto none = json::parse(later.out);
  EXPECT_EQ(none["since"], "2999-01-01T00:00:00.000Z");
  EXPECT_EQ(none["stops"], 0) << later.out;
  auto bad = ctl({"analytics", "--since", "yesterday"});
  EXPECT_TRUE(exited(bad, 1));
  EXPECT_TRUE(has(bad.err, "since")) << bad.err;
}

TEST_F(ctl_e2e, stop_of_several_ids_maintenance_and_schedules) {
  start_up(demo_args);
  const auto first = demo_job();
  const auto source = "nbd+unix:///?socket=" + (data_dir() / "demo" / "source.sock").string();
  const auto second =
      up().post("/api/v1/replications", {{"name", "disk 1"}, {"source", source}, {"vma", "local"}})
          .body.value("id", "");
  ASSERT_TRUE(wait_job(
      second, [](const json& j) { return state_of(j) == "replicating"; }, "replicating"));
  auto both = ctl({"stop", first, second, "--wait", "--timeout", "60"}, 90s);
  ASSERT_TRUE(exited(both, 0));
  EXPECT_TRUE(has(both.out, first) && has(both.out, second)) << both.out;
  EXPECT_EQ(state_of(job(first)), "stopped");
  EXPECT_EQ(state_of(job(second)), "stopped");
  EXPECT_EQ(job(first)["stop"]["reason"], "batch");

  // Maintenance: on refuses a resume, in plain words; off lets it through again.
  ASSERT_TRUE(exited(ctl({"maintenance", "on", "--reason", "patching"}), 0));
  auto refused = ctl({"resume", first});
  EXPECT_TRUE(exited(refused, 1));
  EXPECT_TRUE(has(refused.err, "maintenance mode is on")) << refused.err;
  auto shown = ctl({"maintenance"});
  ASSERT_TRUE(exited(shown, 0));
  EXPECT_TRUE(has(shown.out, "patching")) << shown.out;
  ASSERT_TRUE(exited(ctl({"maintenance", "off"}), 0));

  // Schedules: a one-shot an hour ahead, a window open now (nothing runs to stop anyway).
  const auto now = std::chrono::system_clock::now();
  const auto in_an_hour =
      fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", std::chrono::floor<std::chrono::seconds>(now + 1h));
  auto once =
      ctl({"--json", "schedule", "add", "--action", "resume", "--job", first, "--at", in_an_hour});
  ASSERT_TRUE(exited(once, 0));
  const auto once_id = json::parse(once.out).value("id", "");
  const auto hour = [&](std::chrono::hours h) {
    return fmt::format("{:%H:%M}", std::chrono::floor<std::chrono::minutes>(now + h));
  };
  auto window =
      ctl({"--json", "schedule", "add", "--window", hour(-1h) + "-" + hour(1h), "--vma", "local"});
  ASSERT_TRUE(exited(window, 0));
  const auto window_id = json::parse(window.out).value("id", "");
  auto list = ctl({"schedule", "list"});
  ASSERT_TRUE(exited(list, 0));
  EXPECT_TRUE(has(list.out, once_id) && has(list.out, window_id)) << list.out;
  EXPECT_TRUE(has(list.out, "pending")) << list.out;
  EXPECT_TRUE(has(list.out, "daily " + hour(-1h) + "-" + hour(1h) + " UTC")) << list.out;
  EXPECT_TRUE(has(list.out, "open until")) << list.out;

  auto unknown =
      ctl({"schedule", "add", "--action", "stop", "--job", "r-not-here", "--at", in_an_hour});
  EXPECT_TRUE(exited(unknown, 1));
  EXPECT_TRUE(has(unknown.err, "r-not-here")) << unknown.err;
  auto bad = ctl({"schedule", "add", "--window", "25:00-06:00", "--all"});
  EXPECT_TRUE(exited(bad, 1));
  EXPECT_TRUE(has(bad.err, "window.from")) << bad.err;
  for (const auto& id : {once_id, window_id}) {
    auto rm = ctl({"schedule", "rm", id});
    ASSERT_TRUE(exited(rm, 0));
    EXPECT_TRUE(has(rm.out, "removed " + id)) << rm.out;
  }
  auto empty = ctl({"schedule", "list"});
  EXPECT_TRUE(has(empty.out, "no schedules")) << empty.out;
  EXPECT_EQ(state_of(job(first)), "stopped") << "nothing fired";
}

TEST_F(ctl_e2e, agent_add_list_and_rm) {
  start_up({"--grace", "5"});
  const auto join = dir_ / "vma-a.join";
  auto added = ctl({"agent", "add", "vma-a", "--out", join.string()});
  ASSERT_TRUE(exited(added, 0));
  EXPECT_TRUE(has(added.out, "migratekit vma --join " + join.string())) << added.out;
  namespace fs = std::filesystem;
  EXPECT_EQ(fs::status(join).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  const auto file = json::parse(read_text(join), nullptr, false);
  EXPECT_EQ(file.value("agent", ""), "vma-a") << read_text(join);
  EXPECT_TRUE(has(file.dump(), "BEGIN NATS USER JWT"));

  auto twice = ctl({"agent", "add", "vma-a"});
  EXPECT_TRUE(exited(twice, 1));
  EXPECT_TRUE(has(twice.err, "enrolled already")) << twice.err;
  auto printed = ctl({"agent", "add", "vma-b"});  // no --out: the join file on stdout
  ASSERT_TRUE(exited(printed, 0));
  EXPECT_EQ(json::parse(printed.out, nullptr, false).value("agent", ""), "vma-b") << printed.out;

  auto list = ctl({"agent", "list"});
  ASSERT_TRUE(exited(list, 0));
  EXPECT_TRUE(has(list.out, "local") && has(list.out, "online, built-in")) << list.out;
  EXPECT_TRUE(has(list.out, "vma-a") && has(list.out, "vma-b")) << list.out;

  for (const auto* id : {"vma-a", "vma-b"}) {
    auto rm = ctl({"agent", "rm", id});
    ASSERT_TRUE(exited(rm, 0)) << rm.err;
    EXPECT_TRUE(has(rm.out, std::string("removed ") + id)) << rm.out;
  }
  auto gone = ctl({"agent", "rm", "vma-a"});
  EXPECT_TRUE(exited(gone, 1));
  auto kept = ctl({"agent", "rm", "local"});
  EXPECT_TRUE(exited(kept, 1));
  EXPECT_TRUE(has(kept.err, "own process")) << kept.err;
  EXPECT_TRUE(exited(ctl({"agent", "add", "Not-An-Id"}), 2));
}

TEST_F(ctl_e2e, usage_and_an_api_that_is_not_there) {
  auto nowhere = ctl({"list"});  // no `up` has written DATA/api-url
  EXPECT_TRUE(exited(nowhere, 2));
  EXPECT_TRUE(has(nowhere.err, "MIGRATEKIT_API")) << nowhere.err;

  auto refused = ctl({"--api", "http://127.0.0.1:1", "--token", "t", "list"});
  EXPECT_TRUE(exited(refused, 4));
  EXPECT_TRUE(has(refused.err, "cannot reach the API")) << refused.err;

  EXPECT_TRUE(exited(ctl({"show", "NOT-AN-ID"}), 2));
  EXPECT_TRUE(exited(ctl({"stop", "r-1", "--timeout", "3"}), 2));
}

}  // namespace mk::test
