#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bus/home.hpp"
#include "bus/kept_server.hpp"
#include "bus/tls.hpp"
#include "config/defaults.hpp"
#include "config/expected.hpp"

namespace mk::cmd {

/// The bus `migratekit up` and `migratekit oma` run themselves when given no `--nats`: a
/// nats-server that trusts the operator of DATA/nats (bus/home.hpp), with the revocations made
/// so far. On the loopback; with `advertise` on that address instead, TLS required, with the
/// certificate of DATA/tls (bus/tls.hpp). Started again should it end by itself
/// (bus/kept_server.hpp).
struct embedded_bus {
  std::unique_ptr<bus::kept_server> server;
  /// Where clients reach it (DATA/nats/urls says the same), then the other nodes (`--nodes`).
  std::string urls;
  /// With `advertise`: the CA clients check the server by.
  std::filesystem::path ca_file;
};

/// With `routes`, the bus's first node of several (`migratekit oma --routes`, docs/bus.md):
/// named `name`, routes on `route_port` of the same address, to the other nodes' HOST:PORT;
/// with TLS on the routes as well when `advertise` is set.
struct bus_peers {
  std::string name{"oma"};
  std::uint16_t route_port = defaults::bus::route_port;
  std::vector<std::string> routes;
  /// The other nodes' client URLs: the OMA's clients and the agents it enrols are given them
  /// after its own node's, to move to when it is gone.
  std::vector<std::string> nodes;
};

/// --routes, --route-port, --node-name and --nodes, for `oma` and `up`.
void add_bus_peer_options(CLI::App& cmd, bus_peers& peers);

expected<embedded_bus, std::string> start_embedded_bus(const std::filesystem::path& data_dir,
                                                       std::shared_ptr<const bus::bus_home> home,
                                                       const std::string& advertise,
                                                       const bus_peers& peers = {});

}  // namespace mk::cmd
