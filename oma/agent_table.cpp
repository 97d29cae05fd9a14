#include "oma/agent_table.hpp"

#include <algorithm>

#include "messages/subjects.hpp"
#include "messages/text.hpp"

namespace mk::actors {

namespace {

/// Host names are at most 255 bytes (RFC 1035); a version is a short word. Anything else from
/// the bus is not shown to operators.
std::string shown(const std::string& text, std::size_t most) {
  return text.size() <= most && msg::printable(text) ? text : std::string();
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
      r.movers, [](const msg::mover_info& m) { return m.state != msg::mover_state::exited; }));
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

std::vector<agent_status> agent_table::list(const std::set<std::string>& named, time_point now,
                                            std::chrono::milliseconds online_for) const {
  auto all = ids();
  all.insert(named.begin(), named.end());
  std::vector<agent_status> out;
  const agent never{};  // named by a job, never heard from
  for (const auto& id : all) {
    auto it = agents_.find(id);
    const agent& a = it == agents_.end() ? never : it->second;
    out.push_back({id, a.heard && now - *a.heard <= online_for, a.heard ? a.heard_ms : 0, a.host,
                   a.version, a.movers});
  }
  return out;
}

}  // namespace mk::actors
