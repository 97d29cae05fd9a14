// A bus of three nodes on three hosts (docs/bus.md, "Three nodes on three machines", SPEC
// section 12): `migratekit up --advertise --routes` on the OMA's host is the first node, two
// `migratekit node` processes on hosts of their own (node files made on the OMA's host) the
// others, TLS between all of them; agents on two more hosts join with every node's URL, and the
// JetStream state is kept in three copies. The node the OMA is connected to is killed with
// SIGKILL in the middle of a stop: the stop settles under its id, and the job resumes from its
// kept volume to a copy identical to the source.
#include <signal.h>

#include "product_hosts.hpp"
#include "support/process.hpp"
#include "sys/atomic_file.hpp"

namespace mk::test {
namespace {

class bus_nodes : public product_hosts {
 protected:
  std::map<std::string, int> host_addresses() const override {
    return {{"oma", 1}, {"vma-a", 2}, {"vma-b", 3}, {"n2", 4}, {"n3", 5}};
  }

  std::string route_of(const std::string& host) const { return net_->address(host) + ":6222"; }

  /// The node files made on the OMA's host, then `migratekit node` on the hosts n2 and n3,
  /// then `migratekit up` as the first node, with three copies of the state.
  void start_bus() {
    for (const auto* node : {"n2", "n3"}) {
      const auto file = dir_ / (std::string(node) + ".node");
      std::string err;
      ASSERT_EQ(
          net_->run_to_end("oma",
                           {MK_MIGRATEKIT_PATH, "node-file", node, "--data", oma_data().string(),
                            "--out", file.string(), "--address", net_->address(node)},
                           nullptr, &err),
          exit_status::exited(0))
          << err;
    }
    for (const auto* node : {"n2", "n3"}) start_node(node);
    start_oma({"--routes", route_of("n2") + "," + route_of("n3"), "--nodes",
               "tls://" + net_->address("n2") + ":4222,tls://" + net_->address("n3") + ":4222",
               "--replicas", "3"});
  }

  /// `migratekit node` on the host `node` (n2 or n3), from its node file.
  void start_node(const std::string& node) {
    const std::string other = node == "n2" ? "n3" : "n2";
    nodes_[node] =
        &net_->run(node,
                   {MK_MIGRATEKIT_PATH, "node", "--file", (dir_ / (node + ".node")).string(),
                    "--data", (dir_ / node).string(), "--listen", net_->address(node), "--routes",
                    route_of("oma") + "," + route_of(other)},
                   {.stdout_path = dir_ / (node + ".log"),
                    .stderr_path = dir_ / (node + ".log"),
                    .append = true});
  }

  /// The OMA's own nats-server (its first node), which it is connected to.
  pid_t oma_node_pid() const {
    for (auto pid : running_under(oma_data()))
      if (command_text(pid).find("nats-server") != std::string::npos) return pid;
    return 0;
  }

  std::map<std::string, process*> nodes_;
};

TEST_F(bus_nodes, the_oma_s_node_killed_mid_stop_the_stop_settles_and_the_job_resumes_identical) {
  start_bus();
  join("vma-a");
  const auto file = json::parse(read_text(dir_ / "vma-a.join"));
  ASSERT_EQ(file["nats"]["urls"].size(), 3u) << "the join file names every node: " << file;
  start_source();
  const auto id = replicating("vma-a");

  const auto stop = ctl({"stop", id});
  ASSERT_TRUE(stop.is_object());
  const auto stop_id = stop["stop"].value("id", "");
  ASSERT_FALSE(stop_id.empty()) << stop;
  const auto victim = oma_node_pid();
  ASSERT_NE(victim, 0);
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  // Mid-stop: the mover drains its reads from a source read at 4 Mbit/s for a second or two.
  EXPECT_EQ(stop.value("state", ""), "stopping") << stop;
  const auto at_kill = job(id);
  EXPECT_EQ(at_kill.value("state", ""), "stopping") << "the stop had settled before the kill";

  ASSERT_TRUE(eventually([&] { return state_of(id) == "stopped"; }, 60s))
      << job(id) << "\n"
      << read_text(dir_ / "up.log");
  const auto stopped = job(id);
  EXPECT_EQ(stopped["stop"].value("id", ""), stop_id) << stopped;
  EXPECT_EQ(stopped["volume"].value("state", ""), "partial") << stopped;
  EXPECT_NE(read_text(dir_ / "up.log").find("reconnected"), std::string::npos)
      << "the OMA was not on the node killed";

  rate_.set("20G");
  ASSERT_FALSE(ctl({"resume", id}).is_null());
  completes_identical(id, "vma-a");
}

TEST_F(bus_nodes, an_agent_revoked_while_a_node_was_down_cannot_connect_to_it_when_it_is_back) {
  start_bus();
  join("vma-b");
  // The node n3 stops (SIGTERM: its nats-server with it) and the agent is removed meanwhile.
  nodes_["n3"]->signal(SIGTERM);
  ASSERT_TRUE(nodes_["n3"]->wait_for(30s).has_value()) << read_text(dir_ / "n3.log");
  agents_["vma-b"]->kill();
  ASSERT_FALSE(ctl({"agent", "rm", "vma-b"}).is_null());
  const auto seen_running = [&] {
    const auto log = read_text(dir_ / "up.log");
    std::size_t n = 0;
    for (auto at = log.find("runs the account"); at != std::string::npos;
         at = log.find("runs the account", at + 1))
      ++n;
    return n;
  };
  const auto before = seen_running();
  start_node("n3");

  // The agent, told of n3 alone, is refused there: the OMA pushed the account's JWT with the
  // revocation to n3 when it came back, and saw n3 run it.
  auto file = json::parse(read_text(dir_ / "vma-b.join"));
  file["nats"]["urls"] = json::array({"tls://" + net_->address("n3") + ":4222"});
  const auto only_n3 = dir_ / "vma-b-n3.join";
  ASSERT_TRUE(sys::write_file_atomically(only_n3, file.dump(), 0600));
  ASSERT_TRUE(eventually([&] { return seen_running() > before; }, 30s))
      << read_text(dir_ / "up.log");
  std::string out, err;
  const auto status = net_->run_to_end(
      "vma-b",
      {MK_MIGRATEKIT_PATH, "vma", "--join", only_n3.string(), "--data", (dir_ / "vma-b2").string()},
      &out, &err);
  EXPECT_NE(status, exit_status::exited(0)) << err;
  // NATS.c then tries the nodes n3 told it of, by the name it was given: what it reports is
  // the last refusal. n3's own log says why it refused.
  const auto n3_log = read_text(dir_ / "n3" / "nats" / "server.log");
  EXPECT_NE(n3_log.find("\"v3.4.1:C:vma vma-b\" - authentication error"), std::string::npos)
      << n3_log.substr(n3_log.size() > 3000 ? n3_log.size() - 3000 : 0);
}

}  // namespace
}  // namespace mk::test
