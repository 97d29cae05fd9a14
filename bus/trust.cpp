#include "bus/trust.hpp"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "bus/jwt.hpp"
#include "sys/atomic_file.hpp"

namespace mk::bus {

namespace fs = std::filesystem;

namespace {

/// The key of `dir/name.seed`, made (and kept, 0600) if the file does not exist.
result<nkeys::key_pair> seed_file(const fs::path& dir, const char* name, nkeys::kind k) {
  const auto path = dir / (std::string(name) + ".seed");
  std::error_code ec;
  if (fs::exists(path, ec)) {
    std::ifstream in(path);
    std::string text;
    std::getline(in, text);
    auto key = nkeys::key_pair::from_seed(text);
    if (!key) return fail(errc::invalid, path.string() + ": " + key.error());
    if (key->type() != k) return fail(errc::invalid, path.string() + ": a key of another kind");
    return *key;
  }
  auto key = nkeys::key_pair::generate(k);
  if (!key) return fail(errc::io, path.string() + ": " + key.error());
  if (auto w = sys::write_file_atomically(path, key->seed() + "\n", 0600); !w)
    return fail(errc::io, w.error().message);
  return *key;
}

result<std::string> or_fail(expected<std::string, std::string> token, std::string_view what) {
  if (!token) return fail(errc::io, std::string(what) + ": " + token.error());
  return *token;
}

}  // namespace

result<bus_trust> bus_trust::open(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(errc::io, dir.string() + ": " + ec.message());
  // Also when it existed: it holds the keys that every credential of the bus comes from.
  if (::chmod(dir.c_str(), 0700) != 0) return fail_errno(errc::io, "chmod " + dir.string(), errno);
  auto op = seed_file(dir, "operator", nkeys::kind::operator_key);
  if (!op) return std::unexpected(std::move(op.error()));
  auto system = seed_file(dir, "system", nkeys::kind::account);
  if (!system) return std::unexpected(std::move(system.error()));
  auto product = seed_file(dir, "product", nkeys::kind::account);
  if (!product) return std::unexpected(std::move(product.error()));
  return bus_trust(std::move(*op), std::move(*system), std::move(*product));
}

result<operator_trust> bus_trust::server_trust(
    const std::map<std::string, std::int64_t>& revocations) const {
  operator_trust t;
  t.system_account = system_.public_key();
  auto op = or_fail(jwt::operator_jwt(operator_, "migratekit", t.system_account), "operator JWT");
  if (!op) return std::unexpected(std::move(op.error()));
  t.operator_jwt = std::move(*op);
  auto sys = or_fail(jwt::account_jwt(operator_, t.system_account, "SYS", false, {}),
                     "system account JWT");
  if (!sys) return std::unexpected(std::move(sys.error()));
  t.accounts[t.system_account] = std::move(*sys);
  auto product = product_account_jwt(revocations);
  if (!product) return std::unexpected(std::move(product.error()));
  t.accounts[product_account()] = std::move(*product);
  return t;
}

result<std::string> bus_trust::product_account_jwt(
    const std::map<std::string, std::int64_t>& revocations) const {
  return or_fail(jwt::account_jwt(operator_, product_account(), "MK", true, revocations),
                 "product account JWT");
}

namespace {

result<bus_trust::minted> mint(const nkeys::key_pair& account, std::string_view name,
                               const permissions& perms) {
  auto user = nkeys::key_pair::generate(nkeys::kind::user);
  if (!user) return fail(errc::io, "user " + std::string(name) + ": " + user.error());
  auto token = or_fail(jwt::user_jwt(account, user->public_key(), name, perms),
                       "user " + std::string(name) + " JWT");
  if (!token) return std::unexpected(std::move(token.error()));
  return bus_trust::minted{user->public_key(), jwt::creds(*token, *user)};
}

}  // namespace

result<bus_trust::minted> bus_trust::mint_user(std::string_view name,
                                               const permissions& perms) const {
  return mint(product_, name, perms);
}

result<bus_trust::minted> bus_trust::mint_system_user(std::string_view name) const {
  permissions perms;
  // The statistics nodes announce, and the account as a node runs it: a node that joins or
  // comes back is pushed the JWT again until it runs it (bus/node_watch.hpp).
  perms.publish = {"$SYS.REQ.CLAIMS.UPDATE", "$SYS.REQ.SERVER.*.ACCOUNTZ"};
  perms.subscribe = {"_INBOX_" + std::string(name) + ".>", "$SYS.SERVER.*.STATSZ"};
  return mint(system_, name, perms);
}

}  // namespace mk::bus
