#include "api/job_feed.hpp"

namespace mk::api {

using nlohmann::json;

void job_feed::job_changed(const actors::job_record& changed) {
  json job = actors::to_json(changed);
  if (locate_ && job.contains("volume") && job["volume"].is_object() &&
      job["volume"].contains("id") && job["volume"]["id"].is_string())
    job["volume"]["path"] = locate_(job["volume"]["id"].get<std::string>());
  const auto id = job.value("id", "");
  auto before = view_.raw(id);
  metrics_.observe(before ? *before : json(nullptr), job);
  view_.put(job);
  if (before && *before == job) return;
  // Progress reaches a job at most twice a second (the poller's snapshot interval), and a job
  // actor tells of each snapshot once: every change may be told as it comes.
  events_.publish("job", public_job(job).dump());
}

void job_feed::job_removed(const std::string& id) {
  view_.remove(id);
  events_.publish("removed", json{{"id", id}}.dump());
}

void job_feed::job_logged(const json& entry) { metrics_.observe_log(entry); }

}  // namespace mk::api
