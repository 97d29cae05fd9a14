#pragma once
// The product across hosts, for the tests of this folder: `migratekit up --advertise` on the
// host `oma` (10.77.0.1), agents enrolled with `ctl agent add` joining from the hosts `vma-a`
// and `vma-b` with their join files, and a source read through nbdkit's rate filter (so that
// stops and faults land mid-copy). Everything is driven as a user would: `migratekit ctl` on
// the OMA's host.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/files.hpp"
#include "support/hash.hpp"
#include "support/hosts.hpp"
#include "support/nbdkit.hpp"
#include "support/temp_dir.hpp"

namespace mk::test {

using namespace std::chrono_literals;

class product_hosts : public ::testing::Test {
 protected:
  using json = nlohmann::json;

  void SetUp() override { net_.emplace(host_addresses()); }
  /// Host name -> last byte of its address.
  virtual std::map<std::string, int> host_addresses() const {
    return {{"oma", 1}, {"vma-a", 2}, {"vma-b", 3}};
  }
  void TearDown() override {
    net_.reset();  // every process inside, then the hosts
    source_.stop();
  }

  std::filesystem::path oma_data() const { return dir_ / "oma"; }

  /// `migratekit up --advertise` on the OMA's host, with `extra` arguments, until its API
  /// answers.
  void start_oma(const std::vector<std::string>& extra = {}) {
    std::filesystem::remove(oma_data() / "api-url");
    std::vector<std::string> argv = {MK_MIGRATEKIT_PATH, "up",
                                     "--data",           oma_data().string(),
                                     "--listen",         "127.0.0.1:0",
                                     "--advertise",      net_->address("oma"),
                                     "--grace",          "5"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    oma_ = &net_->run(
        "oma", argv,
        {.stdout_path = dir_ / "up.out", .stderr_path = dir_ / "up.log", .append = true});
    ASSERT_TRUE(eventually([&] { return std::filesystem::exists(oma_data() / "api-url"); }, 60s))
        << read_text(dir_ / "up.log");
  }

  /// `kill -9` of `up` (its nats-server follows it; volume servers and movers go on).
  void kill_oma() {
    if (oma_) oma_->kill();
    oma_ = nullptr;
  }

  /// `ctl agent add`, then `migratekit vma --join` on the agent's own host, until it is online.
  /// Its movers give up on an endpoint that does not answer for 8 s (a partition), not 60.
  /// `io_timeout`: seconds a mover waits for an endpoint's answer (8: a partition is noticed
  /// soon; more where many movers queue on one slow source).
  void join(const std::string& agent, const std::string& io_timeout = "8") {
    const auto file = dir_ / (agent + ".join");
    ASSERT_FALSE(ctl({"agent", "add", agent, "--out", file.string()}).is_null());
    agents_[agent] = &net_->run(
        agent,
        {MK_MIGRATEKIT_PATH, "vma", "--join", file.string(), "--data", (dir_ / agent).string(),
         "--mover-arg=--requests=4", "--mover-arg=--io-timeout=" + io_timeout},
        {.stdout_path = log_of(agent), .stderr_path = log_of(agent)});
    ASSERT_TRUE(eventually([&] { return online(agent); }, 30s)) << read_text(log_of(agent));
  }

  std::filesystem::path log_of(const std::string& agent) const { return dir_ / (agent + ".log"); }

  bool online(const std::string& agent) {
    const auto list = ctl({"agent", "list"});
    if (!list.is_object()) return false;
    for (const auto& a : list["agents"])
      if (a["id"] == agent) return a.value("online", false);
    return false;
  }

  /// A 32 MiB source read at `rate` bits per second (4 Mbit/s: a stop lands mid-copy, also
  /// under the sanitizers), served on a Unix socket that each agent opens on its own host.
  /// Its digest is taken once, at full speed (at 4 Mbit/s a read of it takes a minute).
  void start_source(const std::string& rate = "4M") {
    rate_.set("20G");
    source_ = nbdkit_server::start(dir_.path(), "source", {"noparallel", "rate"},
                                   {"random", "size=" + std::to_string(32 << 20), "seed=5",
                                    "rate=" + rate, rate_.arg(), "serialize=requests"});
    source_hash_ = hash_export(source_.uri());
    rate_.set(rate);
    std::this_thread::sleep_for(2s);  // nbdkit reads its rate file again about every second
  }

  /// A job of `agent`, once it replicates with 1 MiB copied; its id.
  std::string replicating(const std::string& agent) {
    const auto created =
        ctl({"replicate", "--name", "across", "--source", source_.uri(), "--vma", agent});
    EXPECT_TRUE(created.is_object());
    const auto id = created.value("id", "");
    EXPECT_TRUE(eventually(
        [&] {
          const auto j = job(id);
          return j.value("state", "") == "replicating" && j["progress"].is_object() &&
                 j["progress"].value("bytes_done", 0u) >= (1u << 20);
        },
        60s))
        << job(id) << "\n"
        << read_text(log_of(agent));
    return id;
  }

  /// The OMA, both agents joined, the source, and a job replicating on each: job -> agent.
  std::map<std::string, std::string> a_job_on_each_agent() {
    start_oma();
    join("vma-a");
    join("vma-b");
    start_source();
    return {{replicating("vma-a"), "vma-a"}, {replicating("vma-b"), "vma-b"}};
  }

  json job(const std::string& id) { return ctl({"show", id}); }
  std::string state_of(const std::string& id) { return job(id).value("state", ""); }

  /// Waits for the job to complete (the source at full speed), then compares its volume with
  /// the source byte for byte.
  void completes_identical(const std::string& id, const std::string& agent) {
    ASSERT_TRUE(eventually([&] { return state_of(id) == "completed"; }, 90s))
        << job(id) << "\nJobLog: " << ctl({"log", id}, true) << "\n"
        << read_text(log_of(agent));
    EXPECT_EQ(hash_file(job(id)["volume"].value("path", "")), source_hash_) << id;
  }

  /// `migratekit ctl --data OMA --json ARGS...` on the OMA's host; its JSON (null if it failed,
  /// or if `quiet`, without a test failure).
  json ctl(const std::vector<std::string>& args, bool quiet = false) {
    std::vector<std::string> argv = {MK_MIGRATEKIT_PATH, "ctl", "--data", oma_data().string(),
                                     "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out, error;
    const auto status = net_->run_to_end("oma", argv, &out, &error);
    if (status != exit_status::exited(0)) {
      std::string command;
      for (const auto& a : args) command += " " + a;
      if (!quiet) ADD_FAILURE() << "ctl" << command << ": " << to_string(status) << ": " << error;
      return nullptr;
    }
    return json::parse(out, nullptr, false);
  }

  bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(200ms);
    }
    return true;
  }

