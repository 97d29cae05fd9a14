#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "bus/error.hpp"
#include "bus/server_config.hpp"

namespace mk::bus {

/// What a node of a bus of several needs (docs/bus.md, "Three nodes on three machines"), made
/// on the OMA's host from DATA (`migratekit node-file`) and carried to the node's host: the
/// bus's name, this node's name, the password the nodes' routes share, the operator and
/// accounts to trust (with every revocation made so far), and, when the bus uses TLS, the CA
/// and a certificate and key for the node's address. A secret: written with mode 0600.
///
///   {"v":1,"bus":"migratekit-mk","node":"n2",
///    "routes":{"user":"route","password":"<64 hex digits>"},
///    "trust":{"operator":"<JWT>","system_account":"A...","accounts":{"A...":"<JWT>"}},
///    "tls":{"ca":"-----BEGIN CERTIFICATE-----...","cert":"...","key":"..."} or null}
struct node_file {
  std::string bus;
  std::string node;
  std::string route_user;
  std::string route_password;
  operator_trust trust;
  std::string ca_pem;  ///< all three empty: a bus without TLS (on one machine's loopback)
  std::string cert_pem;
  std::string key_pem;
};

nlohmann::json to_json(const node_file& f);
/// A node file's document; an error names the key that is missing or wrong.
result<node_file> node_file_from_json(const nlohmann::json& doc);

/// Reads FILE: refused when others may read it, or when it is not a node file of version 1.
result<node_file> read_node_file(const std::filesystem::path& path);
/// Writes it with mode 0600, atomically.
result<> write_node_file(const std::filesystem::path& path, const node_file& f);

/// The user of the routes between a bus's nodes (their password: bus_home::route_password).
inline constexpr const char* route_user = "route";

/// The name a bus of prefix `prefix` gives its cluster: every node gives the same.
std::string bus_name(const std::string& prefix);

}  // namespace mk::bus
