#include "client/views.hpp"

#include <algorithm>

#include "client/render.hpp"
#include "messages/text.hpp"
#include "sys/units.hpp"

namespace mk::client {

using nlohmann::json;

namespace {

using pairs = std::vector<std::pair<std::string, std::string>>;

bool plain(const json& v) { return !v.is_object() && !v.is_array(); }

void flatten(const std::string& prefix, const json& value, pairs& out) {
  if (value.is_object()) {
    for (const auto& [key, member] : value.items())
      flatten(prefix.empty() ? key : prefix + "." + key, member, out);
    return;
  }
  if (value.is_array() && !std::all_of(value.begin(), value.end(), plain)) {
    for (std::size_t i = 0; i < value.size(); ++i)
      flatten(prefix + "[" + std::to_string(i) + "]", value[i], out);
    return;
  }
  out.emplace_back(prefix.empty() ? "value" : prefix, compact(value));
}

/// A plan participant's extras after its action: "pid 1234, then SIGKILL after 30 s"; a
/// `detail` speaks for itself.
std::string plan_extras(const json& step) {
  std::string out;
  if (!step.is_object()) return out;
  for (const auto& [key, value] : step.items()) {
    if (key == "action" || value.is_null()) continue;
    out += (out.empty() ? "" : ", ") + (key == "detail" ? "" : key + " ") + compact(value);
  }
  return out;
}

std::string target_text(const json& target) {
  if (!target.is_object()) return compact(target);
  if (target.contains("job")) return "job " + field_text(target, "job");
  if (target.contains("vma")) return "vma " + field_text(target, "vma");
  if (field(target, "all") == true) return "all";
  return compact(target);
}

}  // namespace

std::string compact(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  if (value.is_array() && std::all_of(value.begin(), value.end(), plain)) {
    std::string out;
    for (const auto& v : value) out += (out.empty() ? "" : ", ") + compact(v);
    return out;
  }
  if (!value.is_object()) return value.dump();
  std::string out;
  for (const auto& [key, member] : value.items())
    out +=
        (out.empty() ? "" : ", ") + key + "=" + (plain(member) ? compact(member) : member.dump());
  return out;
}

std::string key_values(const json& value) {
  pairs out;
  flatten("", value, out);
  return render_pairs(out);
}

std::string log_table(const json& log) {
  std::vector<table_row> rows;
  if (const auto& entries = field(log, "entries"); entries.is_array())
    for (const auto& e : entries)
      rows.push_back({field_text(e, "ts"), field_text(e, "event"), field_text(e, "actor"),
                      field_text(e, "state"), field_text(e, "stop_id"),
                      compact(field(e, "detail"))});
  return render_table({"TIME", "EVENT", "ACTOR", "STATE", "STOP", "DETAIL"}, rows);
}

std::string plan_text(const json& plan) {
  std::string head = "Dry run, nothing changed: " + field_text(plan, "job") + " (" +
                     field_text(plan, "state") + ") would end " + field_text(plan, "final_state");
  if (auto race = field_text(plan, "final_state_if_copy_finishes_first"); !race.empty())
    head += ", or " + race + " if its copy finishes first";
  pairs lines = {
      {"mode", field_text(plan, "mode")},
      {"volumes", field_text(plan, "volumes")},
      {"grace", field(plan, "grace_seconds").is_null()
                    ? ""
                    : format_duration(static_cast<double>(field_u64(plan, "grace_seconds")))},
      {"joins the stop", field_text(plan, "stop_in_progress")}};
  const auto& parts = field(plan, "participants");
  for (const auto& who : participant_order(parts)) {
    const auto& step = parts[who];
    auto text = step.is_object() ? field_text(step, "action") : compact(step);
    if (auto extras = plan_extras(step); !extras.empty()) text += " (" + extras + ")";
    lines.emplace_back("  " + who, text);
  }
  if (!field(plan, "bytes_kept").is_null())
    lines.emplace_back("kept", sys::human_bytes(field_u64(plan, "bytes_kept")) +
                                   " on the volume, not copied again by a resume");
  if (!field(plan, "bytes_to_copy_on_resume").is_null())
    lines.emplace_back("resume copies",
                       sys::human_bytes(field_u64(plan, "bytes_to_copy_on_resume")));
  return head + "\n" + render_pairs(lines);
}

std::string batch_text(const json& outcome) {
  std::string out;
  auto accepted = compact(field(outcome, "accepted"));
  out += "accepted: " + (accepted.empty() ? std::string("none") : accepted) + "\n";
  std::vector<table_row> rows;
  if (const auto& rejected = field(outcome, "rejected"); rejected.is_array())
    for (const auto& r : rejected) {
      const auto& error = field(r, "error");
      rows.push_back({"  " + field_text(r, "id"),
                      error.is_object()
                          ? field_text(error, "code") + ": " + field_text(error, "message")
                          : compact(error)});
    }
  if (!rows.empty()) out += "rejected:\n" + render_table({}, rows);
  return out;
}

std::string schedules_table(const json& answer) {
  const auto& schedules = field(answer, "schedules");
  if (!schedules.is_array()) return key_values(answer);
  std::vector<table_row> rows;
  for (const auto& s : schedules) {
    std::string what = field_text(s, "action"), when = field_text(s, "at"),
                status = field_text(s, "state");
    if (const auto& window = field(s, "window"); window.is_object()) {
      what = "window";
      when = "daily " + field_text(window, "from") + "-" + field_text(window, "to") + " UTC";
      const auto stopped = field(s, "stopped").is_array() ? field(s, "stopped").size() : 0;
      status = std::string(field(s, "open") == true ? "open" : "closed") + " until " +
               field_text(s, "next_change_at") +
               (stopped ? ", " + std::to_string(stopped) + " stopped" : "");
    } else if (field(s, "fired_at").is_string()) {
      status =
          "fired " + field_text(s, "fired_at") + ": " + field_text(field(s, "result"), "detail");
    }
    rows.push_back({field_text(s, "id"), what, target_text(field(s, "target")), when, status});
  }
  return render_table({"ID", "WHAT", "TARGET", "WHEN", "STATUS"}, rows);
}

std::string agents_table(const json& answer) {
  const auto& agents = field(answer, "agents");
  if (!agents.is_array()) return key_values(answer);
  std::vector<table_row> rows;
  for (const auto& a : agents) {
    std::string health = field(a, "online") == true ? "online" : "offline";
    if (field(a, "enrolled") != true) health += ", not enrolled";
    if (field(a, "builtin") == true) health += ", built-in";
    const auto& movers = field(a, "movers");
    rows.push_back({field_text(a, "id"), health, field_text(a, "last_hello"), field_text(a, "host"),
                    field_text(a, "version"), movers.is_number() ? movers.dump() : ""});
  }
  return render_table({"ID", "STATE", "LAST HELLO", "HOST", "VERSION", "MOVERS"}, rows);
}

}  // namespace mk::client
