#pragma once

#include "messages/catalogue.hpp"

namespace mk::actors {

/// Fills in where this agent runs (the host's name) and what it is (MigrateKit's version), so
/// that the OMA can show them (GET /api/v1/agents). A host whose name cannot be read reports
/// none.
void describe_host(msg::agent_report& report);

}  // namespace mk::actors
