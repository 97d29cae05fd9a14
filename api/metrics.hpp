#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>

namespace mk::api {

/// Figures for GET /metrics, counted from the job changes the OMA makes: stops by reason and
/// outcome, their durations, force kills, bytes copied (and copied again after resumes).
/// Counters start at zero with the process, as Prometheus expects of counters. Thread-safe.
class metrics {
 public:
  /// A job went from `before` (null: first seen) to `after` (stored objects).
  void observe(const nlohmann::json& before, const nlohmann::json& after);
  /// A JobLog entry a job wrote: a resumed run's bytes copied again are counted from it.
  void observe_log(const nlohmann::json& entry);
  /// The Prometheus text exposition, with the gauges given by the caller.
  std::string render(const std::map<std::string, std::size_t>& jobs_by_state,
                     std::uint64_t dropped_malformed, std::uint64_t dropped_slow) const;

  /// Upper bounds (seconds) of the stop duration histogram's buckets.
  static constexpr std::array<double, 10> buckets{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> stops_;  // (reason, outcome)
  std::set<std::string> settled_;                                       // stop ids counted
  std::array<std::uint64_t, buckets.size()> duration_buckets_{};
  std::uint64_t duration_count_ = 0;
  double duration_sum_ = 0;
  std::uint64_t force_kills_ = 0;
  std::uint64_t bytes_copied_ = 0;
  std::uint64_t bytes_recopied_ = 0;
};

}  // namespace mk::api
