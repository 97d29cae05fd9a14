// Across hosts (docs/security.md, SPEC section 11): `migratekit up --advertise` on one host, an
// agent enrolled with `ctl agent add` joining from another with its join file; its job copies
// over the network into a volume served with TLS-PSK to that agent only, is stopped with its
// volume kept, resumed, and the volume equals the source byte for byte.
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
  void SetUp() override { net_.emplace(std::map<std::string, int>{{"oma", 1}, {"vma-a", 2}}); }
  void TearDown() override {
    net_.reset();  // every process inside, then the hosts
    source_.stop();
  }

  std::filesystem::path oma_data() const { return dir_ / "oma"; }

  /// `migratekit ctl --data OMA --json ARGS...` on the OMA's host; its JSON (null if it failed).
  json ctl(const std::vector<std::string>& args, std::string* err = nullptr) {
    std::vector<std::string> argv = {MK_MIGRATEKIT_PATH, "ctl", "--data", oma_data().string(),
                                     "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out, error;
    const auto status = net_->run_to_end("oma", argv, &out, &error);
    if (err) *err = error;
    if (status != exit_status::exited(0)) {
      ADD_FAILURE() << "ctl";
      for (const auto& a : args) ADD_FAILURE() << a;
      ADD_FAILURE() << to_string(status) << ": " << error;
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

  /// The command lines of the movers running now, whatever their namespace.
  static std::vector<std::string> movers() {
    std::vector<std::string> out;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      auto cmdline = read_text(entry.path() / "cmdline");
      for (auto& c : cmdline)
        if (c == '\0') c = ' ';
      if (cmdline.find("migratekit copy ") != std::string::npos) out.push_back(cmdline);
    }
    return out;
  }

  temp_dir dir_;
  std::optional<hosts> net_;
  nbdkit_server source_;
};

TEST_F(across_hosts, a_remote_agents_job_copies_over_tls_psk_stops_and_resumes_identical) {
  net_->run("oma",
            {MK_MIGRATEKIT_PATH, "up", "--data", oma_data().string(), "--listen", "127.0.0.1:0",
             "--advertise", net_->address("oma"), "--grace", "10", "--mover-arg", "--requests=4"},
            {.stdout_path = dir_ / "up.out", .stderr_path = dir_ / "up.log"});
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(oma_data() / "api-url"); }, 60s))
      << read_text(dir_ / "up.log");
  const auto urls = read_text(oma_data() / "nats" / "urls");
  EXPECT_TRUE(urls.starts_with("tls://" + net_->address("oma") + ":")) << urls;

  const auto join = dir_ / "vma-a.join";
  ASSERT_FALSE(ctl({"agent", "add", "vma-a", "--out", join.string()}).is_null());
  const auto file = json::parse(read_text(join));
  EXPECT_TRUE(file["nats"]["urls"][0].get<std::string>().starts_with("tls://10.77.0.1:")) << file;
  EXPECT_TRUE(file["nats"]["ca"].is_string()) << "the join file carries the bus's CA";
  net_->run(
      "vma-a",
      {MK_MIGRATEKIT_PATH, "vma", "--join", join.string(), "--data", (dir_ / "vma-a").string()},
      {.stdout_path = dir_ / "vma-a.log", .stderr_path = dir_ / "vma-a.log"});
  const auto online = [&] {
    const auto list = ctl({"agent", "list"});
    if (!list.is_object()) return false;
    for (const auto& a : list["agents"])
      if (a["id"] == "vma-a") return a.value("online", false);
    return false;
  };
  ASSERT_TRUE(eventually(online, 30s)) << read_text(dir_ / "vma-a.log");

  // The source is read by the agent on its own host (a Unix socket there), at 16 Mbit/s so
  // that the stop lands mid-copy.
  const rate_file rate(dir_ / "source.rate");
  source_ = nbdkit_server::start(dir_.path(), "source", {"noparallel", "rate"},
                                 {"random", "size=" + std::to_string(32 << 20), "seed=5",
                                  "rate=16M", rate.arg(), "serialize=requests"});
  const auto created =
      ctl({"replicate", "--name", "across", "--source", source_.uri(), "--vma", "vma-a"});
  ASSERT_TRUE(created.is_object());
  const auto id = created.value("id", "");
  const auto job = [&] { return ctl({"show", id}); };
  ASSERT_TRUE(eventually(
      [&] {
        const auto j = job();
        return j.value("state", "") == "replicating" && j["progress"].is_object() &&
               j["progress"].value("bytes_done", 0u) >= (1u << 20);
      },
      60s))
      << job() << "\n"
      << read_text(dir_ / "vma-a.log");
  // Its mover (on the agent's host) writes to the OMA's host over TLS-PSK as vma-a.
  const auto running = movers();
  ASSERT_EQ(running.size(), 1u);
  EXPECT_NE(running[0].find("nbds://vma-a@" + net_->address("oma") + ":"), std::string::npos)
      << running[0];
  EXPECT_NE(running[0].find("tls-psk-file=" + (dir_ / "vma-a" / "volumes.psk").string()),
            std::string::npos)
      << running[0];

  ASSERT_FALSE(ctl({"stop", id, "--wait", "--timeout", "60"}).is_null());
  EXPECT_EQ(job().value("state", ""), "stopped") << job();
  EXPECT_TRUE(movers().empty());

  rate.set("20G");
  ASSERT_FALSE(ctl({"resume", id}).is_null());
  ASSERT_TRUE(eventually([&] { return job().value("state", "") == "completed"; }, 90s))
      << job() << "\n"
      << read_text(dir_ / "vma-a.log");
  const auto volume = job()["volume"].value("path", "");
  EXPECT_EQ(hash_file(volume), hash_export(source_.uri()));
}

}  // namespace
}  // namespace mk::test
