#include "models/schedule.hpp"

#include <fmt/format.h>

#include "config/defaults.hpp"
#include "messages/subjects.hpp"
#include "models/job_record.hpp"

namespace mk::actors {

std::string_view name_of(trigger_action a) {
  switch (a) {
    case trigger_action::start:
      return "start";
    case trigger_action::stop:
      return "stop";
    case trigger_action::resume:
      return "resume";
  }
  return "?";
}

using nlohmann::json;

namespace {

constexpr std::int64_t day_ms = 24 * 3600 * 1000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - (a % b < 0 ? 1 : 0); }

std::int32_t second_of_day(std::int64_t unix_ms) {
  return static_cast<std::int32_t>((unix_ms - floor_div(unix_ms, day_ms) * day_ms) / 1000);
}

std::string clock_text(std::int32_t s) {
  return s % 60 ? fmt::format("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
                : fmt::format("{:02}:{:02}", s / 3600, s / 60 % 60);
}

/// "HH:MM" or "HH:MM:SS", 00:00 to 23:59:59.
std::optional<std::int32_t> parse_clock(const std::string& t) {
  if (t.size() != 5 && t.size() != 8) return std::nullopt;
  int parts[3] = {0, 0, 0};
  for (std::size_t i = 0, n = 0; i < t.size(); i += 3, ++n) {
    if (i > 0 && t[i - 1] != ':') return std::nullopt;
    if (t[i] < '0' || t[i] > '9' || t[i + 1] < '0' || t[i + 1] > '9') return std::nullopt;
    parts[n] = (t[i] - '0') * 10 + (t[i + 1] - '0');
  }
  if (parts[0] > 23 || parts[1] > 59 || parts[2] > 59) return std::nullopt;
  return parts[0] * 3600 + parts[1] * 60 + parts[2];
}

expected<schedule_target, std::string> target_from(const json& body) {
  auto t = body.find("target");
  if (t == body.end() || !t->is_object() || t->size() != 1)
    return unexpected(
        std::string(R"(target: one of {"job":ID}, {"vma":ID} or {"all":true} expected)"));
  schedule_target out;
  const std::string key = t->begin().key();
  const json& value = t->begin().value();
  if (key == "all") {
    if (value != json(true)) return unexpected(std::string("target.all: true expected"));
    return out;
  }
  if (key != "job" && key != "vma")
    return unexpected("target: unknown field \"" + key.substr(0, 40) +
                      "\" (job, vma or all expected)");
  if (!value.is_string() || !msg::valid_id(value.get<std::string>()))
    return unexpected("target." + key + ": an id matching ^[a-z0-9][a-z0-9-]{0,62}$ expected");
  out.k = key == "job" ? schedule_target::kind::job : schedule_target::kind::vma;
  out.id = value.get<std::string>();
  return out;
}

expected<std::int32_t, std::string> clock_field(const json& window, const char* key) {
  auto v = window.find(key);
  std::optional<std::int32_t> s;
  if (v != window.end() && v->is_string()) s = parse_clock(v->get<std::string>());
  if (!s)
    return unexpected("window." + std::string(key) +
                      ": a UTC time of day HH:MM or HH:MM:SS expected (22:00)");
  return *s;
}

expected<schedule, std::string> window_from(const json& body, schedule_target target) {
  const auto& w = body["window"];
  if (!w.is_object())
    return unexpected(std::string(R"(window: {"from":"HH:MM","to":"HH:MM"} expected)"));
  for (const auto& [key, _] : w.items())
    if (key != "from" && key != "to")
      return unexpected("window: unknown field \"" + key.substr(0, 40) + "\"");
  auto from = clock_field(w, "from");
  if (!from) return unexpected(from.error());
  auto to = clock_field(w, "to");
  if (!to) return unexpected(to.error());
  if (*from == *to) return unexpected(std::string("window: from and to must differ"));
  if (body.contains("action") || body.contains("at"))
    return unexpected(std::string("window: a window takes no action or at"));
  schedule s;
  s.is_window = true;
  s.target = std::move(target);
  s.window = {*from, *to};
  return s;
}

expected<schedule, std::string> once_from(const json& body, schedule_target target,
                                          std::int64_t now_ms) {
  auto action = body.find("action");
  if (action == body.end() || !action->is_string() ||
      (*action != "stop" && *action != "resume" && *action != "maintenance_on" &&
       *action != "maintenance_off"))
    return unexpected(std::string(
        "action: stop, resume, maintenance_on or maintenance_off expected (or a window)"));
  schedule s;
  s.action = action->get<std::string>();
  if (s.action.starts_with("maintenance") && target.k == schedule_target::kind::job)
    return unexpected(
        std::string(R"(target: maintenance covers {"all":true} or {"vma":ID}, not one job)"));
  auto at = body.find("at");
  std::optional<std::int64_t> at_ms;
  if (at != body.end() && at->is_string()) at_ms = parse_rfc3339(at->get<std::string>());
  if (!at_ms)
    return unexpected(std::string("at: an RFC 3339 time expected (2026-11-28T22:00:00Z)"));
  if (*at_ms <= now_ms)
    return unexpected("at: in the past (the OMA's time is " + rfc3339(now_ms) + ")");
  if (*at_ms - now_ms > std::chrono::milliseconds(defaults::schedules::max_ahead).count())
    return unexpected(std::string("at: more than 10 years ahead"));
  s.at_ms = *at_ms;
  s.target = std::move(target);
  return s;
}

std::vector<std::string> strings(const json& j, const char* key) {
  return j.at(key).get<std::vector<std::string>>();
}

}  // namespace

bool schedule_target::covers(const std::string& job, const std::string& vma) const {
  switch (k) {
    case kind::job:
      return job == id;
    case kind::vma:
      return vma == id;
    case kind::all:
      break;
  }
  return true;
}

std::string schedule_target::scope() const { return k == kind::vma ? "vma:" + id : "all"; }

std::string schedule_target::text() const {
  switch (k) {
    case kind::job:
      return "job " + id;
    case kind::vma:
      return "agent " + id;
    case kind::all:
      break;
  }
  return "every job";
}

json schedule_target::to_json() const {
  switch (k) {
    case kind::job:
      return {{"job", id}};
    case kind::vma:
      return {{"vma", id}};
    case kind::all:
      break;
  }
  return {{"all", true}};
}

bool daily_window::open_at(std::int64_t unix_ms) const {
  const auto s = second_of_day(unix_ms);
  return from_s < to_s ? (s >= from_s && s < to_s) : (s >= from_s || s < to_s);
}

std::int64_t daily_window::next_change_after(std::int64_t unix_ms) const {
  const auto day = floor_div(unix_ms, day_ms) * day_ms;
  auto next = [&](std::int32_t s) {
    auto t = day + std::int64_t{s} * 1000;
    return t > unix_ms ? t : t + day_ms;
  };
  return std::min(next(from_s), next(to_s));
}

std::string daily_window::text() const {
  return clock_text(from_s) + "-" + clock_text(to_s) + " UTC";
}

std::optional<std::int64_t> schedule::next_due(std::int64_t now_ms) const {
  if (is_window) return window.next_change_after(now_ms);
  if (fired_ms) return std::nullopt;
  return at_ms;
}

std::string schedule::comment() const {
  if (is_window) return "schedule " + id + ": outside the window " + window.text();
  return "schedule " + id + ": " + action + " at " + rfc3339(at_ms);
}

json to_json(const schedule& s, std::int64_t now_ms) {
  json j = {{"id", s.id},
            {"kind", s.is_window ? "window" : "once"},
            {"target", s.target.to_json()},
            {"created_at", rfc3339(s.created_ms)},
            {"created_by", s.created_by}};
  if (s.is_window) {
    j["window"] = {{"from", clock_text(s.window.from_s)}, {"to", clock_text(s.window.to_s)}};
    j["timezone"] = "UTC";
    j["open"] = s.window.open_at(now_ms);
    j["next_change_at"] = rfc3339(s.window.next_change_after(now_ms));
    j["seen_open"] = s.open ? json(*s.open) : json(nullptr);
    j["changed_at"] = s.changed_ms ? json(rfc3339(s.changed_ms)) : json(nullptr);
    j["stopped"] = s.stopped;
  } else {
    j["action"] = s.action;
    j["at"] = rfc3339(s.at_ms);
    j["state"] = s.fired_ms ? "fired" : "pending";
    j["fired_at"] = s.fired_ms ? json(rfc3339(s.fired_ms)) : json(nullptr);
    j["result"] = s.fired_ms ? json{{"jobs", s.asked}, {"detail", s.detail}} : json(nullptr);
  }
  return j;
}

expected<schedule, std::string> schedule_from_json(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return unexpected(std::string("not a JSON object"));
  try {
    auto target = target_from(j);
    if (!target) return unexpected(target.error());
    schedule s;
    s.id = j.at("id").get<std::string>();
    if (!msg::valid_id(s.id)) return unexpected("id: not a valid id: " + s.id.substr(0, 70));
    s.target = std::move(*target);
    s.is_window = j.at("kind") == "window";
    s.created_ms = parse_rfc3339(j.at("created_at").get<std::string>()).value_or(0);
    s.created_by = j.at("created_by").get<std::string>();
    if (s.is_window) {
      auto w = window_from(json{{"window", j.at("window")}}, s.target);
      if (!w) return unexpected(w.error());
      s.window = w->window;
      if (j.at("seen_open").is_boolean()) s.open = j["seen_open"].get<bool>();
      if (j.at("changed_at").is_string())
        s.changed_ms = parse_rfc3339(j["changed_at"].get<std::string>()).value_or(0);
      s.stopped = strings(j, "stopped");
    } else {
      s.action = j.at("action").get<std::string>();
      s.at_ms = parse_rfc3339(j.at("at").get<std::string>()).value_or(0);
      if (j.at("fired_at").is_string()) {
        s.fired_ms = parse_rfc3339(j["fired_at"].get<std::string>()).value_or(1);
        s.asked = strings(j.at("result"), "jobs");
        s.detail = j["result"].at("detail").get<std::string>();
      }
    }
    return s;
  } catch (const json::exception& e) {
    return unexpected(std::string(e.what()));
  }
}

expected<schedule, std::string> schedule_from_request(const json& body, std::int64_t now_ms) {
  if (!body.is_object()) return unexpected(std::string("the body: a JSON object expected"));
  for (const auto& [key, _] : body.items())
    if (key != "action" && key != "target" && key != "at" && key != "window")
      return unexpected("unknown field \"" + key.substr(0, 40) +
                        "\" (action, target, at or window expected)");
  auto target = target_from(body);
  if (!target) return unexpected(target.error());
  if (body.contains("window")) return window_from(body, std::move(*target));
  return once_from(body, std::move(*target), now_ms);
}

}  // namespace mk::actors
