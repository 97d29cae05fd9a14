#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/expected.hpp"

namespace mk::actors {

/// What a schedule acts on: one job, the jobs of one VMA agent, or every job.
struct schedule_target {
  enum class kind { job, vma, all };
  kind k = kind::all;
  std::string id;  ///< the job or the agent; empty for `all`

  bool covers(const std::string& job, const std::string& vma) const;
  /// The maintenance scope it stands for: "all" or "vma:ID".
  std::string scope() const;
  /// For messages and comments: "job r-1", "agent local", "every job".
  std::string text() const;
  nlohmann::json to_json() const;
};

/// A daily window in UTC, as seconds of the day: open from `from` (included) to `to`
/// (excluded); a window whose `to` comes before its `from` crosses midnight.
struct daily_window {
  std::int32_t from_s = 0;
  std::int32_t to_s = 0;

  bool open_at(std::int64_t unix_ms) const;
  /// The first opening or closing strictly after `unix_ms`.
  std::int64_t next_change_after(std::int64_t unix_ms) const;
  /// "22:00-06:00 UTC", seconds shown where set.
  std::string text() const;
};

/// What a trigger asks of one job: the scheduler's per-job triggers, and the starts, stops and
/// resumes that schedules and windows ask of the registry.
enum class trigger_action { start, stop, resume };
std::string_view name_of(trigger_action a);

/// One schedule of docs/operations.md, as it is stored (the schedules bucket, key = id) and shown
/// (GET /schedules): a one-shot action at a time, or a daily replication window. What it did
/// is kept with it: when a one-shot fired and which jobs it asked; which jobs a window stopped
/// and still has to resume when it opens, so that it resumes exactly those after a restart.
struct schedule {
  std::string id;  ///< "sc-" and 8 hex digits
  bool is_window = false;
  std::string action;  ///< one-shot: stop|resume|maintenance_on|maintenance_off
  schedule_target target;
  std::int64_t at_ms = 0;  ///< one-shot
  daily_window window;     ///< window
  std::int64_t created_ms = 0;
  std::string created_by;

  std::int64_t fired_ms = 0;         ///< one-shot: 0 until it fired
  std::vector<std::string> asked;    ///< one-shot: the jobs it asked, once fired
  std::string detail;                ///< one-shot: what firing did, in words
  std::optional<bool> open;          ///< window: as last seen; none before the first look
  std::int64_t changed_ms = 0;       ///< window: when it last opened or closed
  std::vector<std::string> stopped;  ///< window: the jobs it stopped, to resume

  /// When it next has something to do after `now_ms` (a one-shot's time, a window's next
  /// change); none for a one-shot that fired.
  std::optional<std::int64_t> next_due(std::int64_t now_ms) const;
  /// The comment of the stops it asks, which names it (the JobLog keeps it).
  std::string comment() const;
};

/// As stored and shown; `now_ms` fills the computed fields (state, open, next_change_at).
nlohmann::json to_json(const schedule& s, std::int64_t now_ms);
expected<schedule, std::string> schedule_from_json(const std::string& text);

/// A POST /schedules body checked, the first field at fault named: a one-shot
/// {"action","target","at"} not in the past nor more than 10 years ahead, or a window
/// {"target","window":{"from","to"}} with HH:MM or HH:MM:SS times that differ. The id and
/// creation time are the caller's.
expected<schedule, std::string> schedule_from_request(const nlohmann::json& body,
                                                      std::int64_t now_ms);

}  // namespace mk::actors
