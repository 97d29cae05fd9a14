#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "cmd/ctl_context.hpp"

namespace mk::cmd {

/// The ctl subcommands that act on many jobs over time (docs/operations.md): `maintenance`,
/// `schedule add|list|rm` and `analytics`.
void add_ctl_fleet_commands(CLI::App& ctl, std::shared_ptr<ctl_context> ctx);

}  // namespace mk::cmd
