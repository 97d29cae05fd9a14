#pragma once

#include <CLI/CLI.hpp>

namespace mk::cmd {

/// `migratekit copy SOURCE TARGET`: the mover, also usable on its own like nbdcopy.
/// Sets `exit_code` to 0 completed, 1 error, 2 bad usage or input, 3 stopped.
void add_copy_command(CLI::App& app, int& exit_code);

}  // namespace mk::cmd
