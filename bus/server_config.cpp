#include "bus/server_config.hpp"

#include <sstream>

namespace mk::bus {

namespace {

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "\"" : ", \"") + items[i] + "\"";
  }
  return out + "]";
}

}  // namespace

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

permissions permissions_for(role r, const std::string& prefix,
                            const std::vector<std::string>& vma_agents) {
  const auto p = prefix + ".";
  permissions perm;
  switch (r) {
    case role::oma:
      // The whole product namespace (the JobLog stream's `<prefix>.log.>` included), the
      // JetStream API, KeyValue writes, and acks and flow control of its consumers.
      perm.publish = {p + ">", "$JS.API.>", "$KV.>", "$JS.ACK.>", "$JS.FC.>"};
      perm.subscribe = {p + ">", "_INBOX.>"};
      perm.allow_responses = true;  // answers ctl's requests on <prefix>.control.*
      break;
    case role::vma:
      // Only its own subjects (docs/bus.md): its movers' progress and answers are under them,
      // so an agent cannot speak for another's job. No _INBOX.>: an agent makes no requests,
      // and inboxes carry the replies to everyone else's (the OMA's JetStream reads with every
      // job record, other agents' answers).
      perm.subscribe = {p + "maintenance"};
      for (const auto& agent : vma_agents) {
        perm.publish.push_back(p + "vma." + agent + ".>");
        perm.subscribe.push_back(p + "vma." + agent + ".>");
      }
      // Not reachable through the allow list either; said twice so that no later widening
      // of the list can let an agent put the fleet into maintenance.
      perm.publish_deny = {p + "maintenance"};
      perm.allow_responses = true;  // replies to start and status requests
      break;
    case role::ctl:
      perm.publish = {p + "control.>"};
      perm.subscribe = {"_INBOX.>", p + "job.*.state"};
      break;
  }
  return perm;
}

std::string render(const server_config& cfg) {
  std::ostringstream out;
  out << "# Written by migratekit at each start of its embedded nats-server; edits are lost.\n"
      << "listen: 127.0.0.1:" << cfg.port << "\n"
      << "jetstream {\n"
      << "  store_dir: \"" << cfg.store_dir.string() << "\"\n"
      << "}\n";
  if (cfg.trust) {
    // The accounts are preloaded: the resolver then has them before any client connects,
    // and later pushes ($SYS.REQ.CLAIMS.UPDATE, revocations) replace them in its folder.
    out << "operator: \"" << cfg.operator_jwt_file.string() << "\"\n"
        << "system_account: " << cfg.trust->system_account << "\n"
        << "resolver: {\n"
        << "  type: full\n"
        << "  dir: \"" << cfg.resolver_dir.string() << "\"\n"
        << "  interval: \"2m\"\n"
        << "}\n"
        << "resolver_preload: {\n";
    for (const auto& [account, token] : cfg.trust->accounts)
      out << "  " << account << ": \"" << token << "\"\n";
    out << "}\n";
    return out.str();
  }
  out << "authorization {\n"
      << "  users = [\n";
  for (const auto r : all_roles) {
    const auto perm = permissions_for(r, cfg.prefix, cfg.vma_agents);
    out << "    {\n"
        << "      user: \"" << to_string(r) << "\"\n"
        << "      password: \"" << cfg.passwords[static_cast<std::size_t>(r)] << "\"\n"
        << "      permissions: {\n"
        << "        publish: { allow: " << quoted_list(perm.publish);
    if (!perm.publish_deny.empty()) out << ", deny: " << quoted_list(perm.publish_deny);
    out << " }\n"
        << "        subscribe: { allow: " << quoted_list(perm.subscribe) << " }\n";
    if (perm.allow_responses) out << "        allow_responses: true\n";
    out << "      }\n"
        << "    }\n";
  }
  out << "  ]\n"
      << "}\n";
  return out.str();
}

}  // namespace mk::bus
