#pragma once
// The product across hosts on a bus of three nodes (docs/bus.md, "Three nodes on three
// machines"): `migratekit up --advertise --routes` on the OMA's host is the first node, two
// `migratekit node` processes on the hosts n2 and n3 (node files made on the OMA's host) the
// others, TLS between all of them; agents on the hosts vma-a and vma-b join with every node's
// URL, and the JetStream state is kept in three copies.
#include <signal.h>

#include "bus/nats_transport.hpp"
#include "bus/server_config.hpp"
#include "bus/state.hpp"
#include "config/expected.hpp"
#include "product_hosts.hpp"
#include "support/process.hpp"

namespace mk::test {

class bus_hosts : public product_hosts {
 protected:
  std::map<std::string, int> host_addresses() const override {
    return {{"oma", 1}, {"vma-a", 2}, {"vma-b", 3}, {"n2", 4}, {"n3", 5}};
  }

  std::string client_url(const std::string& host) const {
    return "tls://" + net_->address(host) + ":4222";
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
               client_url("n2") + "," + client_url("n3"), "--replicas", "3"});
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

  /// Where the jobs' bucket is now, asked as the OMA asks, from its host, of every node (the
  /// one that led may be gone); an error in words if the bus did not answer.
  expected<bus::kv_bucket::placement_info, std::string> jobs_placement() {
    expected<bus::kv_bucket::placement_info, std::string> out = unexpected("not asked");
    net_->inside("oma", [&] {
      bus::nats_options o;
      o.url = read_text(oma_data() / "nats" / "urls");
      o.url = o.url.substr(0, o.url.find('\n')) + "," + client_url("n2") + "," + client_url("n3");
      o.creds_file = oma_data() / "nats" / "oma.creds";
      o.ca_file = oma_data() / "tls" / "ca.pem";
      o.inbox_prefix = bus::inbox_prefix("oma");
      o.name = "test";
      o.retry_on_failed_connect = false;
      // A valid user is refused now and then (bus/nats_transport.cpp); NATS.c then tries the
      // other nodes it heard of, by the wrong name, and says "no server": try again.
      auto t = bus::nats_transport::connect(o);
      for (int attempt = 1; !t && attempt < 5; ++attempt) {
        std::this_thread::sleep_for(1s);
        t = bus::nats_transport::connect(o);
      }
      if (!t) {
        out = unexpected(t.error().message);
        return;
      }
      bus::state_options so;
      so.replicas = 3;
      auto store = bus::state_store::open(**t, so);
      if (!store) {
        out = unexpected(store.error().message);
        return;
      }
      auto placement = (*store)->jobs().placement();
      if (!placement) {
        out = unexpected(placement.error().message);
        return;
      }
      out = *placement;
    });
    return out;
  }

  /// The node that leads the jobs' bucket now ("oma", "n2" or "n3").
  std::string jobs_leader() {
    const auto placement = jobs_placement();
    EXPECT_TRUE(placement) << placement.error();
    return placement ? placement->leader : "";
  }

  /// Every node's server runs and the jobs' bucket has a leader and both other copies up to
  /// date: a fault that comes now is one fault, not the second of two.
  bool bus_whole() {
    for (const auto* node : {"oma", "n2", "n3"})
      if (server_of(node) == 0) return false;
    const auto placement = jobs_placement();
    return placement && !placement->leader.empty() && placement->current == 2;
  }

  /// The nats-server of a node (SIGKILL of it is a node's crash; its `migratekit node`, or the
  /// OMA, stays).
  pid_t server_of(const std::string& node) const {
    const auto dir = node == "oma" ? oma_data() : dir_ / node;
    for (auto pid : running_under(dir))
      if (command_text(pid).find("nats-server") != std::string::npos) return pid;
    return 0;
  }

  std::map<std::string, process*> nodes_;
};

}  // namespace mk::test
