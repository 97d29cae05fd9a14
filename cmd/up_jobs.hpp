#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cmd/oma_node.hpp"
#include "config/expected.hpp"
#include "models/job_record.hpp"

/// What `migratekit up` does with the jobs of its OMA (docs/overview.md): at shutdown every
/// active job is stopped gracefully with its volume kept and reason `shutdown`; at the next
/// start exactly those jobs are resumed, while jobs an operator stopped stay stopped. Every
/// change goes through the registry, as the API's do, so the JobLog tells it the same way.
namespace mk::cmd::up_jobs {

/// The records of every job in the store, each asked of its job actor through the
/// registry: once this returns, the registry has recovered them all (it does so before it
/// answers anything) and the API's read model has them.
std::vector<actors::job_record> recovered(oma_node& oma);

/// Jobs whose shutdown stop `up` resumes once it has settled.
class resumer {
 public:
  /// Resumes the jobs in `jobs` that a shutdown stopped; those whose shutdown stop is still
  /// settling (an `up` that ended before they had) are resumed by tick() once they are
  /// `stopped`.
  void start(oma_node& oma, const std::vector<actors::job_record>& jobs);
  /// Looks at the jobs still settling; cheap (reads the API's read model).
  void tick(oma_node& oma);

 private:
  std::set<std::string> settling_;
};

/// A new job "demo disk 0" copying `source` with the agent "local"; its record or why not.
expected<actors::job_record, std::string> create_demo(oma_node& oma, const std::string& source);

/// What stop_active() did.
struct stops {
  std::vector<std::string> accepted;  ///< ids now stopping (or settled at once)
  std::vector<std::string> failed;    ///< ids whose stop could not be asked (logged)
};

/// Stops every queued, starting or replicating job (graceful, volumes kept, reason
/// `shutdown`). A job that settled or went meanwhile is neither accepted nor failed.
stops stop_active(oma_node& oma);

/// Whether any job is `stopping` (a shutdown stop or another still under way).
bool any_stopping(oma_node& oma);

/// One line per job of `ids`: its id, name and state now (and its error, if any).
std::string describe(oma_node& oma, const std::vector<std::string>& ids);

}  // namespace mk::cmd::up_jobs
