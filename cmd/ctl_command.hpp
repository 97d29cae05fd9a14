#pragma once

#include <CLI/CLI.hpp>

namespace mk::cmd {

/// `migratekit ctl`: the command-line client of the REST API (docs/overview.md). Sets
/// `exit_code` to 0 done as asked, 1 the API refused, 2 bad usage or no API found, 3 a
/// waited-for job ended but not as asked, 4 the API could not be reached or a wait timed out.
void add_ctl_command(CLI::App& app, int& exit_code);

}  // namespace mk::cmd
