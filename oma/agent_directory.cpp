#include "oma/agent_directory.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "messages/subjects.hpp"

namespace mk::actors {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

nlohmann::json to_json(const agent_record& r) {
  return {{"id", r.id},
          {"user", r.user},
          {"psk", r.psk},
          {"enrolled_ms", r.enrolled_ms},
          {"builtin", r.builtin}};
}

bus::result<agent_record> from_json(const std::string& key, const std::string& text) {
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  agent_record r;
  try {
    if (doc.is_discarded() || !doc.is_object()) throw std::invalid_argument("not an object");
    r.id = doc.at("id").get<std::string>();
    r.user = doc.at("user").get<std::string>();
    r.psk = doc.at("psk").get<std::string>();
    r.enrolled_ms = doc.value("enrolled_ms", std::int64_t{0});
    r.builtin = doc.value("builtin", false);
  } catch (const std::exception& e) {
    return bus::fail(bus::errc::invalid, "agent record " + key + ": " + e.what());
  }
  if (r.id != key) return bus::fail(bus::errc::invalid, "agent record " + key + ": names " + r.id);
  return r;
}

/// Names the OMA's own bus users take: an agent named so would share their inbox.
bool reserved(const std::string& id) { return id == "oma" || id == "ctl" || id == "system"; }

}  // namespace

agent_directory::agent_directory(std::shared_ptr<document_bucket> bucket,
                                 std::shared_ptr<bus::bus_home> home, bus_access access,
                                 std::string oma_urls, std::filesystem::path oma_ca_file)
    : bucket_(std::move(bucket)),
      home_(std::move(home)),
      access_(std::move(access)),
      oma_urls_(std::move(oma_urls)),
      oma_ca_file_(std::move(oma_ca_file)) {}

bus::result<> agent_directory::store(const agent_record& r) {
  return bucket_->put(r.id, to_json(r).dump());
}

bus::result<std::pair<agent_record, join_file>> agent_directory::enrol(const std::string& id) {
  if (!msg::valid_id(id))
    return bus::fail(bus::errc::invalid, "id \"" + id + "\": ^[a-z0-9][a-z0-9-]{0,62}$ expected");
  if (reserved(id))
    return bus::fail(bus::errc::invalid,
                     "id \"" + id + "\": the name of one of the OMA's own users");
  std::lock_guard lock(mutex_);
  auto old = bucket_->get(id);
  if (!old) return mk::unexpected(std::move(old.error()));
  if (*old) return bus::fail(bus::errc::conflict, "agent " + id + " is enrolled already");
  auto user = home_->mint_agent(id);
  if (!user) return mk::unexpected(std::move(user.error()));
  auto psk = random_psk_hex();
  if (!psk) return bus::fail(bus::errc::io, "agent " + id + ": " + psk.error());
  agent_record r{id, user->public_key, *psk, now_ms(), false};
  if (auto ok = store(r); !ok) return mk::unexpected(std::move(ok.error()));
  join_file j;
  j.agent = id;
  j.prefix = home_->prefix();
  j.urls = access_.urls;
  j.ca_pem = access_.ca_pem;
  j.creds = user->creds;
  j.psk_identity = id;
  j.psk_hex = r.psk;
  spdlog::info("agent {} enrolled (user {})", id, r.user);
  return std::pair{std::move(r), std::move(j)};
}

bus::result<> agent_directory::enrol_builtin(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto old = find(id);
  if (!old) return mk::unexpected(std::move(old.error()));
  if (*old && (*old)->builtin) return {};
  auto psk = random_psk_hex();
  if (!psk) return bus::fail(bus::errc::io, "agent " + id + ": " + psk.error());
  return store({id, "", *psk, now_ms(), true});
}

bus::result<std::vector<agent_record>> agent_directory::list() {
  auto keys = bucket_->keys();
  if (!keys) return mk::unexpected(std::move(keys.error()));
  std::vector<agent_record> out;
  for (const auto& key : *keys) {
    auto found = find(key);
    if (!found) return mk::unexpected(std::move(found.error()));
    if (*found) out.push_back(std::move(**found));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

bus::result<std::optional<agent_record>> agent_directory::find(const std::string& id) {
  if (!msg::valid_id(id)) return std::optional<agent_record>();
  auto text = bucket_->get(id);
  if (!text) return mk::unexpected(std::move(text.error()));
  if (!*text) return std::optional<agent_record>();
  auto r = from_json(id, **text);
  if (!r) return mk::unexpected(std::move(r.error()));
  return std::optional<agent_record>(std::move(*r));
}

bus::result<> agent_directory::revoke(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto found = find(id);
  if (!found) return mk::unexpected(std::move(found.error()));
  if (!*found) return bus::fail(bus::errc::not_found, "no agent " + id + " is enrolled");
  if ((*found)->builtin)
    return bus::fail(bus::errc::conflict,
                     "agent " + id + " runs in the OMA's own process (migratekit up)");
  // The revocation is durable before it is pushed: a server started later has it too.
  auto account = home_->revoke((*found)->user);
  if (!account) return mk::unexpected(std::move(account.error()));
  if (auto pushed = bus::push_account_jwt(oma_urls_, oma_ca_file_, home_->system_creds(), *account);
      !pushed)
    return bus::fail(pushed.error().code,
                     "agent " + id + " is revoked for servers started from now on, but " +
                         pushed.error().message + "; DELETE it again to push once more");
  if (auto erased = bucket_->erase(id); !erased) return erased;
  spdlog::info("agent {} revoked (user {})", id, (*found)->user);
  return {};
}

}  // namespace mk::actors
