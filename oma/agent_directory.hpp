#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bus/error.hpp"
#include "bus/home.hpp"
#include "models/join_file.hpp"
#include "oma/document_bucket.hpp"

namespace mk::actors {

/// An agent enrolled on this OMA's bus (bucket `<prefix>_agents`, key = its id).
struct agent_record {
  std::string id;
  std::string user;  ///< its NATS user's public key: what a revocation names
  std::string psk;   ///< the key its movers open their volumes with (hex)
  std::int64_t enrolled_ms = 0;
  bool builtin = false;  ///< `migratekit up`'s own agent, in the OMA's process
};

/// Where the agents find the bus: what a join file says.
struct bus_access {
  std::vector<std::string> urls;
  std::string ca_pem;  ///< empty: loopback, no TLS
};

/// Enrolment and revocation of agents (docs/security.md): each agent gets a NATS user of its
/// own, minted from the bus's keys (bus/home.hpp), so that adding one changes no bus node;
/// removing one revokes its user and pushes the account to the bus, which closes its
/// connection at once. Blocking (JetStream, the bus): called from the API's threads, never
/// from an actor's. Thread-safe.
class agent_directory {
 public:
  agent_directory(std::shared_ptr<document_bucket> bucket, std::shared_ptr<bus::bus_home> home,
                  bus_access access, std::string oma_urls, std::filesystem::path oma_ca_file);

  /// A new agent and its join file; errc::conflict if the id is enrolled already,
  /// errc::invalid for an id that is not one, or a name of the OMA's own users.
  bus::result<std::pair<agent_record, join_file>> enrol(const std::string& id);
  /// An agent that runs in the OMA's process (`up`'s "local", whose credentials `up` mints
  /// itself before the OMA runs): listed as enrolled, never revocable.
  bus::result<> enrol_builtin(const std::string& id);
  bus::result<std::vector<agent_record>> list();
  bus::result<std::optional<agent_record>> find(const std::string& id);
  /// Revokes the agent's user at once on the bus, then forgets the agent. errc::not_found if
  /// it is not enrolled, errc::conflict for a built-in one.
  bus::result<> revoke(const std::string& id);

 private:
  bus::result<> store(const agent_record& r);

  std::mutex mutex_;  // one enrolment or revocation at a time: the revocations file is one
  std::shared_ptr<document_bucket> bucket_;
  std::shared_ptr<bus::bus_home> home_;
  bus_access access_;
  std::string oma_urls_;  ///< how the OMA reaches the bus: where revocations are pushed
  std::filesystem::path oma_ca_file_;  ///< and the CA of its TLS (empty: none)
};

}  // namespace mk::actors
