#pragma once

#include <CLI/CLI.hpp>

namespace mk::cmd {

/// `migratekit vma --nats URL --id ID --data DIR`: one VMA agent, until SIGINT or SIGTERM.
/// Its movers are left running when it ends; the next agent on DIR adopts them. Sets
/// `exit_code` to 0 after a signal, 1 if the agent could not start or failed.
void add_vma_command(CLI::App& app, int& exit_code);

}  // namespace mk::cmd
