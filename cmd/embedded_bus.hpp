#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "bus/home.hpp"
#include "bus/nats_server.hpp"
#include "bus/tls.hpp"
#include "config/expected.hpp"

namespace mk::cmd {

/// The bus `migratekit up` and `migratekit oma` run themselves when given no `--nats`: a
/// nats-server that trusts the operator of DATA/nats (bus/home.hpp), with the revocations made
/// so far. On the loopback; with `advertise` on that address instead, TLS required, with the
/// certificate of DATA/tls (bus/tls.hpp).
struct embedded_bus {
  std::unique_ptr<bus::nats_server> server;
  /// Where clients reach it (DATA/nats/urls says the same).
  std::string urls;
  /// With `advertise`: the CA clients check the server by.
  std::filesystem::path ca_file;
};

expected<embedded_bus, std::string> start_embedded_bus(const std::filesystem::path& data_dir,
                                                       const bus::bus_home& home,
                                                       const std::string& advertise);

}  // namespace mk::cmd
