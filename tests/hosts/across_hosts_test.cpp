// Across hosts (docs/security.md, docs/recovery.md, SPEC section 11): `migratekit up
// --advertise` on one host, agents enrolled with `ctl agent add` joining from others with
// their join files. A job copies over the network into a volume served with TLS-PSK to its
// agent only, is stopped with its volume kept, resumed, and the volume equals the source byte
// for byte. An agent cut off from the network mid-copy keeps its volume safe: its job's stop
// fails `stop_unconfirmed: vma_process` without touching the volume, even asked to delete it,
// and once the cable is back the job resumes and completes identical.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "support/files.hpp"
#include "support/hash.hpp"
#include "support/hosts.hpp"
#include "support/nbdkit.hpp"
#include "support/temp_dir.hpp"

namespace mk::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class across_hosts : public ::testing::Test {
 protected:
  void SetUp() override {
    net_.emplace(std::map<std::string, int>{{"oma", 1}, {"vma-a", 2}, {"vma-b", 3}});
  }
  void TearDown() override {
    net_.reset();  // every process inside, then the hosts
    source_.stop();
  }

  std::filesystem::path oma_data() const { return dir_ / "oma"; }

  /// `migratekit up --advertise` on the OMA's host, until its API answers.
  void start_oma() {
    net_->run("oma",
              {MK_MIGRATEKIT_PATH, "up", "--data", oma_data().string(), "--listen", "127.0.0.1:0",
               "--advertise", net_->address("oma"), "--grace", "5", "--mover-arg", "--requests=4"},
              {.stdout_path = dir_ / "up.out", .stderr_path = dir_ / "up.log"});
    ASSERT_TRUE(eventually([&] { return std::filesystem::exists(oma_data() / "api-url"); }, 60s))
        << read_text(dir_ / "up.log");
  }

  /// `ctl agent add`, then `migratekit vma --join` on the agent's own host, until it is online.
  void join(const std::string& agent) {
    const auto file = dir_ / (agent + ".join");
    ASSERT_FALSE(ctl({"agent", "add", agent, "--out", file.string()}).is_null());
    net_->run(
        agent,
        {MK_MIGRATEKIT_PATH, "vma", "--join", file.string(), "--data", (dir_ / agent).string()},
        {.stdout_path = dir_ / (agent + ".log"), .stderr_path = dir_ / (agent + ".log")});
    ASSERT_TRUE(eventually([&] { return online(agent); }, 30s))
        << read_text(dir_ / (agent + ".log"));
  }

  bool online(const std::string& agent) {
    const auto list = ctl({"agent", "list"});
    if (!list.is_object()) return false;
    for (const auto& a : list["agents"])
      if (a["id"] == agent) return a.value("online", false);
    return false;
  }

  /// A 32 MiB source read at 4 Mbit/s (a stop lands mid-copy, also under the sanitizers, where
  /// a copy at 16 Mbit/s ended first), served on a Unix socket that
  /// the agent opens on its own host.
  void start_source() {
    source_ = nbdkit_server::start(dir_.path(), "source", {"noparallel", "rate"},
                                   {"random", "size=" + std::to_string(32 << 20), "seed=5",
                                    "rate=4M", rate_.arg(), "serialize=requests"});
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
        << read_text(dir_ / (agent + ".log"));
    return id;
  }

  json job(const std::string& id) { return ctl({"show", id}); }

  /// `migratekit ctl --data OMA --json ARGS...` on the OMA's host; its JSON (null if it failed).
  json ctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {MK_MIGRATEKIT_PATH, "ctl", "--data", oma_data().string(),
                                     "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out, error;
    const auto status = net_->run_to_end("oma", argv, &out, &error);
    if (status != exit_status::exited(0)) {
      std::string command;
      for (const auto& a : args) command += " " + a;
      ADD_FAILURE() << "ctl" << command << ": " << to_string(status) << ": " << error;
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
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      auto cmdline = read_text(entry.path() / "cmdline");
      for (auto& c : cmdline)
        if (c == '\0') c = ' ';
      if (cmdline.find("migratekit copy ") != std::string::npos &&
          cmdline.find(dir_.path().string()) != std::string::npos)
        out.push_back(cmdline);
    }
    return out;
  }

