#include "api/job_view.hpp"

#include "config/defaults.hpp"
#include "messages/job_states.hpp"
#include "messages/subjects.hpp"

namespace mk::api {

using nlohmann::json;

namespace {

/// What the volume is, from what the job knows of it: the API shows a state, not flags.
std::string volume_state(const json& stored) {
  const auto state = text_of(stored, "state");
  const auto& in = stored.value("internal", json::object());
  const bool kept = in.value("volume_kept", false);
  if (state == "cancelled") return "deleted";
  if (state == "completed") return "complete";
  if (msg::in_set(msg::may_run_mover, state)) return "attached";
  if (kept) return "partial";
  return in.value("runs", 0u) > 0 ? "detached" : "none";
}

}  // namespace

std::string text_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json public_job(const json& stored) {
  json out = stored;
  out.erase("internal");
  if (out.contains("volume") && out["volume"].is_object())
    out["volume"]["state"] = volume_state(stored);
  return out;
}

std::string job_view::order_key(const json& job) {
  return text_of(job, "created_at") + "/" + text_of(job, "id");
}

void job_view::put(const json& job) {
  const auto id = text_of(job, "id");
  if (id.empty()) return;
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(id);
  if (it != jobs_.end()) {
    order_.erase(order_key(it->second));
    it->second = job;
  } else {
    jobs_.emplace(id, job);
  }
  order_.insert(order_key(job));
}

void job_view::remove(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  order_.erase(order_key(it->second));
  jobs_.erase(it);
}

std::optional<json> job_view::raw(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second;
}

std::optional<json> job_view::get(const std::string& id) const {
  auto stored = raw(id);
  if (!stored) return std::nullopt;
  return public_job(*stored);
}

namespace {

/// A cursor is the order key of the last job of the previous page: "<RFC 3339>/<id>".
bool valid_cursor(const std::string& c) {
  const auto slash = c.rfind('/');
  return slash != std::string::npos && slash >= 20 && slash < 40 &&
         msg::valid_id(c.substr(slash + 1));
}

}  // namespace

expected<list_page, std::string> job_view::list(const list_query& q) const {
  if (q.limit < 1 || q.limit > defaults::api::max_page_size)
    return unexpected(std::string("limit: between 1 and 1000 expected"));
  if (!q.cursor.empty() && !valid_cursor(q.cursor))
    return unexpected(std::string("cursor: not a cursor this server gave out"));
  list_page page;
  std::lock_guard lock(mutex_);
  auto it = q.cursor.empty() ? order_.begin() : order_.upper_bound(q.cursor);
  for (; it != order_.end(); ++it) {
    const auto& job = jobs_.at(it->substr(it->rfind('/') + 1));
    if ((!q.state.empty() && text_of(job, "state") != q.state) ||
        (!q.vma.empty() && text_of(job, "vma") != q.vma))
      continue;
    if (page.jobs.size() == q.limit) {
      page.next_cursor = order_key(jobs_.at(text_of(page.jobs.back(), "id")));
      break;
    }
    page.jobs.push_back(public_job(job));
  }
  return page;
}

std::vector<std::string> job_view::ids(const std::string& state, const std::string& vma) const {
  std::vector<std::string> out;
  std::lock_guard lock(mutex_);
  for (const auto& key : order_) {
    const auto& job = jobs_.at(key.substr(key.rfind('/') + 1));
    if ((state.empty() || text_of(job, "state") == state) &&
        (vma.empty() || text_of(job, "vma") == vma))
      out.push_back(text_of(job, "id"));
  }
  return out;
}

std::map<std::string, std::size_t> job_view::count_by_state() const {
  std::map<std::string, std::size_t> out;
  std::lock_guard lock(mutex_);
  for (const auto& [id, job] : jobs_) ++out[text_of(job, "state")];
  return out;
}

}  // namespace mk::api
