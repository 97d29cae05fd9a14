#include "api/replies.hpp"

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

json agents_json(const std::vector<actors::agent_status>& agents) {
  auto list = json::array();
  for (const auto& a : agents)
    list.push_back(
        {{"id", a.id},
         {"online", a.online},
         {"last_hello", a.last_hello_ms ? json(actors::rfc3339(a.last_hello_ms)) : json(nullptr)},
         {"host", text_or_null(a.host)},
         {"version", text_or_null(a.version)},
         {"movers", a.movers}});
  return {{"agents", std::move(list)}};
}

}  // namespace mk::api
