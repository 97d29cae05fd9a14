#pragma once

#include <caf/actor.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "api/job_feed.hpp"
#include "config/defaults.hpp"
#include "config/expected.hpp"
#include "oma/agent_directory.hpp"
#include "oma/interfaces.hpp"
#include "oma/job_store.hpp"

namespace mk::api {

struct server_options {
  /// host:port; port 0 takes a free one (see server::url).
  std::string listen{defaults::api::listen};
  /// The bearer token every /api/ request but /healthz must carry.
  std::string token;
};

/// What the API works with: the registry (every change goes to a job actor through it), the
/// feed (the read model, events and metrics that job actors keep current) and the store (the
/// JobLog, kept after a job is deleted).
struct server_deps {
  actors::registry_hdl registry;
  caf::actor maintenance;  ///< oma/maintenance_actor.hpp
  caf::actor scheduler;    ///< oma/scheduler_actor.hpp
  std::shared_ptr<job_feed> feed;
  std::shared_ptr<actors::job_store> store;
  /// Enrolment and revocation of agents (POST and DELETE /agents); may be empty, then the
  /// agents are only listed.
  std::shared_ptr<actors::agent_directory> agents;
  /// Bus messages the transport dropped for a subscriber that fell behind (for /metrics);
  /// may be empty.
  std::function<std::uint64_t()> slow_consumer_drops;
};

/// The REST API of docs/api.md under /api/v1, `/events` as Server-Sent Events, `/healthz`
/// and `/metrics`, and `/` (the operator's page). Serves on its own threads from start() until
/// stop() or destruction.
class server {
 public:
  static expected<std::unique_ptr<server>, std::string> start(caf::actor_system& system,
                                                              server_options options,
                                                              server_deps deps);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// http://HOST:PORT with the port actually bound.
  std::string url() const;
  /// Stops accepting, ends the event streams, and returns once every request has ended.
  void stop();

 private:
  struct impl;
  explicit server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// DATA/api-token: made on first start (32 random bytes as hex, mode 0600), read afterwards.
expected<std::string, std::string> load_or_create_token(const std::filesystem::path& data_dir);

/// DATA/api-url, so that `migratekit ctl` on this machine finds the API without options.
expected<void, std::string> write_api_url(const std::filesystem::path& data_dir,
                                          const std::string& url);

}  // namespace mk::api
