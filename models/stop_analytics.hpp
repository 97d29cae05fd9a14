#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace mk::actors {

/// Stop analytics (docs/operations.md, GET /analytics/stops) from the JobLog, the audit trail that
/// outlives deleted jobs. Entries go in one by one, in the order they were appended; memory
/// grows with the stops counted, not with the log.
///
/// - A stop is a `stop_requested` entry at or after `since` (its `ts`); its reason is in the
///   detail. Its outcome (the final state) and duration come from the `stop_settled` entry of
///   the same job and stop id; a stop not settled yet counts in `stops` and `by_reason` only.
/// - A force kill is a stop whose vma_process answered `killed` (SIGKILL: `force`, or the
///   grace ran out), counted once per stop however often it was confirmed.
/// - Durations are the settled entry's `duration_ms`; a stop that an OMA restart interrupted
///   (`stop_resumed`) measured only from the restart, so for it the times of the request and
///   of the settlement are used. Percentiles are nearest-rank: the value at rank
///   ceil(p / 100 * n) of the n durations in ascending order.
/// - `bytes_recopied` sums the `resumed_from_checkpoint` entries at or after `since`.
///
/// Entries of other kinds, malformed ones, and entries of stops requested before `since`
/// (or not read at all) are ignored.
class stop_analytics {
 public:
  /// `since_unix_ms`: only stops requested from then on; nullopt: all of them.
  explicit stop_analytics(std::optional<std::int64_t> since_unix_ms = std::nullopt);

  /// One JobLog entry (a JSON object, as job_record's journal_entry writes it).
  void add(const nlohmann::json& entry);
  /// The same from the stored text; text that is not JSON is ignored.
  void add(std::string_view text);

  /// The answer: {"since", "stops", "by_reason", "by_outcome", "force_kills", "duration_ms":
  /// {"p50","p95","max"} (nulls without a settled stop), "bytes_recopied"}.
  nlohmann::json result() const;

 private:
  struct stop {
    std::string reason;
    std::int64_t requested_at = 0;  ///< unix ms
    bool interrupted = false;       ///< an OMA restart came between request and settlement
    bool killed = false;
    std::optional<std::string> outcome;
    std::optional<std::int64_t> duration_ms;
  };

  /// The counted stop an entry belongs to, if any.
  stop* stop_of(const nlohmann::json& entry);

  std::optional<std::int64_t> since_;
  std::map<std::pair<std::string, std::string>, stop> stops_;  ///< by (job, stop id)
  std::uint64_t bytes_recopied_ = 0;
};

}  // namespace mk::actors
