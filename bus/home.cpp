#include "bus/home.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <sstream>
#include <string_view>

#include "bus/jwt.hpp"
#include "bus/nats_server.hpp"
#include "bus/subjects.hpp"
#include "sys/atomic_file.hpp"
#include "sys/random_hex.hpp"

namespace mk::bus {

namespace fs = std::filesystem;

namespace {

result<> write_secret(const fs::path& path, const std::string& text) {
  if (auto w = sys::write_file_atomically(path, text, 0600); !w)
    return fail(errc::io, w.error().message);
  return {};
}

/// DATA/nats/keys/revocations, or none when it was never written.
result<std::map<std::string, std::int64_t>> read_revocations(const fs::path& path) {
  std::map<std::string, std::int64_t> out;
  std::error_code ec;
  if (!fs::exists(path, ec)) return out;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  try {
    const auto doc = nlohmann::json::parse(text.str());
    for (const auto& [key, at] : doc.items()) {
      if (!at.is_number_integer() || key.size() != 56 || key[0] != 'U')
        return fail(errc::invalid, path.string() + ": \"" + key + "\" is not a revocation");
      out[key] = at.get<std::int64_t>();
    }
  } catch (const nlohmann::json::exception& e) {
    return fail(errc::invalid, path.string() + ": " + e.what());
  }
  return out;
}

result<fs::path> mint_file(const bus_trust& trust, const fs::path& path, std::string_view name,
                           const permissions& perms) {
  auto user = trust.mint_user(name, perms);
  if (!user) return std::unexpected(std::move(user.error()));
  if (auto ok = write_secret(path, user->creds); !ok) return std::unexpected(std::move(ok.error()));
  return path;
}

}  // namespace

result<bus_home> bus_home::open(const fs::path& data_dir, std::string prefix) {
  const auto dir = fs::absolute(data_dir) / "nats";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(errc::io, "create " + dir.string() + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) return fail_errno(errc::io, "chmod " + dir.string(), errno);
  auto trust = bus_trust::open(dir / "keys");
  if (!trust) return std::unexpected(std::move(trust.error()));
  bus_home home(std::move(*trust));
  home.prefix_ = std::move(prefix);
  home.keys_ = dir / "keys";
  auto revoked = read_revocations(home.keys_ / "revocations");
  if (!revoked) return std::unexpected(std::move(revoked.error()));
  home.revocations_ = std::move(*revoked);

  auto oma = mint_file(home.trust_, dir / "oma.creds", "oma",
                       permissions_for(role::oma, home.prefix_, "oma"));
  if (!oma) return std::unexpected(std::move(oma.error()));
  home.oma_creds_ = std::move(*oma);
  auto ctl = mint_file(home.trust_, dir / "ctl.creds", "ctl",
                       permissions_for(role::ctl, home.prefix_, "ctl"));
  if (!ctl) return std::unexpected(std::move(ctl.error()));
  home.ctl_creds_ = std::move(*ctl);
  auto system = home.trust_.mint_system_user("system");
  if (!system) return std::unexpected(std::move(system.error()));
  home.system_creds_ = home.keys_ / "system.creds";
  if (auto ok = write_secret(home.system_creds_, system->creds); !ok)
    return std::unexpected(std::move(ok.error()));
  return home;
}

result<operator_trust> bus_home::server_trust() const {
  std::lock_guard lock(*mu_);
  return trust_.server_trust(revocations_);
}

result<bus_trust::minted> bus_home::mint_agent(std::string_view id) const {
  return trust_.mint_user(id, permissions_for(role::vma, prefix_, id));
}

result<std::string> bus_home::revoke(const std::string& public_key) {
  std::lock_guard lock(*mu_);
  // A revocation covers JWTs issued at or before its second: the next one is the first
  // accepted again, which never matters as every agent gets a key of its own.
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto next = revocations_;
  next[public_key] = now;
  nlohmann::json doc = nlohmann::json::object();
  for (const auto& [key, at] : next) doc[key] = at;
  if (auto ok = write_secret(keys_ / "revocations", doc.dump(2) + "\n"); !ok)
    return std::unexpected(std::move(ok.error()));
  revocations_ = std::move(next);
  return trust_.product_account_jwt(revocations_);
}

result<std::string> bus_home::route_password() const {
  std::lock_guard lock(*mu_);
  const auto path = keys_ / "routes";
  auto kept = sys::read_secret_file(path, "the routes' password");
  if (kept && kept->size() >= 64) return kept->substr(0, 64);
  std::error_code ec;
  if (fs::exists(path, ec))
    return fail(errc::io, kept ? path.string() + ": too short" : kept.error().message);
  auto hex = sys::random_hex(32);
  if (!hex) return fail(errc::io, "the routes' password: " + hex.error().message);
  if (auto ok = write_secret(path, *hex + "\n"); !ok) return std::unexpected(std::move(ok.error()));
  return *hex;
}

result<std::string> bus_home::account_jwt() const {
  std::lock_guard lock(*mu_);
  return trust_.product_account_jwt(revocations_);
}

result<nats_options> local_client_options(const fs::path& data_dir, role r) {
  if (r == role::vma)
    return fail(errc::invalid, "an agent's credentials are in its join file, not in DATA/nats");
  auto urls = read_urls(data_dir);
  if (!urls) return std::unexpected(std::move(urls.error()));
  nats_options opts;
  for (const auto& url : *urls) opts.url += (opts.url.empty() ? "" : ",") + url;
  opts.name = to_string(r);
  opts.creds_file = fs::absolute(data_dir) / "nats" / (std::string(to_string(r)) + ".creds");
  opts.inbox_prefix = inbox_prefix(to_string(r));
  if (opts.url.starts_with("tls://")) opts.ca_file = fs::absolute(data_dir) / "tls" / "ca.pem";
  return opts;
}

result<> push_account_jwt(const std::string& urls, const fs::path& ca_file,
                          const fs::path& system_creds, const std::string& account_jwt) {
  nats_options opts;
  opts.url = urls;
  opts.ca_file = ca_file;
  opts.name = "oma claims";
  opts.creds_file = system_creds;
  opts.inbox_prefix = inbox_prefix("system");
  opts.retry_on_failed_connect = false;
  auto t = nats_transport::connect(opts);
  if (!t) return fail(t.error().code, "push the account JWT: " + t.error().message);
  return push_account_jwt(**t, account_jwt);
}

namespace {

constexpr std::string_view claims_update = "$SYS.REQ.CLAIMS.UPDATE";

std::span<const std::uint8_t> bytes_of(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

/// A server's answer to a push (`{"server": {"id": ...}, "data": {"code": 200, ...}}`, or
/// `"error"` instead of `"data"`): its server id, and whether it stored the JWT.
struct claims_answer {
  std::string server;
  bool stored = false;
};

std::optional<claims_answer> read_claims_answer(std::span<const std::uint8_t> data) {
  const auto doc = nlohmann::json::parse(data.begin(), data.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  claims_answer out;
  if (doc.contains("server") && doc["server"].is_object())
    out.server = doc["server"].value("id", std::string());
  out.stored =
      doc.contains("data") && doc["data"].is_object() && doc["data"].value("code", 0) == 200;
  return out;
}

}  // namespace

result<> push_account_jwt(transport& system_user, const std::string& account_jwt) {
  auto answer =
      system_user.request(claims_update, bytes_of(account_jwt), defaults::bus::claims_push_timeout);
  if (!answer) return fail(answer.error().code, "push the account JWT: " + answer.error().message);
  const auto said = read_claims_answer(answer->data);
  if (!said || !said->stored)
    return fail(errc::io, "push the account JWT: the server answered " +
                              std::string(answer->data.begin(), answer->data.end()));
  return {};
}

result<std::map<std::string, std::string>> push_account_jwt_to(transport& system_user,
                                                               const std::string& account_jwt,
                                                               const std::set<std::string>& nodes,
                                                               std::chrono::milliseconds timeout) {
  struct answers {
    std::mutex mu;
    std::condition_variable cv;
    std::map<std::string, std::string> by_node;
  };
  auto got = std::make_shared<answers>();
  const auto reply = inbox_prefix("system") + ".claims." + unique_token();
  auto sub = system_user.subscribe(reply, [got](const envelope& e) {
    const auto said = read_claims_answer(e.data);
    if (!said || said->server.empty()) return;
    std::lock_guard lock(got->mu);
    got->by_node[said->server] =
        said->stored ? std::string() : std::string(e.data.begin(), e.data.end());
    got->cv.notify_all();
  });
  if (!sub) return fail(sub.error().code, "push the account JWT: " + sub.error().message);
  if (auto sent = system_user.publish_request(claims_update, bytes_of(account_jwt), reply); !sent)
    return fail(sent.error().code, "push the account JWT: " + sent.error().message);
  std::unique_lock lock(got->mu);
  got->cv.wait_for(lock, timeout, [&] {
    return std::ranges::all_of(nodes, [&](const auto& n) { return got->by_node.contains(n); });
  });
  auto out = got->by_node;
  lock.unlock();
  sub->reset();
  return out;
}

result<std::optional<bool>> node_holds_revocations(transport& system_user, const std::string& node,
                                                   const std::string& account_jwt,
                                                   std::chrono::milliseconds timeout) {
  const auto where = "look at the account on node " + node;
  auto ours = jwt::verified_claims(account_jwt);
  if (!ours) return fail(errc::invalid, where + ": " + ours.error());
  const auto account = ours->value("sub", std::string());
  const auto query = nlohmann::json{{"account", account}}.dump();
  auto answer =
      system_user.request("$SYS.REQ.SERVER." + node + ".ACCOUNTZ", bytes_of(query), timeout);
  if (!answer) return fail(answer.error().code, where + ": " + answer.error().message);
  const std::string text(answer->data.begin(), answer->data.end());
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return fail(errc::io, where + ": it answered " + text);
  if (doc.contains("error")) {
    const auto said =
        doc["error"].is_object() ? doc["error"].value("description", std::string()) : std::string();
    if (said.find("does not exist") != std::string::npos) return std::optional<bool>{};
    return fail(errc::io, where + ": it answered " + text);
  }
  const auto theirs = nlohmann::json::json_pointer("/data/account_detail/decoded_jwt/nats");
  const auto revoked = nlohmann::json::json_pointer("/revocations");
  if (!doc.contains(theirs)) return std::optional<bool>{false};
  const auto& nats = doc[theirs];
  const auto& wanted = ours->contains("nats") ? (*ours)["nats"] : nlohmann::json::object();
  if (!wanted.contains(revoked)) return std::optional<bool>{true};
  for (const auto& [user, since] : wanted[revoked].items()) {
    const auto key = nlohmann::json::json_pointer("/revocations/" + user);
    if (!nats.contains(key) || !nats[key].is_number() || nats[key] < since)
      return std::optional<bool>{false};
  }
  return std::optional<bool>{true};
}

}  // namespace mk::bus