  /// The command lines of this test's movers running now, whatever their host (their
  /// checkpoints are under the test's folder; other tests may run movers meanwhile).
  std::vector<std::string> movers() const {
    std::vector<std::string> out;
    for (const auto& [pid, line] : mover_processes()) out.push_back(line);
    return out;
  }

  /// The pid of the mover of `agent` running now (its target is that agent's volume), or 0.
  pid_t mover_of(const std::string& agent) const {
    for (const auto& [pid, line] : mover_processes())
      if (line.find("nbds://" + agent + "@") != std::string::npos) return pid;
    return 0;
  }

  std::vector<std::pair<pid_t, std::string>> mover_processes() const {
    std::vector<std::pair<pid_t, std::string>> out;
    for (auto pid : running_under(dir_.path()))
      if (auto line = command_text(pid); line.find("migratekit copy ") != std::string::npos)
        out.emplace_back(pid, std::move(line));
    return out;
  }

  /// The volume server's endpoint (`HOST:PORT`) that the mover of `agent` writes to.
  std::string volume_endpoint(const std::string& agent) const {
    const auto head = "nbds://" + agent + "@";
    for (const auto& line : movers())
      if (auto at = line.find(head); at != std::string::npos) {
        const auto from = at + head.size();
        return line.substr(from, line.find('/', from) - from);
      }
    return "";
  }

  // -- the rounds of the fault suites (partition_suite_test.cpp, bus_fault_suite_test.cpp) --

  /// A job of a round, and the stop asked of it.
  struct round_job {
    std::string id;
    std::string agent;
    std::string volume;
    std::vector<std::string> stop;  ///< the ctl arguments of its stop; empty: none asked
    std::string stop_id;            ///< set when the OMA acknowledged the stop
    bool delete_asked() const { return std::ranges::find(stop, "--delete") != stop.end(); }
  };

