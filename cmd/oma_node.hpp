#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "actors/actor_config.hpp"
#include "actors/blocking_lanes.hpp"
#include "actors/bus_link.hpp"
#include "api/job_feed.hpp"
#include "api/server.hpp"
#include "bus/home.hpp"
#include "bus/nats_transport.hpp"
#include "bus/node_watch.hpp"
#include "bus/state.hpp"
#include "cmd/daemon.hpp"
#include "cmd/folder_lock.hpp"
#include "config/defaults.hpp"
#include "oma/agent_directory.hpp"
#include "oma/interfaces.hpp"
#include "oma/job_store.hpp"
#include "oma/volumes/backend.hpp"

namespace mk::cmd {

struct oma_node_options {
  /// Where the bus is (URLs separated by commas). It must trust the operator of DATA/nats
  /// (bus/home.hpp): the OMA connects with the credentials it mints from there.
  std::string nats_url;
  /// DATA/nats already opened by the caller (that started the bus from it); else opened here.
  std::shared_ptr<bus::bus_home> home;
  /// `--advertise HOST`: the address other hosts reach this OMA at. The bus it starts listens
  /// there with TLS, and agents' join files name it (docs/security.md).
  std::string advertise;
  /// The CA the bus's certificate is checked against (DATA/tls/ca.pem); empty: no TLS.
  std::filesystem::path ca_file;
  /// Volumes under DATA/volumes; the API's token and URL files in DATA.
  std::filesystem::path data_dir;
  std::string prefix{defaults::bus::prefix};
  /// Copies of the JetStream state: 3 on a bus of three nodes or more (docs/bus.md).
  int replicas = defaults::bus::replicas;
  double grace_s = std::chrono::duration<double>(defaults::vma::grace).count();
  /// host:port of the REST API; port 0 takes a free one.
  std::string listen{defaults::api::listen};
};

/// The options `migratekit oma` and `migratekit up` share: --listen, --prefix and --grace.
void add_oma_node_options(CLI::App& cmd, oma_node_options& options);

/// The orchestrator as one object, for `migratekit oma` and `migratekit up` alike: its bus
/// connection, the JetStream state, the local volumes, the actors (volume, job directory,
/// poller, scheduler, and one job actor per job) and the REST API over them.
///
/// start() returns once everything is up: the jobs are being recovered from the store by then
/// (the registry does it on its own thread). shutdown() takes it down in the order its parts
/// depend on each other: the API (no new requests reach the actors), the actors (their
/// subscriptions go with them), the store, the connection. NATS.c itself is left to the
/// caller's bus::close_nats(), as other connections of the process may still be open.
class oma_node {
 public:
  static expected<std::unique_ptr<oma_node>, start_error> start(const oma_node_options& options);

  /// shutdown().
  ~oma_node();
  oma_node(const oma_node&) = delete;
  oma_node& operator=(const oma_node&) = delete;

  /// Idempotent; running movers and volume servers go on, found again at the next start.
  void shutdown();
  /// The API alone, first step of shutdown(); the actors keep running.
  void stop_api();

  /// Turns true if the job directory ended on its own (an error, already logged).
  const std::atomic<bool>& down() const { return down_; }

  caf::actor_system& system() { return *system_; }
  /// The job directory (oma/registry_actor.hpp): msg::replicate_request, msg::stop_request,
  /// (resume_atom, id), (get_atom, id), each answered with the job's record.
  const actors::registry_hdl& registry() const { return registry_; }
  api::job_feed& feed() { return *feed_; }
  const std::shared_ptr<actors::job_store>& store() const { return store_; }
  /// The OMA's sender on the bus, for the headers of requests made on its behalf.
  const actors::bus_link& bus() const { return *link_; }
  /// http://HOST:PORT as bound.
  std::string api_url() const;
  /// An agent in this process (`up`'s own, whose hello came before this OMA listened): enrolled
  /// as built-in, listed (GET /agents) and polled for its health from now on, jobs or none.
  void expect_builtin_agent(const std::string& id);
  const std::string& api_token() const { return token_; }

 private:
  oma_node() = default;
  expected<void, start_error> run(const oma_node_options& options);
  /// A part the OMA cannot do without ended (not by a shutdown): logged, and down() turns true.
  void on_part_ended(const char* name, const caf::error& why);

  std::optional<folder_lock> lock_;  // first in, last out: held while anything else lives
  std::atomic<bool> down_{false};
  std::shared_ptr<bus::bus_home> home_;
  std::shared_ptr<bus::nats_transport> transport_;
  std::unique_ptr<bus::node_watch> nodes_;
  std::shared_ptr<bus::state_store> state_;
  std::shared_ptr<volumes::volume_backend> volumes_;
  std::unique_ptr<actors::actor_config> config_;
  std::unique_ptr<caf::actor_system> system_;
  std::shared_ptr<actors::blocking_lanes> store_lanes_;
  std::shared_ptr<actors::blocking_lanes> request_lanes_;
  std::shared_ptr<actors::bus_link> link_;
  std::shared_ptr<actors::job_store> store_;
  std::shared_ptr<api::job_feed> feed_;
  std::shared_ptr<actors::agent_directory> agents_;
  actors::registry_hdl registry_;
  caf::actor maintenance_;
  caf::actor poller_;
  caf::actor scheduler_;
  actors::volume_hdl volume_;
  std::unique_ptr<api::server> api_;
  std::string token_;
};

}  // namespace mk::cmd
