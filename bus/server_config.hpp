#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mk::bus {

/// Who connects to the bus; each role has one user on the embedded server (docs/security.md).
enum class role { oma, vma, ctl };

inline constexpr std::array<role, 3> all_roles = {role::oma, role::vma, role::ctl};

const char* to_string(role r);

/// What one role may publish and subscribe to. `allow_responses` lets it answer requests it
/// received, on their reply subjects and nowhere else.
struct permissions {
  std::vector<std::string> publish;
  std::vector<std::string> publish_deny;
  std::vector<std::string> subscribe;
  bool allow_responses = false;
};

/// The subject permissions of docs/security.md under `prefix`. The oma keeps the JetStream
/// state, so it also gets the JetStream API, KeyValue and flow-control subjects; vma and ctl
/// get no JetStream at all. A vma user may only speak for `vma_agents`.
permissions permissions_for(role r, const std::string& prefix,
                            const std::vector<std::string>& vma_agents);

/// Operator mode (docs/security.md): the server trusts the operator's JWT and is given the
/// accounts' JWTs; users bring their own JWTs, so that adding one changes no server.
struct operator_trust {
  std::string operator_jwt;
  std::string system_account;                   ///< its public key
  std::map<std::string, std::string> accounts;  ///< public key -> JWT, the system account's too
};

/// Everything the server configuration file says.
struct server_config {
  std::uint16_t port = 0;
  std::filesystem::path store_dir;  ///< JetStream keeps its files in STORE_DIR/jetstream
  std::string prefix;
  std::vector<std::string> vma_agents;
  std::array<std::string, 3> passwords;  ///< by role, in the order of `role`
  /// Set: operator mode, and neither `passwords` nor `vma_agents` are used.
  std::optional<operator_trust> trust;
  std::filesystem::path operator_jwt_file;  ///< with `trust`: where its JWT is written
  std::filesystem::path resolver_dir;       ///< with `trust`: the account resolver's files
};

/// The nats-server configuration text: loopback only, JetStream, and either one user per role
/// or operator mode with the full account resolver; no anonymous access either way. Paths must not
/// hold `"`, `\` or control characters (checked by the caller); ids and passwords never do.
std::string render(const server_config& cfg);

}  // namespace mk::bus
