// Stop analytics from a scripted JobLog whose answer is known: counts by reason and outcome,
// force kills, nearest-rank durations, bytes copied again, and the `since` window.
#include "models/stop_analytics.hpp"

#include <gtest/gtest.h>

#include "models/job_record.hpp"
#include "oma/job_store.hpp"

namespace mk::actors {
namespace {

using nlohmann::json;

constexpr std::int64_t t0 = 1795910400000;  // 2026-11-29T00:00:00Z

/// A JobLog entry as the job actor writes it, `ms` after t0.
json entry(std::int64_t ms, const std::string& event, const std::string& job,
           const std::string& stop_id, json detail = json::object()) {
  json e = {{"ts", rfc3339(t0 + ms)}, {"event", event},
            {"actor", "job"},         {"job", job},
            {"state", "stopping"},    {"detail", std::move(detail)}};
  if (!stop_id.empty()) e["stop_id"] = stop_id;
  return e;
}

json requested(std::int64_t ms, const std::string& job, const std::string& stop,
               const std::string& reason) {
  return entry(ms, "stop_requested", job, stop, {{"reason", reason}, {"mode", "graceful"}});
}

json vma_answer(std::int64_t ms, const std::string& job, const std::string& stop,
                const std::string& outcome) {
  return entry(ms, "participant_confirmed", job, stop,
               {{"participant", "vma_process"}, {"outcome", outcome}});
}

json settled(std::int64_t ms, const std::string& job, const std::string& stop,
             const std::string& final_state, std::int64_t duration_ms) {
  return entry(ms, "stop_settled", job, stop,
               {{"final_state", final_state}, {"duration_ms", duration_ms}});
}

json recopied(std::int64_t ms, const std::string& job, std::uint64_t bytes) {
  return entry(ms, "resumed_from_checkpoint", job, "",
               {{"bytes_done_before", 1000 + bytes},
                {"bytes_from_checkpoint", 1000},
                {"bytes_recopied", bytes}});
}

/// Six jobs' stops, interleaved as a shared log interleaves them.
std::vector<json> scripted_log() {
  return {
      entry(0, "created", "r-1", ""),
      requested(1000, "r-1", "s-1", "user"),  // graceful, volume kept
      requested(1500, "r-2", "s-2", "user"),  // force
      vma_answer(1600, "r-2", "s-2", "killed"),
      vma_answer(2000, "r-1", "s-1", "exited"),
      settled(1800, "r-2", "s-2", "stopped", 300),
      settled(2200, "r-1", "s-1", "stopped", 1200),
      settled(2300, "r-1", "s-1", "stopped", 9999),  // a repeat: the first one counts
      settled(2400, "r-9", "s-9", "stopped", 7),     // a stop never requested in the log
      // A maintenance stop whose mover outlived its grace, interrupted by an OMA restart: its
      // answers come twice, and its duration runs from the request, not from the restart.
      requested(10000, "r-3", "s-3", "maintenance"),
      vma_answer(40000, "r-3", "s-3", "killed"),
      entry(50000, "stop_resumed", "r-3", "s-3"),
      vma_answer(51000, "r-3", "s-3", "killed"),
      settled(70000, "r-3", "s-3", "cancelled", 2000),
      recopied(71000, "r-1", 4096),
      requested(80000, "r-4", "s-4", "schedule"),  // the copy completes first
      settled(80800, "r-4", "s-4", "completed", 800),
      requested(90000, "r-5", "s-5", "batch"),
      settled(135000, "r-5", "s-5", "failed", 45000),
      requested(140000, "r-6", "s-6", "shutdown"),  // still stopping
      // The same stop id on another job is another stop.
      requested(150000, "r-7", "s-1", "user"),
      settled(150100, "r-7", "s-1", "stopped", 100),
      recopied(160000, "r-4", 512),
      recopied(161000, "r-5", 0),
  };
}

json analyse(const std::vector<json>& log, std::optional<std::int64_t> since = std::nullopt) {
  stop_analytics a(since);
  for (const auto& e : log) a.add(e);
  return a.result();
}

TEST(StopAnalytics, CountsAScriptedLogByReasonOutcomeKillsDurationsAndRecopies) {
  const auto r = analyse(scripted_log());
  EXPECT_TRUE(r["since"].is_null());
  EXPECT_EQ(r["stops"], 7);
  EXPECT_EQ(r["by_reason"], (json{{"user", 3},
                                  {"schedule", 1},
                                  {"maintenance", 1},
                                  {"batch", 1},
                                  {"shutdown", 1},
                                  {"bus", 0}}));
  EXPECT_EQ(r["by_outcome"],
            (json{{"stopped", 3}, {"cancelled", 1}, {"failed", 1}, {"completed", 1}}));
  EXPECT_EQ(r["force_kills"], 2);
  // Settled durations, ascending: 100 300 800 1200 45000 60000 (s-3: 10 s to 70 s).
  EXPECT_EQ(r["duration_ms"], (json{{"p50", 800}, {"p95", 60000}, {"max", 60000}}));
  EXPECT_EQ(r["bytes_recopied"], 4608);
}

TEST(StopAnalytics, SinceCountsOnlyStopsRequestedFromThenOn) {
  const auto r = analyse(scripted_log(), t0 + 80000);
  EXPECT_EQ(r["since"], "2026-11-29T00:01:20.000Z");
  EXPECT_EQ(r["stops"], 4);  // s-4, s-5, s-6 and r-7's s-1
  EXPECT_EQ(r["by_reason"]["user"], 1);
  EXPECT_EQ(r["by_reason"]["maintenance"], 0);
  EXPECT_EQ(r["by_outcome"],
            (json{{"stopped", 1}, {"cancelled", 0}, {"failed", 1}, {"completed", 1}}));
  EXPECT_EQ(r["force_kills"], 0);
  EXPECT_EQ(r["duration_ms"], (json{{"p50", 800}, {"p95", 45000}, {"max", 45000}}));
  EXPECT_EQ(r["bytes_recopied"], 512) << "r-1's recopy came before `since`";

  const auto later = analyse(scripted_log(), t0 + 3'600'000);
  EXPECT_EQ(later["stops"], 0);
  EXPECT_EQ(later["by_outcome"]["stopped"], 0);
  EXPECT_EQ(later["force_kills"], 0);
  EXPECT_EQ(later["duration_ms"], (json{{"p50", nullptr}, {"p95", nullptr}, {"max", nullptr}}));
  EXPECT_EQ(later["bytes_recopied"], 0);
}

TEST(StopAnalytics, PercentilesAreNearestRank) {
  std::vector<json> log;
  // Twenty stops of 10, 20, ... 200 ms, settled in reverse order.
  for (int i = 1; i <= 20; ++i)
    log.push_back(requested(i, "r-" + std::to_string(i), "s-1", "user"));
  for (int i = 20; i >= 1; --i)
    log.push_back(settled(100 + i, "r-" + std::to_string(i), "s-1", "stopped", 10 * i));
  const auto r = analyse(log);
  EXPECT_EQ(r["duration_ms"], (json{{"p50", 100}, {"p95", 190}, {"max", 200}}));
  // Seven: ranks ceil(3.5) = 4 and ceil(6.65) = 7, rounded up, never down.
  log.resize(7);
  for (int i = 1; i <= 7; ++i)
    log.push_back(settled(100 + i, "r-" + std::to_string(i), "s-1", "stopped", 10 * i));
  EXPECT_EQ(analyse(log)["duration_ms"], (json{{"p50", 40}, {"p95", 70}, {"max", 70}}));
  // One stop is its own every percentile.
  const auto one =
      analyse({requested(0, "r-1", "s-1", "user"), settled(5, "r-1", "s-1", "stopped", 42)});
  EXPECT_EQ(one["duration_ms"], (json{{"p50", 42}, {"p95", 42}, {"max", 42}}));
}

TEST(StopAnalytics, NothingInTheLogAndMalformedEntriesGiveZerosAndNulls) {
  stop_analytics a;
  a.add(std::string_view("not json"));
  a.add(std::string_view("[1,2]"));
  a.add(json{{"event", "stop_requested"}});  // no job, no stop id
  const auto r = a.result();
  EXPECT_EQ(r["stops"], 0);
  EXPECT_EQ(r["by_reason"]["user"], 0);
  EXPECT_EQ(r["by_outcome"]["completed"], 0);
  EXPECT_TRUE(r["duration_ms"]["p50"].is_null());
  EXPECT_EQ(r["bytes_recopied"], 0);
  for (const auto* key : {"since", "stops", "by_reason", "by_outcome", "force_kills", "duration_ms",
                          "bytes_recopied"})
    EXPECT_TRUE(r.contains(key)) << key;
  EXPECT_EQ(r.size(), 7u);
}

TEST(StopAnalytics, ReadsTheStoredTextOfEveryJobInTheOrderAppended) {
  memory_job_store store;
  for (const auto& e : scripted_log())
    ASSERT_TRUE(store.append_log(e["job"].get<std::string>(), e.dump()));
  ASSERT_TRUE(store.erase("r-1"));  // the log outlives the record
  stop_analytics a;
  std::size_t seen = 0;
  ASSERT_TRUE(store.read_all_logs(0, [&](std::string_view text) {
    ++seen;
    a.add(text);
  }));
  EXPECT_EQ(seen, scripted_log().size());
  EXPECT_EQ(a.result(), analyse(scripted_log()));
}

// What the parser reads and refuses is tested with it (tests/sys/rfc3339_test.cpp); the job
// record's names for it keep 0 as "no time" and nullopt for text that is not one.
TEST(Rfc3339, JobRecordTimesAreTheSystemOnesWithZeroForNone) {
  EXPECT_EQ(rfc3339(0), "");
  EXPECT_EQ(rfc3339(t0 + 250), "2026-11-29T00:00:00.250Z");
  EXPECT_EQ(parse_rfc3339("2026-11-29T02:30:00+02:30"), t0);
  EXPECT_EQ(parse_rfc3339(rfc3339(t0 + 86'399'999)), t0 + 86'399'999);
  EXPECT_EQ(parse_rfc3339("2026-11-29T00:00:00Zjunk"), std::nullopt);
}

}  // namespace
}  // namespace mk::actors
