#pragma once

#include <functional>
#include <memory>

#include "api/event_stream.hpp"
#include "api/job_view.hpp"
#include "api/metrics.hpp"
#include "oma/job_observer.hpp"

namespace mk::api {

/// The job actors' changes, fanned out to the API's read model, live events and metrics.
class job_feed final : public actors::job_observer {
 public:
  void job_changed(const actors::job_record& job) override;
  void job_removed(const std::string& id) override;
  /// Maintenance mode changed (oma/maintenance_actor.hpp): an `event: maintenance`.
  void maintenance_changed(const std::string& mode_json) {
    events_.publish("maintenance", mode_json);
  }
  /// The schedules changed (oma/scheduler_actor.hpp): an `event: schedules` with the list.
  void schedules_changed(const std::string& list_json) { events_.publish("schedules", list_json); }
  void job_logged(const nlohmann::json& entry) override;

  /// Where the volume of a job lives (the volume backend's location()), shown as the job
  /// object's volume.path. Set before the first job changes.
  void locate_volumes(std::function<std::string(const std::string& volume_id)> where) {
    locate_ = std::move(where);
  }

  job_view& view() { return view_; }
  event_stream& events() { return events_; }
  metrics& stats() { return metrics_; }

 private:
  job_view view_;
  event_stream events_;
  metrics metrics_;
  std::function<std::string(const std::string&)> locate_;
};

}  // namespace mk::api
