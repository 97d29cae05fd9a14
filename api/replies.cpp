#include "api/replies.hpp"

#include <map>
#include <string>

#include "api/job_view.hpp"

namespace mk::api {

using nlohmann::json;

namespace {

json text_or_null(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

}  // namespace

json job_json(const actors::job_record& job) { return public_job(actors::to_json(job)); }

json plan_json(const actors::stop_plan& plan, const json& volume_path) {
  const auto& vp = plan.vma_process;
  const bool mover = vp.pid > 0;
  return {{"job", plan.job},
          {"state", std::string(msg::name_of(plan.state))},
          {"stop_in_progress", text_or_null(plan.stop_in_progress)},
          {"final_state", std::string(msg::name_of(plan.final_state))},
          {"final_state_if_copy_finishes_first",
           plan.may_complete_first ? json("completed") : json(nullptr)},
          {"mode", std::string(msg::name_of(plan.mode))},
          {"volumes", std::string(msg::name_of(plan.volumes))},
          {"grace_seconds", plan.grace_seconds},
          {"participants",
           {{"scheduler", {{"action", "drops the job's pending triggers"}}},
            {"poller", {{"action", "takes a final progress snapshot and stops polling"}}},
            {"vma_process",
             {{"action", vp.action},
              {"pid", mover ? json(vp.pid) : json(nullptr)},
              {"signal", text_or_null(vp.signal)},
              {"then", text_or_null(vp.then)}}},
            {"volume",
             {{"action", std::string(msg::name_of(plan.volume.action))},
              {"id", plan.volume.id},
              {"detail", plan.volume.detail},
              {"path", volume_path}}}}},
          {"bytes_kept", plan.bytes_kept},
          {"bytes_to_copy_on_resume",
           plan.bytes_to_copy_on_resume ? json(*plan.bytes_to_copy_on_resume) : json(nullptr)}};
}

json agent_json(const std::string& id, const actors::agent_record* record,
                const actors::agent_status* status) {
  return {
      {"id", id},
      {"enrolled", record != nullptr},
      {"enrolled_at", record ? json(actors::rfc3339(record->enrolled_ms)) : json(nullptr)},
      {"builtin", record != nullptr && record->builtin},
      {"online", status != nullptr && status->online},
      {"last_hello", status && status->last_hello_ms ? json(actors::rfc3339(status->last_hello_ms))
                                                     : json(nullptr)},
      {"host", status ? text_or_null(status->host) : json(nullptr)},
      {"version", status ? text_or_null(status->version) : json(nullptr)},
      {"movers", status ? status->movers : 0}};
}

json agents_json(const std::vector<actors::agent_status>& status,
                 const std::vector<actors::agent_record>& enrolled) {
  std::map<std::string, std::pair<const actors::agent_record*, const actors::agent_status*>> by_id;
  for (const auto& r : enrolled) by_id[r.id].first = &r;
  for (const auto& a : status) by_id[a.id].second = &a;
  auto list = json::array();
  for (const auto& [id, both] : by_id) list.push_back(agent_json(id, both.first, both.second));
  return {{"agents", std::move(list)}};
}

}  // namespace mk::api
