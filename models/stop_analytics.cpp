#include "models/stop_analytics.hpp"

#include <algorithm>
#include <vector>

#include "messages/enums.hpp"
#include "models/job_record.hpp"

namespace mk::actors {

using nlohmann::json;

namespace {

/// A string member of an object; empty when it is missing or not a string.
std::string_view string_in(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? std::string_view(it->get_ref<const std::string&>())
                                          : std::string_view();
}

const json& detail_of(const json& entry) {
  static const json none = json::object();
  auto it = entry.find("detail");
  return it != entry.end() && it->is_object() ? *it : none;
}

/// The value at nearest rank ceil(p / 100 * n) of `sorted` (ascending, not empty).
std::int64_t nearest_rank(const std::vector<std::int64_t>& sorted, std::size_t p) {
  const auto rank = std::max<std::size_t>(1, (p * sorted.size() + 99) / 100);
  return sorted[rank - 1];
}

/// Every name of an enumeration as a key with a zero: a client sees each one, counted or not.
template <msg::wire_enum E>
json zero_counts() {
  json out = json::object();
  for (auto name : msg::enum_names<E>::names) out[std::string(name)] = 0;
  return out;
}

}  // namespace

stop_analytics::stop_analytics(std::optional<std::int64_t> since_unix_ms) : since_(since_unix_ms) {}

stop_analytics::stop* stop_analytics::stop_of(const json& entry) {
  auto it =
      stops_.find({std::string(string_in(entry, "job")), std::string(string_in(entry, "stop_id"))});
  return it == stops_.end() ? nullptr : &it->second;
}

void stop_analytics::add(std::string_view text) {
  auto entry = json::parse(text, nullptr, false);
  if (!entry.is_discarded()) add(entry);
}

void stop_analytics::add(const json& entry) {
  if (!entry.is_object()) return;
  const auto event = string_in(entry, "event");
  const auto& detail = detail_of(entry);
  const auto ts = parse_rfc3339(string_in(entry, "ts"));
  const bool in_window = !since_ || (ts && *ts >= *since_);

  if (event == "stop_requested") {
    const auto job = string_in(entry, "job"), id = string_in(entry, "stop_id");
    if (!in_window || job.empty() || id.empty()) return;
    stop s;
    s.reason = string_in(detail, "reason");
    s.requested_at = ts.value_or(0);
    stops_.try_emplace({std::string(job), std::string(id)}, std::move(s));
  } else if (event == "participant_confirmed") {
    auto* s = stop_of(entry);
    if (s && string_in(detail, "participant") == "vma_process" &&
        string_in(detail, "outcome") == "killed")
      s->killed = true;
  } else if (event == "stop_resumed") {
    if (auto* s = stop_of(entry)) s->interrupted = true;
  } else if (event == "stop_settled") {
    auto* s = stop_of(entry);
    if (!s || s->outcome) return;  // not counted, or settled already
    s->outcome = std::string(string_in(detail, "final_state"));
    auto d = detail.find("duration_ms");
    if (s->interrupted && ts && s->requested_at && *ts >= s->requested_at)
      s->duration_ms = *ts - s->requested_at;
    else if (d != detail.end() && d->is_number_integer() && d->get<std::int64_t>() >= 0)
      s->duration_ms = d->get<std::int64_t>();
  } else if (event == "resumed_from_checkpoint") {
    auto n = detail.find("bytes_recopied");
    if (in_window && n != detail.end() && n->is_number_integer() &&
        (n->is_number_unsigned() || n->get<std::int64_t>() >= 0))
      bytes_recopied_ += n->get<std::uint64_t>();
  }
}

json stop_analytics::result() const {
  json by_reason = zero_counts<msg::stop_reason>();
  json by_outcome = json::object();
  for (const auto* state : {"stopped", "cancelled", "failed", "completed"}) by_outcome[state] = 0;
  std::uint64_t force_kills = 0;
  std::vector<std::int64_t> durations;
  for (const auto& [key, s] : stops_) {
    // A reason or final state that this build does not know still counts, under its name.
    auto& r = by_reason[s.reason.empty() ? std::string("unknown") : s.reason];
    r = r.is_number() ? r.get<std::uint64_t>() + 1 : 1;
    if (s.outcome) {
      auto& o = by_outcome[s.outcome->empty() ? std::string("unknown") : *s.outcome];
      o = o.is_number() ? o.get<std::uint64_t>() + 1 : 1;
    }
    if (s.duration_ms) durations.push_back(*s.duration_ms);
    force_kills += s.killed ? 1 : 0;
  }
  std::sort(durations.begin(), durations.end());
  json duration = {{"p50", nullptr}, {"p95", nullptr}, {"max", nullptr}};
  if (!durations.empty())
    duration = {{"p50", nearest_rank(durations, 50)},
                {"p95", nearest_rank(durations, 95)},
                {"max", durations.back()}};
  json since = nullptr;
  // The JobLog begins after 1970: an earlier `since` takes all of it, as the epoch does.
  if (since_) since = *since_ > 0 ? rfc3339(*since_) : std::string("1970-01-01T00:00:00.000Z");
  return {{"since", since},
          {"stops", stops_.size()},
          {"by_reason", by_reason},
          {"by_outcome", by_outcome},
          {"force_kills", force_kills},
          {"duration_ms", duration},
          {"bytes_recopied", bytes_recopied_}};
}

}  // namespace mk::actors
