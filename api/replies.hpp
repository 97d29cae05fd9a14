#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "models/job_record.hpp"
#include "models/stop_plan.hpp"
#include "oma/agent_directory.hpp"
#include "oma/agent_table.hpp"

/// What the OMA's actors answer, as the REST API shows it (docs/api.md): the only place where
/// their typed replies become JSON.
namespace mk::api {

/// A job as a request about it was answered (without the volume's path, which only the read
/// model knows).
nlohmann::json job_json(const actors::job_record& job);

/// A stop's dry run; `volume_path` is the job's volume's place if the read model knows it.
nlohmann::json plan_json(const actors::stop_plan& plan, const nlohmann::json& volume_path);

/// One agent of GET /agents: {"id","enrolled","enrolled_at","builtin","online","last_hello",
/// "host","version","movers"}; `record` null for an agent that reported (or that jobs name)
/// but is not enrolled, `status` null for one never heard from.
nlohmann::json agent_json(const std::string& id, const actors::agent_record* record,
                          const actors::agent_status* status);

/// GET /agents: {"agents":[...]}, every enrolled agent and every other one the registry knows,
/// by id.
nlohmann::json agents_json(const std::vector<actors::agent_status>& status,
                           const std::vector<actors::agent_record>& enrolled);

}  // namespace mk::api
