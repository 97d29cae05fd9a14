#pragma once

#include <CLI/CLI.hpp>

namespace mk::cmd {

/// Registers `migratekit oma`; its callback runs the orchestrator until SIGINT or SIGTERM and
/// leaves its exit status in `exit_code`.
void add_oma_command(CLI::App& app, int& exit_code);

}  // namespace mk::cmd
