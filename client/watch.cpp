#include "client/watch.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "config/defaults.hpp"
#include "messages/job_states.hpp"

namespace mk::client {

using nlohmann::json;

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

/// Not settled yet: a stop or a copy may still change it.
bool moving(const std::string& state) {
  return msg::in_set(msg::is_active, state) || state == "stopping";
}

/// What a state says beyond its name, after "r-1: replicating -> stopping".
std::string state_detail(const json& job, const std::string& state) {
  if (state == "stopping") return " (stop " + stop_summary(field(job, "stop")) + ")";
  if (state == "failed") return ": " + field_text(job, "error");
  if (state == "stopped")
    return field_text(job, "resumable") == "true" ? ", volume kept, resumable" : ", volume kept";
  if (state == "cancelled") return ", volume deleted";
  return "";
}

/// Confirmations in `now` that `before` had not: one notice per participant.
void confirmations(const std::string& id, const json& before, const json& now, bool first_sight,
                   std::vector<std::string>& out) {
  const auto& stop = field(now, "stop");
  if (!stop.is_object() || (first_sight && field_text(now, "state") != "stopping")) return;
  const auto& old_stop = field(before, "stop");
  const bool same_stop =
      old_stop.is_object() && field_text(old_stop, "id") == field_text(stop, "id");
  const auto& parts = field(stop, "participants");
  const auto& old_parts = same_stop ? field(old_stop, "participants") : json();
  const auto& details = field(stop, "details");
  for (const auto& who : participant_order(parts)) {
    auto outcome = field_text(parts, who);
    auto previous = field_text(old_parts, who);
    if (outcome.empty() || outcome == "pending" || outcome == previous) continue;
    auto text = id + ": " + who + " confirmed " + outcome;
    if (auto detail = field_text(details, who); !detail.empty()) text += " (" + detail + ")";
    out.push_back(std::move(text));
  }
}

}  // namespace

wait_goal stop_goal(bool delete_volumes) {
  if (delete_volumes) return {{"cancelled"}, {"stopped", "failed", "completed"}, true};
  return {{"stopped"}, {"cancelled", "failed", "completed"}, false};
}

wait_goal resume_goal() { return {{"completed"}, {"stopped", "failed", "cancelled"}, false}; }

wait_goal delete_goal() { return {{"cancelled"}, {"failed", "completed"}, true}; }

job_board::job_board(std::vector<std::string> ids, std::optional<wait_goal> goal)
    : ids_(std::move(ids)), goal_(std::move(goal)), order_(ids_) {
  for (const auto& id : ids_) jobs_.try_emplace(id);
}

bool job_board::follows(std::string_view id) const {
  return ids_.empty() || jobs_.find(id) != jobs_.end();
}

std::vector<std::string> job_board::update(const json& job) {
  std::vector<std::string> notices;
  auto id = field_text(job, "id");
  if (id.empty() || !follows(id)) return notices;
  auto [it, fresh] = jobs_.try_emplace(id);
  if (fresh) order_.push_back(id);
  auto& e = it->second;
  const bool first_sight = e.job.is_null();
  if (!first_sight) {
    auto held = field_text(e.job, "updated_at");
    auto given = field_text(job, "updated_at");
    if (!held.empty() && !given.empty() && given < held) return notices;
  }
  auto state = field_text(job, "state");
  auto old = field_text(e.job, "state");
  // In the order they happened: a stop begins, then its participants confirm, then it settles.
  const bool settles = !first_sight && old == "stopping" && state != old;
  if (settles) confirmations(id, e.job, job, first_sight, notices);
  if (first_sight)
    notices.push_back(id + " " + field_text(job, "name") + ": " + state + state_detail(job, state));
  else if (old != state)
    notices.push_back(id + ": " + old + " -> " + state + state_detail(job, state));
  if (!settles) confirmations(id, e.job, job, first_sight, notices);
  if (field(job, "stalled") == true && field(e.job, "stalled") != true)
    notices.push_back(id + ": stalled, its copy has not moved for a while");
  e.job = job;
  e.removed = false;
  return notices;
}

