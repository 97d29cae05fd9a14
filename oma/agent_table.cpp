#include "oma/agent_table.hpp"

#include <algorithm>

#include "messages/subjects.hpp"
#include "messages/text.hpp"
#include "models/job_record.hpp"

namespace mk::actors {

namespace {

/// Host names are at most 255 bytes (RFC 1035); a version is a short word. Anything else from
/// the bus is not shown to operators.
std::string shown(const std::string& text, std::size_t most) {
  return text.size() <= most && msg::printable(text) ? text : std::string();
}

nlohmann::json text_or_null(const std::string& text) {
  return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
}

}  // namespace

bool agent_table::heard(const msg::agent_report& r, time_point now, std::int64_t wall_ms) {
  if (!msg::valid_id(r.vma)) return false;
  const bool added = !agents_.contains(r.vma);
  auto& a = agents_[r.vma];
  a.heard = now;
  a.heard_ms = wall_ms;
  a.host = shown(r.host, 255);
  a.version = shown(r.version, 64);
  a.movers = static_cast<std::size_t>(std::ranges::count_if(
      r.movers, [](const msg::mover_info& m) { return m.state != "exited"; }));
  return added;
}

bool agent_table::expect(const std::string& id) {
  if (!msg::valid_id(id)) return false;
  return agents_.try_emplace(id).second;
}

std::set<std::string> agent_table::ids() const {
  std::set<std::string> out;
  for (const auto& [id, a] : agents_) out.insert(id);
  return out;
}

nlohmann::json agent_table::to_json(const std::set<std::string>& named, time_point now,
                                    std::chrono::milliseconds online_for) const {
  auto all = ids();
  all.insert(named.begin(), named.end());
  auto list = nlohmann::json::array();
  const agent never{};  // named by a job, never heard from
  for (const auto& id : all) {
    auto it = agents_.find(id);
    const agent& a = it == agents_.end() ? never : it->second;
    list.push_back({{"id", id},
                    {"online", a.heard && now - *a.heard <= online_for},
                    {"last_hello", a.heard ? nlohmann::json(rfc3339(a.heard_ms)) : nullptr},
                    {"host", text_or_null(a.host)},
                    {"version", text_or_null(a.version)},
                    {"movers", a.movers}});
  }
  return {{"agents", std::move(list)}};
}

}  // namespace mk::actors
