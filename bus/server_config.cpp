#include "bus/server_config.hpp"

#include <sstream>

namespace mk::bus {

const char* to_string(role r) {
  switch (r) {
    case role::oma:
      return "oma";
    case role::vma:
      return "vma";
    case role::ctl:
      return "ctl";
  }
  return "unknown";
}

std::string inbox_prefix(std::string_view name) { return "_INBOX_" + std::string(name); }

permissions permissions_for(role r, const std::string& prefix, std::string_view name) {
  const auto p = prefix + ".";
  const auto inbox = inbox_prefix(name) + ".>";
  permissions perm;
  switch (r) {
    case role::oma:
      // The whole product namespace (the JobLog stream's `<prefix>.log.>` included), the
      // JetStream API, KeyValue writes, and acks and flow control of its consumers.
      perm.publish = {p + ">", "$JS.API.>", "$KV.>", "$JS.ACK.>", "$JS.FC.>"};
      perm.subscribe = {p + ">", inbox};
      perm.allow_responses = true;  // answers ctl's requests on <prefix>.control.*
      break;
    case role::vma:
      // Only its own subjects (docs/bus.md): its movers' progress and answers are under them,
      // so an agent cannot speak for another's job.
      perm.publish = {p + "vma." + std::string(name) + ".>"};
      perm.subscribe = {p + "vma." + std::string(name) + ".>", p + "maintenance", inbox};
      // Not reachable through the allow list either; said twice so that no later widening
      // of the list can let an agent put the fleet into maintenance.
      perm.publish_deny = {p + "maintenance"};
      perm.allow_responses = true;  // replies to start and status requests
      break;
    case role::ctl:
      perm.publish = {p + "control.>"};
      perm.subscribe = {inbox, p + "job.*.state"};
      break;
  }
  return perm;
}

std::string render(const server_config& cfg) {
  std::ostringstream out;
  // The accounts are preloaded: the resolver then has them before any client connects, and
  // later pushes ($SYS.REQ.CLAIMS.UPDATE, revocations) replace them in its folder.
  out << "# Written by migratekit at each start of its embedded nats-server; edits are lost.\n"
      << "listen: \"" << (cfg.host.find(':') != std::string::npos ? "[" + cfg.host + "]" : cfg.host)
      << ":" << cfg.port << "\"\n";
  if (!cfg.tls_cert.empty()) {
    out << "tls {\n"
        << "  cert_file: \"" << cfg.tls_cert.string() << "\"\n"
        << "  key_file: \"" << cfg.tls_key.string() << "\"\n"
        << "  timeout: 5\n"
        << "}\n";
  }
  if (!cfg.server_name.empty()) out << "server_name: \"" << cfg.server_name << "\"\n";
  if (cfg.cluster) {
    const auto& c = *cfg.cluster;
    const auto hostport = [](const std::string& host, std::uint16_t port) {
      return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
             std::to_string(port);
    };
    out << "cluster {\n"
        << "  name: \"" << c.name << "\"\n"
        << "  listen: \"" << hostport(c.host, c.port) << "\"\n"
        << "  authorization {\n"
        << "    user: \"" << c.user << "\"\n"
        << "    password: \"" << c.password << "\"\n"
        << "  }\n";
    if (!c.tls_cert.empty())
      out << "  tls {\n"
          << "    cert_file: \"" << c.tls_cert.string() << "\"\n"
          << "    key_file: \"" << c.tls_key.string() << "\"\n"
          << "    ca_file: \"" << c.tls_ca.string() << "\"\n"
          << "    verify: true\n"
          << "    timeout: 5\n"
          << "  }\n";
    out << "  routes: [\n";
    for (const auto& r : c.routes)
      out << "    \"nats-route://" << c.user << ":" << c.password << "@" << r << "\"\n";
    out << "  ]\n"
        << "}\n";
  }
  out << "jetstream {\n"
      << "  store_dir: \"" << cfg.store_dir.string() << "\"\n"
      << "}\n"
      << "operator: \"" << cfg.operator_jwt_file.string() << "\"\n"
      << "system_account: " << cfg.trust.system_account << "\n"
      << "resolver: {\n"
      << "  type: full\n"
      << "  dir: \"" << cfg.resolver_dir.string() << "\"\n"
      << "  interval: \"2m\"\n"
      << "}\n"
      << "resolver_preload: {\n";
  for (const auto& [account, token] : cfg.trust.accounts)
    out << "  " << account << ": \"" << token << "\"\n";
  out << "}\n";
  return out.str();
}

}  // namespace mk::bus
