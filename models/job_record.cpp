#include "models/job_record.hpp"

#include <chrono>

#include "messages/job_states.hpp"
#include "sys/rfc3339.hpp"

namespace mk::actors {

using nlohmann::json;

bool job_record::resumable() const { return msg::may_resume(state) && volume_kept; }

bool transition_allowed(msg::job_state from, msg::job_state to) {
  using enum msg::job_state;
  switch (to) {
    case starting:
      return from == queued;
    case replicating:
      return from == starting || from == replicating;
    case completed:
      // The mover exited 0 (a recovered `starting` job may find its copy done), or a stop
      // settled after the copy finished first.
      return from == starting || from == replicating || from == stopping;
    case failed:
      return from == starting || from == replicating || from == stopping;
    case stopping:
      return from == queued || from == starting || from == replicating || from == failed ||
             from == stopped;
    case stopped:
    case cancelled:
      return from == stopping;
    case queued:
      return from == stopped || from == failed;
  }
  return false;
}

std::string rfc3339(std::int64_t unix_ms) {
  return unix_ms <= 0 ? "" : sys::format_rfc3339(unix_ms);
}

std::optional<std::int64_t> parse_rfc3339(std::string_view text) {
  auto ms = sys::parse_rfc3339(text);
  if (!ms) return std::nullopt;
  return *ms;
}

namespace {

json or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

template <msg::wire_enum E>
json name(E e) {
  return std::string(msg::name_of(e));
}

json stop_json(const stop_record& s) {
  json parts = json::object();
  json details = json::object();
  for (std::size_t i = 0; i < s.outcomes.size(); ++i) {
    const auto who = std::string(msg::name_of(static_cast<msg::participant>(i)));
    parts[who] = s.outcomes[i] ? name(*s.outcomes[i]) : json("pending");
    if (!s.details[i].empty()) details[who] = s.details[i];
  }
  return {{"id", s.id},
          {"mode", name(s.mode)},
          {"volumes", name(s.volumes)},
          {"reason", name(s.reason)},
          {"comment", or_null(s.comment)},
          {"grace_seconds", s.grace_seconds},
          {"requested_by", s.requested_by},
          {"requested_at", rfc3339(s.requested_at)},
          {"settled_at", s.settled_at ? json(rfc3339(s.settled_at)) : json(nullptr)},
          {"participants", parts},
          {"details", details}};
}

// Reading back: each helper names the field it failed on.
struct reader {
  const json& j;
  std::string where;

  template <class T>
  expected<T, std::string> get(const char* key) const {
    auto it = j.find(key);
    if (it == j.end()) return unexpected(where + key + ": missing");
    try {
      return it->template get<T>();
    } catch (const json::exception&) {
      return unexpected(where + key + ": wrong type");
    }
  }

  expected<std::string, std::string> text(const char* key) const {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::string();
    if (!it->is_string()) return unexpected(where + key + ": expected a string");
    return it->get<std::string>();
  }

  expected<std::int64_t, std::string> time(const char* key) const {
    auto t = text(key);
    if (!t) return unexpected(t.error());
    if (t->empty()) return std::int64_t{0};  // never happened
    auto ms = parse_rfc3339(*t);
    if (!ms) return unexpected(where + key + ": not an RFC 3339 time");
    return *ms;
  }

