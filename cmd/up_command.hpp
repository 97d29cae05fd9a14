#pragma once

#include <CLI/CLI.hpp>

namespace mk::cmd {

/// Registers `migratekit up`: nats-server (unless --nats), the OMA with its API, and the VMA
/// agent "local", all in this process but the server, until SIGINT or SIGTERM; with --demo
/// also a demo source and, on the first start, a demo replication. Leaves its exit status in
/// `exit_code`.
void add_up_command(CLI::App& app, int& exit_code);

}  // namespace mk::cmd
