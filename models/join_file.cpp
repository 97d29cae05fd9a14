#include "models/join_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "messages/subjects.hpp"
#include "sys/atomic_file.hpp"
#include "sys/random_hex.hpp"

namespace mk::actors {

namespace {

bool hex_key(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

nlohmann::json to_json(const join_file& j) {
  return {{"v", 1},
          {"agent", j.agent},
          {"prefix", j.prefix},
          {"nats",
           {{"urls", j.urls},
            {"ca", j.ca_pem.empty() ? nlohmann::json(nullptr) : nlohmann::json(j.ca_pem)},
            {"creds", j.creds}}},
          {"volumes", {{"psk_identity", j.psk_identity}, {"psk", j.psk_hex}}}};
}

expected<join_file, std::string> join_file_from_json(const nlohmann::json& doc) {
  using out = expected<join_file, std::string>;
  const auto bad = [](const std::string& what) { return out(unexpected(what)); };
  if (!doc.is_object()) return bad("not a JSON object");
  if (!doc.contains("v") || doc["v"] != 1) return bad("\"v\": version 1 expected");
  const auto text = [](const nlohmann::json& o, const char* key) -> const std::string* {
    if (!o.is_object() || !o.contains(key) || !o[key].is_string()) return nullptr;
    return o[key].get_ptr<const std::string*>();
  };
  join_file j;
  const auto* agent = text(doc, "agent");
  if (!agent || !msg::valid_id(*agent)) return bad("\"agent\": an agent id expected");
  j.agent = *agent;
  const auto* prefix = text(doc, "prefix");
  if (!prefix || !msg::valid_prefix(*prefix)) return bad("\"prefix\": a subject prefix expected");
  j.prefix = *prefix;
  if (!doc.contains("nats") || !doc["nats"].is_object()) return bad("\"nats\": an object expected");
  const auto& nats = doc["nats"];
  if (!nats.contains("urls") || !nats["urls"].is_array() || nats["urls"].empty())
    return bad("\"nats.urls\": a list of URLs expected");
  for (const auto& url : nats["urls"]) {
    if (!url.is_string() || url.get<std::string>().empty() ||
        url.get<std::string>().find_first_of(", \n") != std::string::npos)
      return bad("\"nats.urls\": each one a URL without spaces or commas");
    j.urls.push_back(url.get<std::string>());
  }
  if (nats.contains("ca") && !nats["ca"].is_null()) {
    const auto* ca = text(nats, "ca");
    if (!ca || ca->find("-----BEGIN CERTIFICATE-----") == std::string::npos)
      return bad("\"nats.ca\": a PEM certificate or null expected");
    j.ca_pem = *ca;
  }
  const auto* creds = text(nats, "creds");
  if (!creds || creds->find("BEGIN NATS USER JWT") == std::string::npos)
    return bad("\"nats.creds\": NATS user credentials expected");
  j.creds = *creds;
  if (!doc.contains("volumes") || !doc["volumes"].is_object())
    return bad("\"volumes\": an object expected");
  const auto* identity = text(doc["volumes"], "psk_identity");
  if (!identity || !msg::valid_id(*identity))
    return bad("\"volumes.psk_identity\": an id expected");
  j.psk_identity = *identity;
  const auto* psk = text(doc["volumes"], "psk");
  if (!psk || !hex_key(*psk)) return bad("\"volumes.psk\": 64 lowercase hex digits expected");
  j.psk_hex = *psk;
  return j;
}

expected<join_file, std::string> read_join_file(const std::filesystem::path& path) {
  using out = expected<join_file, std::string>;
  auto text = sys::read_secret_file(path, "join file");
  if (!text) return out(unexpected(text.error().message));
  const auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (doc.is_discarded()) return out(unexpected("join file " + path.string() + ": not JSON"));
  auto j = join_file_from_json(doc);
  if (!j) return out(unexpected("join file " + path.string() + ": " + j.error()));
  return j;
}

expected<void, std::string> write_join_file(const std::filesystem::path& path, const join_file& j) {
  if (auto w = sys::write_file_atomically(path, to_json(j).dump(2) + "\n", 0600); !w)
    return unexpected(w.error().message);
  return {};
}

expected<std::string, std::string> random_psk_hex() {
  auto hex = sys::random_hex(32);
  if (!hex) return unexpected(hex.error().message);
  return *hex;
}

}  // namespace mk::actors