  template <msg::wire_enum E>
  expected<E, std::string> enumeration(const char* key) const {
    auto t = text(key);
    if (!t) return unexpected(t.error());
    auto e = msg::parse_enum<E>(*t);
    if (!e) return unexpected(where + key + ": unknown value '" + *t + "'");
    return *e;
  }
};

// Stores a field read into its member, or says which field failed.
template <class T, class U>
std::optional<std::string> assign(T& target, expected<U, std::string> value) {
  if (!value) return value.error();
  target = std::move(*value);
  return std::nullopt;
}

#define MK_TRY(target, expr) \
  if (auto err_ = assign((target), (expr))) return unexpected(std::move(*err_))

expected<stop_record, std::string> stop_from(const json& j) {
  reader r{j, "stop."};
  stop_record s;
  MK_TRY(s.id, r.text("id"));
  MK_TRY(s.mode, r.enumeration<msg::stop_mode>("mode"));
  MK_TRY(s.volumes, r.enumeration<msg::volume_action>("volumes"));
  MK_TRY(s.reason, r.enumeration<msg::stop_reason>("reason"));
  MK_TRY(s.comment, r.text("comment"));
  MK_TRY(s.grace_seconds, r.get<std::uint32_t>("grace_seconds"));
  MK_TRY(s.requested_by, r.text("requested_by"));
  MK_TRY(s.requested_at, r.time("requested_at"));
  MK_TRY(s.settled_at, r.time("settled_at"));
  const auto parts = j.find("participants");
  const auto details = j.find("details");
  for (std::size_t i = 0; i < s.outcomes.size(); ++i) {
    const auto who = std::string(msg::name_of(static_cast<msg::participant>(i)));
    if (parts != j.end() && parts->is_object() && parts->contains(who) && (*parts)[who].is_string())
      s.outcomes[i] = msg::parse_enum<msg::outcome>((*parts)[who].get<std::string>());
    if (details != j.end() && details->is_object() && details->contains(who) &&
        (*details)[who].is_string())
      s.details[i] = (*details)[who].get<std::string>();
  }
  return s;
}

}  // namespace

json to_json(const job_record& job, const json& volume) {
  json vol = volume;
  if (vol.is_null() && !job.volume_id.empty()) vol = {{"id", job.volume_id}, {"size", job.size}};
  json progress = nullptr;
  if (job.progress.updated_at)
    progress = {{"bytes_done", job.progress.bytes_done},
                {"bytes_total", job.progress.bytes_total},
                {"bytes_skipped", job.progress.bytes_skipped},
                {"rate_bps", job.progress.rate_bps},
                {"updated_at", rfc3339(job.progress.updated_at)}};
  return {{"id", job.id},
          {"name", job.name},
          {"state", name(job.state)},
          {"source", job.source},
          {"vma", job.vma},
          {"resumable", job.resumable()},
          {"error", or_null(job.error)},
          {"volume", vol},
          {"progress", progress},
          {"stop", job.stop ? stop_json(*job.stop) : json(nullptr)},
          {"stalled", job.stalled},
          {"created_at", rfc3339(job.created_at)},
          {"updated_at", rfc3339(job.updated_at)},
          // What the control plane needs after a restart; not part of the API's contract.
          {"internal",
           {{"volume_id", job.volume_id},
            {"target", job.target},
            {"size", job.size},
            {"volume_kept", job.volume_kept},
            {"mover_unconfirmed", job.mover_unconfirmed},
            {"mover_pid", job.mover_pid},
            {"runs", job.runs},
            {"delete_requested", job.delete_requested},
            {"bytes_done_at_resume",
             job.bytes_done_at_resume ? json(*job.bytes_done_at_resume) : json(nullptr)}}}};
}

json journal_entry(const job_record& job, std::string_view event, std::string_view actor,
                   json detail) {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  json entry = {{"ts", rfc3339(now)}, {"event", event},           {"actor", actor},
                {"job", job.id},      {"state", name(job.state)}, {"detail", std::move(detail)}};
  if (job.stop) entry["stop_id"] = job.stop->id;
  return entry;
}

expected<job_record, std::string> job_from_json(std::string_view text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return unexpected(std::string("not JSON: ") + e.what());
  }
  if (!j.is_object()) return unexpected(std::string("not a JSON object"));
  reader r{j, ""};
  job_record job;
  MK_TRY(job.id, r.text("id"));
  MK_TRY(job.name, r.text("name"));
  MK_TRY(job.state, r.enumeration<msg::job_state>("state"));
  MK_TRY(job.source, r.text("source"));
  MK_TRY(job.vma, r.text("vma"));
  MK_TRY(job.error, r.text("error"));
  MK_TRY(job.stalled, r.get<bool>("stalled"));
  MK_TRY(job.created_at, r.time("created_at"));
  MK_TRY(job.updated_at, r.time("updated_at"));
  if (auto p = j.find("progress"); p != j.end() && p->is_object()) {
    reader pr{*p, "progress."};
    MK_TRY(job.progress.bytes_done, pr.get<std::uint64_t>("bytes_done"));
    MK_TRY(job.progress.bytes_total, pr.get<std::uint64_t>("bytes_total"));
    MK_TRY(job.progress.bytes_skipped, pr.get<std::uint64_t>("bytes_skipped"));
    MK_TRY(job.progress.rate_bps, pr.get<std::uint64_t>("rate_bps"));
    MK_TRY(job.progress.updated_at, pr.time("updated_at"));
  }
  if (auto s = j.find("stop"); s != j.end() && s->is_object()) {
    auto stop = stop_from(*s);
    if (!stop) return unexpected(stop.error());
    job.stop = std::move(*stop);
  }
  auto in = j.find("internal");
  if (in == j.end() || !in->is_object()) return unexpected(std::string("internal: missing"));
  reader ir{*in, "internal."};
  MK_TRY(job.volume_id, ir.text("volume_id"));
  MK_TRY(job.target, ir.text("target"));
  MK_TRY(job.size, ir.get<std::uint64_t>("size"));
  MK_TRY(job.volume_kept, ir.get<bool>("volume_kept"));
  MK_TRY(job.mover_pid, ir.get<std::int64_t>("mover_pid"));
  MK_TRY(job.runs, ir.get<std::uint32_t>("runs"));
  // Records written before DELETE existed have no flag: nothing was asked.
  if (in->contains("delete_requested"))
    MK_TRY(job.delete_requested, ir.get<bool>("delete_requested"));
  // Nor an unconfirmed mover end (before partitions were handled, none was awaited).
  if (in->contains("mover_unconfirmed"))
    MK_TRY(job.mover_unconfirmed, ir.get<bool>("mover_unconfirmed"));
  // Nor a resume waiting for its first progress: null, or missing, is none.
  if (auto b = in->find("bytes_done_at_resume"); b != in->end() && !b->is_null())
    MK_TRY(job.bytes_done_at_resume, ir.get<std::uint64_t>("bytes_done_at_resume"));
  return job;
}

#undef MK_TRY

}  // namespace mk::actors
