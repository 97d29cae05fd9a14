// The fault suite's partition kind (docs/recovery.md; ctest label `faults`): the product across
// hosts (product_hosts.hpp), a job replicating on each remote agent, stops of every kind asked
// at random moments, and one host's cable pulled at a random moment for 3 to 40 s (shorter and
// longer than the poller's patience of 30 s and than a stop's deadline), then plugged back.
// After each round every job must have kept what the protocol promises
// (product_hosts::check_round).
// MK_FAULT_ROUNDS rounds (2 unless told), MK_FAULT_SEED for the random choices (printed, so a
// failing run can be replayed).
#include <functional>
#include <map>
#include <random>
#include <thread>

#include "product_hosts.hpp"
#include "support/env.hpp"

namespace mk::test {
namespace {

class partition_suite : public product_hosts {
 protected:
  /// One round; what went wrong, in words (empty: nothing).
  std::vector<std::string> run_round(unsigned round, std::mt19937& rng, std::string& fault) {
    rate_.set("4M");
    auto jobs = round_jobs(rng, {"vma-a", "vma-b"});
    static const char* hosts[] = {"oma", "vma-a", "vma-b"};
    const std::string host = hosts[rng() % 3];
    const auto cut_at = std::chrono::milliseconds(rng() % 3000);
    const auto cut_for = std::chrono::milliseconds(3000 + rng() % 37000);
    fault = host + " cut off for " + std::to_string(cut_for.count() / 1000) + " s";
    std::multimap<std::chrono::milliseconds, std::function<void()>> timeline;
    timeline.emplace(cut_at, [&] { net_->partition(host); });
    timeline.emplace(cut_at + cut_for, [&] { net_->heal(host); });
    for (auto& j : jobs)
      if (!j.stop.empty())
        timeline.emplace(std::chrono::milliseconds(rng() % 4000), [&] { ask_stop(j); });
    const auto began = std::chrono::steady_clock::now();
    for (const auto& [at, step] : timeline) {
      std::this_thread::sleep_until(began + at);
      step();
    }
    return check_round(jobs, "round " + std::to_string(round) + " (" + fault + ")");
  }
};

TEST_F(partition_suite, a_partition_of_any_host_loses_nothing) {
  fault_rounds plan("partition suite", 2);
  start_oma();
  join("vma-a");
  join("vma-b");
  start_source();
  std::vector<std::string> wrong;
  for (unsigned r = 0; r < plan.rounds && !HasFatalFailure(); ++r) {
    std::string fault;
    for (auto& w : run_round(r, plan.rng, fault)) {
      std::printf("partition suite: VIOLATION %s\n", w.c_str());  // as it happens, for long runs
      wrong.push_back(std::move(w));
    }
    std::printf("partition suite: round %u, %s: %s\n", r, fault.c_str(),
                wrong.empty() ? "nothing lost" : "violations so far");
  }
  report(wrong);
}

}  // namespace
}  // namespace mk::test
