#include "api/metrics.hpp"

#include <fmt/format.h>

#include <chrono>

#include "api/job_view.hpp"
#include "sys/rfc3339.hpp"

namespace mk::api {

using nlohmann::json;

namespace {

std::uint64_t bytes_done(const json& job) {
  if (!job.is_object()) return 0;
  auto p = job.find("progress");
  return p != job.end() && p->is_object() ? p->value("bytes_done", std::uint64_t{0}) : 0;
}

/// Milliseconds of an RFC 3339 time; nullopt if it is not one.
std::optional<std::int64_t> unix_ms(const std::string& t) {
  auto ms = sys::parse_rfc3339(t);
  return ms ? std::optional(*ms) : std::nullopt;
}

/// A label value in the exposition format: backslash, quote and newline escaped.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    out += c == '\n' ? 'n' : c;
  }
  return out;
}

}  // namespace

void metrics::observe(const json& before, const json& after) {
  std::lock_guard lock(mutex_);
  // Bytes a mover wrote since the job was last seen; a resume carries on from the checkpoint,
  // so the figure never goes back, and a first sighting (after an OMA restart) counts nothing.
  const auto was = bytes_done(before), now = bytes_done(after);
  if (before.is_object() && now > was) bytes_copied_ += now - was;

  auto s = after.find("stop");
  if (s == after.end() || !s->is_object() || !(*s)["settled_at"].is_string()) return;
  const auto stop_id = text_of(*s, "id");
  const auto state = text_of(after, "state");
  if (stop_id.empty() || state == "stopping" || !settled_.insert(stop_id).second) return;
  // Seen settled for the first time in this process: one stop, counted once.
  ++stops_[{text_of(*s, "reason"), state}];
  const auto from = unix_ms(text_of(*s, "requested_at")), to = unix_ms(text_of(*s, "settled_at"));
  if (from && to && *to >= *from) {
    const double seconds = static_cast<double>(*to - *from) / 1000.0;
    for (std::size_t i = 0; i < buckets.size(); ++i)
      if (seconds <= buckets[i]) ++duration_buckets_[i];
    ++duration_count_;
    duration_sum_ += seconds;
  }
  auto parts = s->find("participants");
  if (parts != s->end() && parts->is_object() && text_of(*parts, "vma_process") == "killed")
    ++force_kills_;
}

void metrics::observe_log(const json& entry) {
  if (!entry.is_object() || text_of(entry, "event") != "resumed_from_checkpoint") return;
  auto d = entry.find("detail");
  if (d == entry.end() || !d->is_object()) return;
  auto n = d->find("bytes_recopied");
  if (n == d->end() || !n->is_number_integer() ||
      (!n->is_number_unsigned() && n->get<std::int64_t>() < 0))
    return;
  std::lock_guard lock(mutex_);
  bytes_recopied_ += n->get<std::uint64_t>();
}

std::string metrics::render(const std::map<std::string, std::size_t>& jobs_by_state,
                            std::uint64_t dropped_malformed, std::uint64_t dropped_slow) const {
  std::lock_guard lock(mutex_);
  std::string out;
  auto add = [&out](std::string_view line) {
    out += line;
    out += '\n';
  };
  add("# HELP migratekit_jobs Replication jobs by state.");
  add("# TYPE migratekit_jobs gauge");
  for (const auto* state : {"queued", "starting", "replicating", "stopping", "stopped", "cancelled",
                            "failed", "completed"}) {
    auto it = jobs_by_state.find(state);
    add(fmt::format("migratekit_jobs{{state=\"{}\"}} {}", state,
                    it == jobs_by_state.end() ? 0 : it->second));
  }
  add("# HELP migratekit_stops_total Stops settled, by reason and by the job's final state.");
  add("# TYPE migratekit_stops_total counter");
  for (const auto& [key, n] : stops_)
    add(fmt::format("migratekit_stops_total{{reason=\"{}\",outcome=\"{}\"}} {}", label(key.first),
                    label(key.second), n));
  add("# HELP migratekit_stop_duration_seconds From the stop request to the settled state.");
  add("# TYPE migratekit_stop_duration_seconds histogram");
  for (std::size_t i = 0; i < buckets.size(); ++i)
    add(fmt::format("migratekit_stop_duration_seconds_bucket{{le=\"{}\"}} {}", buckets[i],
                    duration_buckets_[i]));
  add(fmt::format("migratekit_stop_duration_seconds_bucket{{le=\"+Inf\"}} {}", duration_count_));
  add(fmt::format("migratekit_stop_duration_seconds_sum {}", duration_sum_));
  add(fmt::format("migratekit_stop_duration_seconds_count {}", duration_count_));
  add("# HELP migratekit_force_kills_total Movers ended with SIGKILL (force, or the grace ran "
      "out).");
  add("# TYPE migratekit_force_kills_total counter");
  add(fmt::format("migratekit_force_kills_total {}", force_kills_));
  add("# HELP migratekit_bytes_copied_total Bytes the movers reported written.");
  add("# TYPE migratekit_bytes_copied_total counter");
  add(fmt::format("migratekit_bytes_copied_total {}", bytes_copied_));
  add("# HELP migratekit_bytes_recopied_total Bytes resumed runs copied again: reported done "
      "before the stop, but not in the checkpoint.");
  add("# TYPE migratekit_bytes_recopied_total counter");
  add(fmt::format("migratekit_bytes_recopied_total {}", bytes_recopied_));
  add("# HELP migratekit_bus_messages_dropped_total Bus messages dropped: malformed, or a "
      "subscriber that fell behind.");
  add("# TYPE migratekit_bus_messages_dropped_total counter");
  add(fmt::format("migratekit_bus_messages_dropped_total{{reason=\"malformed\"}} {}",
                  dropped_malformed));
  add(fmt::format("migratekit_bus_messages_dropped_total{{reason=\"slow_consumer\"}} {}",
                  dropped_slow));
  return out;
}

}  // namespace mk::api
