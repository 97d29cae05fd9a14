// The fault suite on a bus of three nodes (bus_hosts.hpp; docs/recovery.md; ctest label
// `faults`): a job replicating on each agent, stops of every kind asked at random moments, and
// one fault a round at a random moment in its first three seconds, either
//   - "bus node": `kill -9` of one node's nats-server (the OMA's, n2's or n3's); the OMA starts
//     its own again (bus/kept_server.hpp), and `migratekit node`, which ends with its server,
//     is started again by the test as a supervisor would, 1 to 10 s later; or
//   - "partition": one host's cable pulled for 3 to 25 s (a node's, the OMA's with its node,
//     or an agent's), then plugged back.
// After each round every job must have kept what the protocol promises
// (product_hosts::check_round), and the bus must be whole again (every node running, the jobs'
// bucket led and its other two copies current) before the next round's fault.
// MK_FAULT_ROUNDS rounds (2 unless told), MK_FAULT_SEED for the random choices (printed, so a
// failing run can be replayed).
#include <functional>
#include <map>
#include <random>
#include <thread>

#include "bus_hosts.hpp"
#include "support/env.hpp"

namespace mk::test {
namespace {

class bus_fault_suite : public bus_hosts {
 protected:
  /// One round; what went wrong, in words (empty: nothing). `counts` tallies the faults.
  std::vector<std::string> run_round(unsigned round, std::mt19937& rng, std::string& fault,
                                     std::map<std::string, unsigned>& counts) {
    rate_.set("4M");
    auto jobs = round_jobs(rng, {"vma-a", "vma-b"});
    std::multimap<std::chrono::milliseconds, std::function<void()>> timeline;
    const auto at = std::chrono::milliseconds(rng() % 3000);
    if (rng() % 2 == 0) {
      static const char* nodes[] = {"oma", "n2", "n3"};
      const std::string node = nodes[rng() % 3];
      const auto back_after = std::chrono::milliseconds(1000 + rng() % 9000);
      fault = "bus node " + node + " killed";
      ++counts["bus node " + node];
      timeline.emplace(at, [this, node] {
        const auto pid = server_of(node);
        EXPECT_NE(pid, 0) << "no nats-server of " << node << " to kill";
        if (pid != 0) ::kill(pid, SIGKILL);
      });
      if (node == "oma") {
        fault += " (the OMA starts it again)";
      } else {
        fault += ", back after " + std::to_string(back_after.count()) + " ms";
        timeline.emplace(at + back_after, [this, node] {
          // Its `migratekit node` ends with status 1 when its server dies: started again.
          EXPECT_TRUE(nodes_[node]->wait_for(30s).has_value()) << node << " did not end";
          start_node(node);
        });
      }
    } else {
      static const char* hosts[] = {"oma", "n2", "n3", "vma-a", "vma-b"};
      const std::string host = hosts[rng() % 5];
      const auto cut_for = std::chrono::milliseconds(3000 + rng() % 22000);
      fault = host + " cut off for " + std::to_string(cut_for.count() / 1000) + " s";
      ++counts["partition " + host];
      timeline.emplace(at, [this, host] { net_->partition(host); });
      timeline.emplace(at + cut_for, [this, host] { net_->heal(host); });
    }
    for (auto& j : jobs)
      if (!j.stop.empty())
        timeline.emplace(std::chrono::milliseconds(rng() % 4000), [this, &j] { ask_stop(j); });
    const auto began = std::chrono::steady_clock::now();
    for (const auto& [when, step] : timeline) {
      std::this_thread::sleep_until(began + when);
      step();
    }
    // The jobs nobody stopped complete at full speed; a stop asked is asked by now.
    rate_.set("20G");
    const auto label = "round " + std::to_string(round) + " (" + fault + ")";
    auto wrong = check_round(jobs, label);
    if (!eventually([&] { return bus_whole(); }, 120s))
      wrong.push_back(label + ": the bus is not whole 120 s after the fault");
    return wrong;
  }
};

TEST_F(bus_fault_suite, a_node_killed_or_cut_off_loses_nothing) {
  fault_rounds plan("bus fault suite", 2);
  start_bus();
  join("vma-a");
  join("vma-b");
  start_source();
  ASSERT_TRUE(eventually([&] { return bus_whole(); }, 60s)) << "the bus never was whole";
  std::vector<std::string> wrong;
  std::map<std::string, unsigned> counts;
  unsigned checked = 0;
  const auto began = std::chrono::steady_clock::now();
  for (unsigned r = 0; r < plan.rounds && !HasFatalFailure(); ++r) {
    std::string fault;
    const auto round_began = std::chrono::steady_clock::now();
    for (auto& w : run_round(r, plan.rng, fault, counts)) {
      std::printf("bus fault suite: VIOLATION %s\n", w.c_str());  // as it happens, for long runs
      wrong.push_back(std::move(w));
    }
    checked += 2;
    std::printf("bus fault suite: round %u, %s: %s (%lld s)\n", r, fault.c_str(),
                wrong.empty() ? "nothing lost" : "violations so far",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(
                                           std::chrono::steady_clock::now() - round_began)
                                           .count()));
    std::fflush(stdout);
  }
  std::string faults;
  for (const auto& [what, n] : counts)
    faults += (faults.empty() ? "" : ", ") + what + " " + std::to_string(n);
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - began)
          .count();
  std::printf(
      "bus fault suite summary: %u rounds in %lld s, seed %u; faults injected: %s; jobs "
      "checked: %u; violations: %zu\n",
      plan.rounds, static_cast<long long>(seconds), plan.seed, faults.c_str(), checked,
      wrong.size());
  report(wrong);
}

}  // namespace
}  // namespace mk::test