std::vector<std::string> job_board::remove(const std::string& id, const json& log) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second.removed) return {};
  auto& e = it->second;
  e.removed = true;
  std::vector<std::string> notices;
  const auto& entries = field(log, "entries");
  const auto last =
      entries.is_array() && !entries.empty() ? field_text(entries.back(), "state") : std::string();
  const auto old = field_text(e.job, "state");
  if (!last.empty() && last != old && !moving(last)) {
    auto ended = e.job.is_object() ? e.job : json::object();
    ended["state"] = last;
    notices.push_back(id + ": " + (old.empty() ? "" : old + " -> ") + last +
                      state_detail(ended, last) + " (from its JobLog)");
  }
  notices.push_back(id + ": record removed (its JobLog stays)");
  return notices;
}

std::optional<bool> job_board::outcome(const entry& e) const {
  if (!goal_) return std::nullopt;
  if (e.removed) return goal_->removed_as_asked;
  auto state = field_text(e.job, "state");
  if (contains(goal_->as_asked, state)) return true;
  if (contains(goal_->other_ends, state)) return false;
  return std::nullopt;
}

bool job_board::ended() const {
  return goal_ && !jobs_.empty() && std::all_of(jobs_.begin(), jobs_.end(), [this](const auto& kv) {
           return outcome(kv.second).has_value();
         });
}

bool job_board::as_asked() const {
  return std::all_of(jobs_.begin(), jobs_.end(),
                     [this](const auto& kv) { return outcome(kv.second).value_or(false); });
}

std::vector<std::string> job_board::misses() const {
  std::vector<std::string> out;
  for (const auto& id : order_) {
    const auto& e = jobs_.at(id);
    if (outcome(e) == false)
      out.push_back(id + " " + (e.removed ? std::string("removed") : field_text(e.job, "state")));
  }
  return out;
}

std::vector<table_row> job_board::rows(bool moving_only) const {
  std::vector<table_row> rows;
  for (const auto& id : order_) {
    const auto& e = jobs_.at(id);
    if (e.removed) {
      if (!moving_only) rows.push_back({id, "", "removed"});
    } else if (e.job.is_null()) {
      if (!moving_only) rows.push_back({id, "", "", "", "", "", "(waiting for its state)"});
    } else if (!moving_only || moving(field_text(e.job, "state"))) {
      rows.push_back(job_row(e.job));
    }
  }
  return rows;
}

live_display::live_display(bool terminal, std::size_t columns, std::size_t lines)
    : terminal_(terminal),
      columns_(std::max<std::size_t>(columns, 20)),
      lines_(std::max<std::size_t>(lines, 4)) {}

std::string live_display::block(const job_board& board) const {
  auto rows = board.rows(board.ids().empty());
  if (rows.empty()) return "(no job is moving; waiting for events)\n";
  // The block must fit on the screen, or moving back over it would miss its first lines.
  const std::size_t room = lines_ - 2;
  std::size_t hidden = 0;
  if (rows.size() > room) {
    hidden = rows.size() - (room - 1);
    rows.resize(room - 1);
  }
  std::string out;
  auto table = render_table({}, rows);
  for (std::size_t start = 0; start < table.size();) {
    auto end = table.find('\n', start);
    out += clip(std::string_view(table).substr(start, end - start), columns_ - 1) + "\n";
    start = end + 1;
  }
  if (hidden) out += fmt::format("... and {} more\n", hidden);
  return out;
}

std::string live_display::frame(const std::vector<std::string>& notices, const job_board& board,
                                clock::time_point now, std::string_view stamp, bool final) {
  std::string out;
  if (terminal_) {
    if (notices.empty() && !final && now < next_draw_) return out;
    next_draw_ = now + defaults::ctl::redraw_interval;
    if (drawn_ > 0)
      out += fmt::format("\x1b[{}A\r\x1b[J", drawn_);  // back to the block's top, clear below
    for (const auto& n : notices) out += std::string(stamp) + " " + n + "\n";
    auto text = block(board);
    drawn_ = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    return out + text;
  }
  for (const auto& n : notices) out += std::string(stamp) + " " + n + "\n";
  for (const auto& row : board.rows(true)) {
    auto& next = next_line_[row.front()];
    if (now < next && !final) continue;
    next = now + defaults::ctl::plain_progress_interval;
    auto line = render_table({}, {row});
    out += std::string(stamp) + " " + line;
  }
  return out;
}

}  // namespace mk::client
