#include "bus/node_file.hpp"

#include <algorithm>

#include "messages/subjects.hpp"
#include "sys/atomic_file.hpp"

namespace mk::bus {

namespace {

const std::string* text_at(const nlohmann::json& o, const char* key) {
  if (!o.is_object() || !o.contains(key) || !o[key].is_string()) return nullptr;
  return o[key].get_ptr<const std::string*>();
}

/// A JWT's three base64url parts: what the trust block may hold.
bool jwt_shaped(const std::string& s) {
  return !s.empty() &&
         s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") ==
             std::string::npos &&
         std::count(s.begin(), s.end(), '.') == 2;
}

/// An nkey's public key: what names an account.
bool account_key(const std::string& s) {
  return s.size() == 56 && s[0] == 'A' &&
         s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == std::string::npos;
}

bool hex64(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

std::string bus_name(const std::string& prefix) { return "migratekit-" + prefix; }

nlohmann::json to_json(const node_file& f) {
  nlohmann::json accounts = nlohmann::json::object();
  for (const auto& [key, token] : f.trust.accounts) accounts[key] = token;
  return {
      {"v", 1},
      {"bus", f.bus},
      {"node", f.node},
      {"routes", {{"user", f.route_user}, {"password", f.route_password}}},
      {"trust",
       {{"operator", f.trust.operator_jwt},
        {"system_account", f.trust.system_account},
        {"accounts", accounts}}},
      {"tls", f.ca_pem.empty()
                  ? nlohmann::json(nullptr)
                  : nlohmann::json{{"ca", f.ca_pem}, {"cert", f.cert_pem}, {"key", f.key_pem}}}};
}

result<node_file> node_file_from_json(const nlohmann::json& doc) {
  const auto bad = [](const std::string& what) { return fail(errc::invalid, what); };
  if (!doc.is_object()) return bad("not a JSON object");
  if (!doc.contains("v") || doc["v"] != 1) return bad("\"v\": version 1 expected");
  node_file f;
  const auto* bus = text_at(doc, "bus");
  if (!bus || !bus->starts_with("migratekit-") || !msg::valid_prefix(bus->substr(11)))
    return bad("\"bus\": migratekit-<prefix> expected");
  f.bus = *bus;
  const auto* node = text_at(doc, "node");
  if (!node || !msg::valid_id(*node)) return bad("\"node\": a node name ([a-z0-9-]) expected");
  f.node = *node;
  const auto routes = doc.value("routes", nlohmann::json());
  const auto* user = text_at(routes, "user");
  const auto* password = text_at(routes, "password");
  if (!user || !msg::valid_id(*user) || !password || !hex64(*password))
    return bad("\"routes\": a user and a password of 64 hex digits expected");
  f.route_user = *user;
  f.route_password = *password;
  const auto trust = doc.value("trust", nlohmann::json());
  const auto* op = text_at(trust, "operator");
  if (!op || !jwt_shaped(*op)) return bad("\"trust.operator\": the operator's JWT expected");
  f.trust.operator_jwt = *op;
  const auto* system = text_at(trust, "system_account");
  if (!system || !account_key(*system))
    return bad("\"trust.system_account\": an account's public key expected");
  f.trust.system_account = *system;
  if (!trust.contains("accounts") || !trust["accounts"].is_object() || trust["accounts"].empty())
    return bad("\"trust.accounts\": the accounts' JWTs by public key expected");
  for (const auto& [key, token] : trust["accounts"].items()) {
    if (!account_key(key) || !token.is_string() || !jwt_shaped(token.get<std::string>()))
      return bad("\"trust.accounts\": \"" + key.substr(0, 60) + "\" is not an account with a JWT");
    f.trust.accounts[key] = token.get<std::string>();
  }
  if (!f.trust.accounts.contains(f.trust.system_account))
    return bad("\"trust.accounts\": the system account's JWT is missing");
  if (doc.contains("tls") && !doc["tls"].is_null()) {
    const auto& tls = doc["tls"];
    const auto* ca = text_at(tls, "ca");
    const auto* cert = text_at(tls, "cert");
    const auto* key = text_at(tls, "key");
    if (!ca || ca->find("-----BEGIN CERTIFICATE-----") == std::string::npos || !cert ||
        cert->find("-----BEGIN CERTIFICATE-----") == std::string::npos || !key ||
        key->find("PRIVATE KEY-----") == std::string::npos)
      return bad("\"tls\": a CA, a certificate and a key in PEM, or null, expected");
    f.ca_pem = *ca;
    f.cert_pem = *cert;
    f.key_pem = *key;
  }
  return f;
}

result<node_file> read_node_file(const std::filesystem::path& path) {
  auto text = sys::read_secret_file(path, "node file");
  if (!text) return fail(errc::invalid, text.error().message);
  const auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (doc.is_discarded()) return fail(errc::invalid, "node file " + path.string() + ": not JSON");
  auto f = node_file_from_json(doc);
  if (!f) return fail(errc::invalid, "node file " + path.string() + ": " + f.error().message);
  return f;
}

result<> write_node_file(const std::filesystem::path& path, const node_file& f) {
  if (auto w = sys::write_file_atomically(path, to_json(f).dump(2) + "\n", 0600); !w)
    return fail(errc::io, w.error().message);
  return {};
}

}  // namespace mk::bus
