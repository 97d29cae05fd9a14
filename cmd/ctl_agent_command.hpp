#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "cmd/ctl_context.hpp"

namespace mk::cmd {

/// `ctl agent add|list|rm` (docs/security.md): enrol an agent and write its join file, list
/// the agents and their health, revoke one.
void add_ctl_agent_command(CLI::App& ctl, std::shared_ptr<ctl_context> ctx);

}  // namespace mk::cmd
