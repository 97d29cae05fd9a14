// The fault suite's partition kind (docs/recovery.md; ctest label `faults`): the product across
// hosts (product_hosts.hpp), a job replicating on each remote agent, stops of every kind asked
// at random moments, and one host's cable pulled at a random moment for 3 to 40 s (shorter and
// longer than the poller's patience of 30 s and than a stop's deadline), then plugged back.
// After each round every job must have kept what the protocol promises:
//   - it settles completed, resumable, or cancelled (only if a delete was asked), within a bound;
//   - its volume is never deleted while its mover's end is unconfirmed, nor unless asked;
//   - resumed, it completes with a volume equal to its source;
//   - no mover runs for it once it is final.
// MK_FAULT_ROUNDS rounds (2 unless told), MK_FAULT_SEED for the random choices (printed, so a
// failing run can be replayed).
#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <thread>

#include "product_hosts.hpp"
#include "support/env.hpp"

namespace mk::test {
namespace {

constexpr auto settle_bound = 150s;

struct round_job {
  std::string id;
  std::string agent;
  std::string volume;
  std::vector<std::string> stop;  ///< the ctl arguments of its stop; empty: none asked
  bool delete_asked() const { return std::ranges::find(stop, "--delete") != stop.end(); }
};

class partition_suite : public product_hosts {
 protected:
  /// One round; what went wrong, in words (empty: nothing).
  std::vector<std::string> run_round(unsigned round, std::mt19937& rng, std::string& fault) {
    rate_.set("4M");
    std::vector<round_job> jobs;
    for (const auto* agent : {"vma-a", "vma-b"}) {
      round_job j{replicating(agent), agent, "", {}};
      j.volume = job(j.id)["volume"].value("path", "");
      if (rng() % 10 < 7) {
        j.stop = {"stop", j.id};
        if (rng() % 4 == 0) j.stop.push_back("--force");
        if (rng() % 4 == 0) j.stop.push_back("--delete");
      }
      jobs.push_back(std::move(j));
    }
    static const char* hosts[] = {"oma", "vma-a", "vma-b"};
    const std::string host = hosts[rng() % 3];
    const auto cut_at = std::chrono::milliseconds(rng() % 3000);
    const auto cut_for = std::chrono::milliseconds(3000 + rng() % 37000);
    fault = host + " cut off for " + std::to_string(cut_for.count() / 1000) + " s";
    std::multimap<std::chrono::milliseconds, std::function<void()>> timeline;
    timeline.emplace(cut_at, [&] { net_->partition(host); });
    timeline.emplace(cut_at + cut_for, [&] { net_->heal(host); });
    for (const auto& j : jobs)
      if (!j.stop.empty())
        timeline.emplace(std::chrono::milliseconds(rng() % 4000), [&] { (void)ctl(j.stop, true); });
    const auto began = std::chrono::steady_clock::now();
    for (const auto& [at, step] : timeline) {
      std::this_thread::sleep_until(began + at);
      step();
    }

    std::vector<std::string> wrong;
    const auto say = [&](const round_job& j, const std::string& what) {
      wrong.push_back("round " + std::to_string(round) + " (" + fault + "), job " + j.id + " on " +
                      j.agent + ": " + what + "; record: " + job(j.id).dump());
    };
    for (const auto& j : jobs) {
      const auto settled = [&] {
        const auto r = job(j.id);
        const auto state = r.value("state", "");
        return state == "completed" || state == "cancelled" ||
               ((state == "stopped" || state == "failed") && r.value("resumable", false));
      };
      if (!eventually(settled, settle_bound)) {
        say(j, "neither completed, cancelled nor resumable after " +
                   std::to_string(settle_bound.count()) + " s");
        continue;
      }
      const auto state = state_of(j.id);
      if (state == "cancelled") {
        if (!j.delete_asked()) say(j, "cancelled without a delete");
        continue;
      }
      if (!std::filesystem::exists(j.volume)) say(j, "its volume is gone");
      if (state != "completed") {
        rate_.set("20G");
        if (ctl({"resume", j.id}, true).is_null()) {
          say(j, "a resume was refused");
          continue;
        }
      }
      if (!eventually([&] { return state_of(j.id) == "completed"; }, settle_bound)) {
        say(j, "did not complete after its resume");
        continue;
      }
      if (hash_file(j.volume) != source_hash_) say(j, "its volume differs from the source");
    }
    for (const auto& line : movers()) wrong.push_back("a mover still runs: " + line);
    return wrong;
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
    for (auto& w : run_round(r, plan.rng, fault)) wrong.push_back(std::move(w));
    std::printf("partition suite: round %u, %s: %s\n", r, fault.c_str(),
                wrong.empty() ? "nothing lost" : "violations so far");
  }
  for (const auto& w : wrong) ADD_FAILURE() << w;
  if (!wrong.empty())
    ADD_FAILURE() << "OMA log:\n"
                  << read_text(dir_ / "up.log") << "\nvma-a:\n"
                  << read_text(log_of("vma-a")) << "\nvma-b:\n"
                  << read_text(log_of("vma-b"));
}

}  // namespace
}  // namespace mk::test