  /// A job replicating on each of `agents`, and for about 7 in 10 of them a stop of a random
  /// kind (graceful or forced, volume kept or deleted), to be asked by ask_stop().
  std::vector<round_job> round_jobs(std::mt19937& rng, const std::vector<std::string>& agents) {
    std::vector<round_job> jobs;
    for (const auto& agent : agents) {
      round_job j{replicating(agent), agent, "", {}, ""};
      j.volume = job(j.id)["volume"].value("path", "");
      if (rng() % 10 < 7) {
        j.stop = {"stop", j.id};
        if (rng() % 4 == 0) j.stop.push_back("--force");
        if (rng() % 4 == 0) j.stop.push_back("--delete");
      }
      jobs.push_back(std::move(j));
    }
    return jobs;
  }

  /// Asks the job's stop; a stop refused or unanswered (the OMA cut off) is no acknowledgement.
  void ask_stop(round_job& j) {
    const auto answer = ctl(j.stop, true);
    if (answer.is_object() && answer["stop"].is_object())
      j.stop_id = answer["stop"].value("id", "");
  }

  /// What the protocol promises of each job of a round, once its fault is over; what went
  /// wrong, in words, each line headed by `round` (empty: nothing):
  ///   - it settles completed, resumable, or cancelled (only if a delete was asked) within
  ///     150 s;
  ///   - a stop the OMA acknowledged is the one it settled under (no acknowledged write lost),
  ///     and is in its JobLog;
  ///   - its volume is never deleted unless asked;
  ///   - resumed, it completes with a volume equal to its source;
  ///   - no mover runs for it once it is final.
  std::vector<std::string> check_round(const std::vector<round_job>& jobs,
                                       const std::string& round) {
    constexpr auto bound = 150s;
    std::vector<std::string> wrong;
    const auto say = [&](const round_job& j, const std::string& what) {
      wrong.push_back(round + ", job " + j.id + " on " + j.agent + ": " + what +
                      "; record: " + job(j.id).dump());
    };
    for (const auto& j : jobs) {
      const auto settled = [&] {
        const auto r = job(j.id);
        const auto state = r.value("state", "");
        return state == "completed" || state == "cancelled" ||
               ((state == "stopped" || state == "failed") && r.value("resumable", false));
      };
      if (!eventually(settled, bound)) {
        say(j, "neither completed, cancelled nor resumable after " + std::to_string(bound.count()) +
                   " s");
        continue;
      }
      const auto record = job(j.id);
      const auto state = record.value("state", "");
      if (state == "cancelled") {
        if (!j.delete_asked()) say(j, "cancelled without a delete");
        continue;
      }
      if (state == "stopped" && !j.stop_id.empty()) {
        if (record["stop"].value("id", "") != j.stop_id)
          say(j, "stopped under another stop than the acknowledged " + j.stop_id);
        // A copy of the log that was cut off may answer with what it had until it caught up.
        if (!eventually(
                [&] {
                  return ctl({"log", j.id}, true).dump().find(j.stop_id) != std::string::npos;
                },
                30s))
          say(j, "the acknowledged stop " + j.stop_id + " is not in its JobLog");
      }
      if (!std::filesystem::exists(j.volume)) say(j, "its volume is gone");
      if (state != "completed") {
        rate_.set("20G");
        if (ctl({"resume", j.id}, true).is_null()) {
          say(j, "a resume was refused");
          continue;
        }
      }
      if (!eventually([&] { return state_of(j.id) == "completed"; }, bound)) {
        say(j, "did not complete after its resume");
        continue;
      }
      if (hash_file(j.volume) != source_hash_) say(j, "its volume differs from the source");
    }
    for (const auto& line : movers()) wrong.push_back(round + ": a mover still runs: " + line);
    return wrong;
  }

  /// Each violation as a test failure, then the logs of the OMA and of both agents.
  void report(const std::vector<std::string>& wrong) {
    for (const auto& w : wrong) ADD_FAILURE() << w;
    if (!wrong.empty())
      ADD_FAILURE() << "OMA log:\n"
                    << read_text(dir_ / "up.log") << "\nvma-a:\n"
                    << read_text(log_of("vma-a")) << "\nvma-b:\n"
                    << read_text(log_of("vma-b"));
  }

  temp_dir dir_;
  std::optional<hosts> net_;
  rate_file rate_{dir_ / "source.rate"};
  nbdkit_server source_;
  digest source_hash_;
  process* oma_ = nullptr;
  std::map<std::string, process*> agents_;
};

}  // namespace mk::test
