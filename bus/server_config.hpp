#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mk::bus {

/// Who connects to the bus (docs/security.md): the OMA, the command-line role `ctl`, and
/// agents, each agent a user of its own.
enum class role { oma, vma, ctl };

const char* to_string(role r);

/// What one user may publish and subscribe to. `allow_responses` lets it answer requests it
/// received, on their reply subjects and nowhere else.
struct permissions {
  std::vector<std::string> publish;
  std::vector<std::string> publish_deny;
  std::vector<std::string> subscribe;
  bool allow_responses = false;
};

/// Where the replies to a user's requests come: `_INBOX_<name>`. Each identity subscribes to
/// its own inbox only, so nobody reads another's replies.
std::string inbox_prefix(std::string_view name);

/// The subject permissions of docs/security.md under `prefix`, for the user `name` of role
/// `r` (an agent's name is its id). The oma keeps the JetStream state, so it also gets the
/// JetStream API, KeyValue and flow-control subjects; agents and ctl get no JetStream at all;
/// an agent may only speak for itself.
permissions permissions_for(role r, const std::string& prefix, std::string_view name);

/// Operator mode (docs/security.md): the server trusts the operator's JWT and is given the
/// accounts' JWTs; users bring their own JWTs, so that adding one changes no server.
struct operator_trust {
  std::string operator_jwt;
  std::string system_account;                   ///< its public key
  std::map<std::string, std::string> accounts;  ///< public key -> JWT, the system account's too
};

/// How a node of a bus of several meets the others (STACK.md, "A NATS cluster"): its route
/// listener, the password every node of the bus shares, and where the others listen.
struct cluster_config {
  std::string name;  ///< the bus's: every node gives the same
  std::string host{"127.0.0.1"};
  std::uint16_t port = 0;
  std::string user;
  std::string password;
  std::vector<std::string> routes;  ///< host:port of the others' route listeners
  /// Set: routes are TLS both ways, each node checked against the bus's CA (bus/tls.hpp).
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
  std::filesystem::path tls_ca;
};

/// Everything the server configuration file says.
struct server_config {
  /// The node's name among the others (nodes in namespaces share the hostname): empty, the
  /// server picks one, as a lone node may.
  std::string server_name;
  /// Set: this node is one of a bus of several.
  std::optional<cluster_config> cluster;
  /// Where clients connect: the loopback, or the address other hosts reach the OMA at.
  std::string host{"127.0.0.1"};
  std::uint16_t port = 0;
  /// Set: TLS is required of every client, with this certificate and key (bus/tls.hpp).
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
  std::filesystem::path store_dir;  ///< JetStream keeps its files in STORE_DIR/jetstream
  operator_trust trust;
  std::filesystem::path operator_jwt_file;  ///< where the operator's JWT is written
  std::filesystem::path resolver_dir;       ///< the account resolver's files
};

/// The nats-server configuration text: one client listener (the loopback, or the advertised
/// address with TLS required), JetStream, operator mode with the full account resolver; no
/// anonymous access. Paths must not hold `"`, `\` or control characters
/// (checked by the caller); keys and JWTs never do.
std::string render(const server_config& cfg);

}  // namespace mk::bus