  temp_dir dir_;
  std::optional<hosts> net_;
  rate_file rate_{dir_ / "source.rate"};
  nbdkit_server source_;
};

TEST_F(across_hosts, a_remote_agents_job_copies_over_tls_psk_stops_and_resumes_identical) {
  start_oma();
  const auto urls = read_text(oma_data() / "nats" / "urls");
  EXPECT_TRUE(urls.starts_with("tls://" + net_->address("oma") + ":")) << urls;
  join("vma-a");
  const auto file = json::parse(read_text(dir_ / "vma-a.join"));
  EXPECT_TRUE(file["nats"]["urls"][0].get<std::string>().starts_with("tls://10.77.0.1:")) << file;
  EXPECT_TRUE(file["nats"]["ca"].is_string()) << "the join file carries the bus's CA";
  start_source();
  const auto id = replicating("vma-a");

  // Its mover (on the agent's host) writes to the OMA's host over TLS-PSK as vma-a.
  const auto running = movers();
  ASSERT_EQ(running.size(), 1u);
  EXPECT_NE(running[0].find("nbds://vma-a@" + net_->address("oma") + ":"), std::string::npos)
      << running[0];
  EXPECT_NE(running[0].find("tls-psk-file=" + (dir_ / "vma-a" / "volumes.psk").string()),
            std::string::npos)
      << running[0];

  ASSERT_FALSE(ctl({"stop", id, "--wait", "--timeout", "60"}).is_null());
  EXPECT_EQ(job(id).value("state", ""), "stopped") << job(id);
  EXPECT_TRUE(movers().empty());

  rate_.set("20G");
  ASSERT_FALSE(ctl({"resume", id}).is_null());
  ASSERT_TRUE(eventually([&] { return job(id).value("state", "") == "completed"; }, 90s))
      << job(id) << "\n"
      << read_text(dir_ / "vma-a.log");
  EXPECT_EQ(hash_file(job(id)["volume"].value("path", "")), hash_export(source_.uri()));
}

TEST_F(across_hosts, a_partitioned_agents_volume_is_never_touched_and_a_resume_completes_it) {
  start_oma();
  join("vma-b");
  start_source();
  const auto id = replicating("vma-b");
  const auto volume = job(id)["volume"].value("path", "");
  ASSERT_FALSE(volume.empty()) << job(id);

  // The agent's cable is pulled: a stop, even one that would delete the volume, cannot be
  // confirmed by it, so it fails the job past its deadline (grace 5 s + 15 s) and leaves the
  // volume where it is (its mover may still write).
  net_->partition("vma-b");
  const auto stopping = ctl({"stop", id, "--delete"});
  ASSERT_TRUE(stopping.is_object());
  ASSERT_TRUE(eventually([&] { return job(id).value("state", "") == "failed"; }, 60s)) << job(id);
  EXPECT_EQ(job(id).value("error", ""), "stop_unconfirmed: vma_process") << job(id);
  EXPECT_TRUE(std::filesystem::exists(volume)) << "the volume of an unreachable agent went";
  EXPECT_NE(job(id)["volume"].value("state", ""), "deleted") << job(id);

  EXPECT_FALSE(job(id).value("resumable", true)) << "its mover may still write";

  // The cable is back: the agent answers the OMA again, the mover of a job that should not
  // run is stopped, and once the agent runs none for it the job is resumable; a resume then
  // continues from its checkpoint to the end.
  net_->heal("vma-b");
  ASSERT_TRUE(
      eventually([&] { return movers().empty() && job(id).value("resumable", false); }, 90s))
      << job(id) << "\n"
      << read_text(dir_ / "vma-b.log");
  rate_.set("20G");
  ASSERT_FALSE(ctl({"resume", id}).is_null());
  ASSERT_TRUE(eventually([&] { return job(id).value("state", "") == "completed"; }, 90s))
      << job(id) << "\n"
      << read_text(dir_ / "vma-b.log");
  EXPECT_EQ(hash_file(volume), hash_export(source_.uri()));
}

}  // namespace
}  // namespace mk::test
