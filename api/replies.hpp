#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "models/job_record.hpp"
#include "models/stop_plan.hpp"
#include "oma/agent_table.hpp"

/// What the OMA's actors answer, as the REST API shows it (docs/api.md): the only place where
/// their typed replies become JSON.
namespace mk::api {

/// A job as a request about it was answered (without the volume's path, which only the read
/// model knows).
nlohmann::json job_json(const actors::job_record& job);

/// A stop's dry run; `volume_path` is the job's volume's place if the read model knows it.
nlohmann::json plan_json(const actors::stop_plan& plan, const nlohmann::json& volume_path);

/// GET /agents: {"agents":[{"id","online","last_hello","host","version","movers"}]}.
nlohmann::json agents_json(const std::vector<actors::agent_status>& agents);

}  // namespace mk::api
