#include "bus/jwt.hpp"

#include <openssl/evp.h>

#include <chrono>
#include <memory>

#include "bus/encodings.hpp"

namespace mk::bus::jwt {

namespace {

using nlohmann::json;

std::string b64url(std::string_view text) {
  return base64url(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

/// SHA-512/256 of `text`, in base32: the conventional JWT id of NATS tools (the server does
/// not check it).
expected<std::string, std::string> jwt_id(std::string_view text) {
  struct md_ctx_free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> digest{};
  unsigned len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha512_256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), text.data(), text.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest.data(), &len) != 1)
    return unexpected(std::string("SHA-512/256 failed"));
  return base32(std::span(digest.data(), len));
}

/// `claims` issued now by `issuer`, with their id, signed.
expected<std::string, std::string> sign(json claims, const nkeys::key_pair& issuer) {
  claims["iat"] = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  claims["iss"] = issuer.public_key();
  auto id = jwt_id(claims.dump());
  if (!id) return unexpected(id.error());
  claims["jti"] = *id;
  const auto signed_part =
      b64url(json{{"typ", "JWT"}, {"alg", "ed25519-nkey"}}.dump()) + "." + b64url(claims.dump());
  auto sig = issuer.sign(
      std::span(reinterpret_cast<const std::uint8_t*>(signed_part.data()), signed_part.size()));
  if (!sig) return unexpected(sig.error());
  return signed_part + "." + base64url(*sig);
}

json subjects(const std::vector<std::string>& allow, const std::vector<std::string>& deny) {
  json out = json::object();
  if (!allow.empty()) out["allow"] = allow;
  if (!deny.empty()) out["deny"] = deny;
  return out;
}

}  // namespace

expected<std::string, std::string> operator_jwt(const nkeys::key_pair& op, std::string_view name,
                                                std::string_view system_account) {
  return sign(
      {{"sub", op.public_key()},
       {"name", name},
       {"nats", {{"type", "operator"}, {"version", 2}, {"system_account", system_account}}}},
      op);
}

expected<std::string, std::string> account_jwt(
    const nkeys::key_pair& op, std::string_view account_public, std::string_view name,
    bool jetstream, const std::map<std::string, std::int64_t>& revocations) {
  // -1 is "no limit"; a limit left out is 0 and would refuse every connection.
  json limits = {{"subs", -1},    {"data", -1}, {"payload", -1}, {"imports", -1},
                 {"exports", -1}, {"conn", -1}, {"leaf", -1},    {"wildcards", true}};
  if (jetstream)
    for (const auto* key : {"mem_storage", "disk_storage", "streams", "consumer"}) limits[key] = -1;
  json nats = {{"type", "account"},
               {"version", 2},
               {"limits", limits},
               {"default_permissions", {{"pub", json::object()}, {"sub", json::object()}}}};
  if (!revocations.empty()) nats["revocations"] = revocations;
  return sign({{"sub", account_public}, {"name", name}, {"nats", nats}}, op);
}

expected<std::string, std::string> user_jwt(const nkeys::key_pair& account,
                                            std::string_view user_public, std::string_view name,
                                            const permissions& perms) {
  json nats = {{"type", "user"},
               {"version", 2},
               {"subs", -1},
               {"data", -1},
               {"payload", -1},
               {"pub", subjects(perms.publish, perms.publish_deny)},
               {"sub", subjects(perms.subscribe, {})}};
  if (perms.allow_responses) nats["resp"] = {{"max", 1}, {"ttl", 0}};
  return sign({{"sub", user_public}, {"name", name}, {"nats", nats}}, account);
}

std::string creds(std::string_view user_jwt, const nkeys::key_pair& user) {
  return "-----BEGIN NATS USER JWT-----\n" + std::string(user_jwt) +
         "\n------END NATS USER JWT------\n\n"
         "************************* IMPORTANT *************************\n"
         "NKEY Seed printed below can be used to sign and prove identity.\n"
         "NKEYs are sensitive and should be treated as secrets.\n\n"
         "-----BEGIN USER NKEY SEED-----\n" +
         user.seed() + "\n------END USER NKEY SEED------\n";
}

expected<json, std::string> verified_claims(std::string_view token) {
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos)
    return unexpected(std::string("not a JWT: three parts expected"));
  auto payload = base64url_decode(token.substr(first + 1, second - first - 1));
  auto sig = base64url_decode(token.substr(second + 1));
  if (!payload || !sig)
    return unexpected("not a JWT: " + (!payload ? payload.error() : sig.error()));
  auto claims = json::parse(payload->begin(), payload->end(), nullptr, false);
  if (!claims.is_object() || !claims.contains("iss") || !claims["iss"].is_string())
    return unexpected(std::string("not a JWT: its claims name no issuer"));
  const auto signed_part = token.substr(0, second);
  if (!nkeys::verify(
          claims["iss"].get<std::string>(),
          std::span(reinterpret_cast<const std::uint8_t*>(signed_part.data()), signed_part.size()),
          std::span(sig->data(), sig->size())))
    return unexpected(std::string("the JWT's signature is not its issuer's"));
  return claims;
}

}  // namespace mk::bus::jwt
