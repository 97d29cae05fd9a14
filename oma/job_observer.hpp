#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "models/job_record.hpp"

namespace mk::actors {

/// Told of every change the OMA makes to a job: the REST API's read model, its live events and
/// its metrics are fed from here, so that none of them asks a job actor on a read. Called from
/// actor threads: implementations are thread-safe and quick (no blocking, no asking actors).
class job_observer {
 public:
  virtual ~job_observer() = default;
  /// The job's record as it is now: after each write of the record, each progress snapshot,
  /// and once when its actor starts.
  virtual void job_changed(const job_record& job) = 0;
  /// The job's record was removed (a DELETE that settled); its JobLog stays.
  virtual void job_removed(const std::string& id) = 0;
  /// A JobLog entry the job writes (at once, or once the store is back): for figures that
  /// only the log carries. Most observers need none of them.
  virtual void job_logged(const nlohmann::json& /*entry*/) {}
};

}  // namespace mk::actors
