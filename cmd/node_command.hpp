#pragma once

#include <CLI/CLI.hpp>

namespace mk::cmd {

/// `migratekit node-file NAME`: on the OMA's host, what another node of the bus needs (a node
/// file, bus/node_file.hpp). `migratekit node --file F`: runs that node (a nats-server with
/// the bus's trust, routes to the other nodes, TLS when the bus has it) until SIGINT or
/// SIGTERM. docs/bus.md, "Three nodes on three machines".
void add_node_commands(CLI::App& app, int& exit_code);

}  // namespace mk::cmd
