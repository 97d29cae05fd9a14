#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "cmd/ctl_context.hpp"

namespace mk::cmd {

/// `ctl stop ID...`: one job, a batch of ids, or a filter; --dry-run shows the plan, --wait
/// the stop live until it settles.
void add_ctl_stop_command(CLI::App& ctl, std::shared_ptr<ctl_context> ctx);

}  // namespace mk::cmd
