#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "bus/error.hpp"
#include "bus/nkeys.hpp"
#include "bus/server_config.hpp"

namespace mk::bus {

/// The bus's chain of trust in operator mode (docs/security.md): an operator, the system
/// account (nats-server's own) and the product's account, whose users are the OMA, `ctl` and
/// each agent. The three seeds are made at the first start and kept under a folder of mode
/// 0700, each file 0600; later starts read them back, so that every user JWT minted before
/// stays valid. Everything else (the JWTs nats-server is given, the users' credentials) is
/// minted from them.
class bus_trust {
 public:
  /// Reads the seeds under `dir`, or makes them if there are none.
  static result<bus_trust> open(const std::filesystem::path& dir);

  /// The product account's public key ("A...").
  std::string product_account() const { return product_.public_key(); }

  /// What nats-server is configured with. `revocations` (user public key -> unix seconds) go
  /// into the product account's JWT.
  result<operator_trust> server_trust(const std::map<std::string, std::int64_t>& revocations) const;
  /// The product account's JWT, as a push to running servers carries it (`$SYS.REQ.CLAIMS.UPDATE`).
  result<std::string> product_account_jwt(
      const std::map<std::string, std::int64_t>& revocations) const;

  /// A user of the product's account, with a key of its own: its public key and its `.creds`
  /// text (a secret).
  struct minted {
    std::string public_key;
    std::string creds;
  };
  result<minted> mint_user(std::string_view name, const permissions& perms) const;
  /// A user of the system account that may push account JWTs and hear the nodes announce
  /// themselves, and nothing else.
  result<minted> mint_system_user(std::string_view name) const;

 private:
  bus_trust(nkeys::key_pair op, nkeys::key_pair system, nkeys::key_pair product)
      : operator_(std::move(op)), system_(std::move(system)), product_(std::move(product)) {}

  nkeys::key_pair operator_;
  nkeys::key_pair system_;
  nkeys::key_pair product_;
};

}  // namespace mk::bus
