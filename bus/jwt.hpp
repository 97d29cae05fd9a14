#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "bus/nkeys.hpp"
#include "bus/server_config.hpp"
#include "config/expected.hpp"

/// The JWTs of NATS decentralized authentication (operator mode, docs/security.md), minted
/// here with the nkeys of bus/nkeys.hpp: nats-server trusts the operator, the operator signs
/// the accounts, an account signs its users. A user JWT carries the user's subject
/// permissions, so adding a user (an agent) changes no server; an account JWT carries the
/// revocations that end a user at once.
namespace mk::bus::jwt {

/// The operator's JWT, naming the system account (nats-server's `operator` file).
expected<std::string, std::string> operator_jwt(const nkeys::key_pair& op, std::string_view name,
                                                std::string_view system_account);

/// An account's JWT signed by the operator. `jetstream`: the account may keep streams and
/// buckets (without limits); the system account may not. `revocations`: user public key ->
/// unix seconds; a user JWT issued at or before that time is refused, and its connection
/// closed once the server has the new account JWT.
expected<std::string, std::string> account_jwt(
    const nkeys::key_pair& op, std::string_view account_public, std::string_view name,
    bool jetstream, const std::map<std::string, std::int64_t>& revocations);

/// A user's JWT signed by its account, with its subject permissions (`allow_responses`: it
/// may answer requests it received, once each).
expected<std::string, std::string> user_jwt(const nkeys::key_pair& account,
                                            std::string_view user_public, std::string_view name,
                                            const permissions& perms);

/// The `.creds` file NATS clients read: the user's JWT and its seed. A secret (mode 0600).
std::string creds(std::string_view user_jwt, const nkeys::key_pair& user);

/// The claims of a JWT whose signature its issuer (`iss`) made; an error names what is wrong.
expected<nlohmann::json, std::string> verified_claims(std::string_view token);

}  // namespace mk::bus::jwt
