#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "config/expected.hpp"

namespace mk::actors {

/// What an agent needs to join the bus (docs/security.md, SPEC section 11): its id and the
/// subject prefix, where the bus is and how to trust it, its own NATS credentials, and the
/// pre-shared key its movers open their volumes with. A secret: written with mode 0600.
///
///   {"v":1,"agent":"vma-a","prefix":"mk",
///    "nats":{"urls":["tls://oma.example:4222"],"ca":"-----BEGIN
///    CERTIFICATE-----...","creds":"..."}, "volumes":{"psk_identity":"vma-a","psk":"<64 hex
///    digits>"}}
struct join_file {
  std::string agent;
  std::string prefix;
  std::vector<std::string> urls;
  std::string ca_pem;  ///< empty: the bus is on the loopback, without TLS
  std::string creds;
  std::string psk_identity;
  std::string psk_hex;
};

nlohmann::json to_json(const join_file& j);
/// A join file's document; an error names the key that is missing or wrong.
expected<join_file, std::string> join_file_from_json(const nlohmann::json& doc);

/// Reads FILE: refused when others may read it (like ssh, a secret left world-readable is not
/// taken), or when it is not a join file of version 1.
expected<join_file, std::string> read_join_file(const std::filesystem::path& path);
/// Writes it with mode 0600, atomically.
expected<void, std::string> write_join_file(const std::filesystem::path& path, const join_file& j);

/// 32 random bytes in hex: a new agent's volume key.
expected<std::string, std::string> random_psk_hex();

}  // namespace mk::actors
