#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "bus/error.hpp"
#include "bus/nats_transport.hpp"
#include "bus/server_config.hpp"
#include "bus/trust.hpp"

namespace mk::bus {

/// The bus's keys and credentials as the OMA keeps them under DATA/nats (docs/security.md):
///
///   DATA/nats/keys/               0700: the operator, system and product account seeds
///   DATA/nats/keys/revocations    the users revoked, as `{"<user public key>": unix seconds}`
///   DATA/nats/keys/system.creds   the system-account user that pushes account JWTs
///   DATA/nats/keys/routes         the password of the routes between nodes, once there are several
///   DATA/nats/oma.creds           the OMA's own credentials
///   DATA/nats/ctl.creds           for scripts that publish on `<prefix>.control.>`
///
/// Every file is 0600. The role credentials are minted anew at each open, so that they always
/// carry the permissions of the current prefix; credentials minted before stay valid until
/// revoked. Revocations are kept here, not in JetStream, because the server is started with
/// them before JetStream runs.
class bus_home {
 public:
  static result<bus_home> open(const std::filesystem::path& data_dir, std::string prefix);

  /// What nats-server is configured with: the operator, and the accounts with every
  /// revocation made so far.
  result<operator_trust> server_trust() const;

  const std::filesystem::path& oma_creds() const { return oma_creds_; }
  const std::filesystem::path& ctl_creds() const { return ctl_creds_; }
  const std::filesystem::path& system_creds() const { return system_creds_; }
  const std::string& prefix() const { return prefix_; }

  /// Fresh credentials of the agent `id`: its own key, permissions on its own subjects.
  result<bus_trust::minted> mint_agent(std::string_view id) const;

  /// Records that the user `public_key` is revoked from now on, durably, and answers the
  /// product account's JWT with every revocation: what running servers must be pushed.
  /// These three may be called from any thread.
  result<std::string> revoke(const std::string& public_key);
  /// The product account's JWT as it stands (for a node that rejoins).
  result<std::string> account_jwt() const;
  /// The password the routes between the bus's nodes share (DATA/nats/keys/routes, 64 hex
  /// digits, made at the first call); their user is bus::route_user (bus/node_file.hpp).
  result<std::string> route_password() const;

 private:
  bus_home(bus_trust trust) : trust_(std::move(trust)) {}

  bus_trust trust_;
  std::string prefix_;
  std::filesystem::path keys_;
  std::filesystem::path oma_creds_;
  std::filesystem::path ctl_creds_;
  std::filesystem::path system_creds_;
  /// Guards `revocations_`: the agent directory revokes while the node watch reads the JWT.
  std::shared_ptr<std::mutex> mu_ = std::make_shared<std::mutex>();
  std::map<std::string, std::int64_t> revocations_;
};

/// How a client on the OMA's machine connects as `r` (oma or ctl) to the bus of DATA: the URLs
/// of DATA/nats/urls, the credentials DATA/nats/<role>.creds, the role's own inbox.
result<nats_options> local_client_options(const std::filesystem::path& data_dir, role r);

/// The same through a connection of the system account's user that is already open.
result<> push_account_jwt(transport& system_user, const std::string& account_jwt);

/// Pushes an account JWT to every node of the bus and waits, up to `timeout`, until each of
/// `nodes` (server ids, as `$SYS.SERVER.<id>.STATSZ` names them) has answered. Answers what each
/// node that did said: an empty text when it stored the JWT, else its refusal. A node just
/// started may not hear a push made before its interest reached the others: the caller
/// pushes again to a node missing from the answer.
result<std::map<std::string, std::string>> push_account_jwt_to(transport& system_user,
                                                               const std::string& account_jwt,
                                                               const std::set<std::string>& nodes,
                                                               std::chrono::milliseconds timeout);

/// Whether the node `node` (a server id) runs the account of `account_jwt` with every
/// revocation that JWT carries (`$SYS.REQ.SERVER.<id>.ACCOUNTZ`): nullopt when the account is
/// not loaded there, as its next client would load it from the node's resolver folder. A node
/// that stored a pushed JWT may still run an older one it was loading at that moment.
result<std::optional<bool>> node_holds_revocations(transport& system_user, const std::string& node,
                                                   const std::string& account_jwt,
                                                   std::chrono::milliseconds timeout);

/// Pushes an account JWT to the servers at `urls` as the system user of `system_creds`
/// (`$SYS.REQ.CLAIMS.UPDATE`), so that a revocation holds at once; `ca_file` checks a TLS
/// server (empty for a loopback bus). An error says which server refused it or did not answer.
result<> push_account_jwt(const std::string& urls, const std::filesystem::path& ca_file,
                          const std::filesystem::path& system_creds,
                          const std::string& account_jwt);

}  // namespace mk::bus
