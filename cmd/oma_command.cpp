// `migratekit oma`: the orchestrator. Its job actors, the poller, volume and scheduler actors,
// and the job directory, on the bus; state in JetStream; volumes under DATA/volumes.
#include "cmd/oma_command.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <thread>

#include "actors/actor_config.hpp"
#include "actors/atoms.hpp"
#include "actors/job_store.hpp"
#include "actors/poller_actor.hpp"
#include "actors/registry_actor.hpp"
#include "actors/scheduler_actor.hpp"
#include "actors/volume_actor.hpp"
#include "bus/nats_transport.hpp"
#include "bus/state.hpp"
#include "bus/subjects.hpp"
#include "cmd/daemon.hpp"
#include "volumes/local_backend.hpp"

namespace mk::cmd {

namespace {

struct oma_args {
  std::string nats_url;
  std::string data_dir;
  std::string prefix{defaults::bus::prefix};
  double grace_s = std::chrono::duration<double>(defaults::vma::grace).count();
};

/// JetStream may not answer for a moment after the server starts (or while an OMA starts
/// before its server): the store is opened again until it works or a signal ends the wait.
std::shared_ptr<bus::state_store> open_state(bus::nats_transport& t, const std::string& prefix,
                                             const std::atomic<bool>& give_up) {
  bus::state_options opts;
  opts.prefix = prefix;
  for (int attempt = 1;; ++attempt) {
    auto state = bus::state_store::open(t, opts);
    if (state)
      return std::shared_ptr<bus::state_store>(std::move(*state));
    if (attempt == 1 || attempt % 20 == 0)
      spdlog::warn("the JetStream state cannot be opened yet: {}", state.error().message);
    if (give_up.load() || attempt >= 120)
      return nullptr;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

int run(const oma_args& a) {
  if (!bus::valid_prefix(a.prefix)) {
    spdlog::error("--prefix {}: not a subject prefix", a.prefix);
    return 2;
  }
  if (!(a.grace_s > 0 && a.grace_s <= 24 * 3600)) {
    spdlog::error("--grace {}: between 0 and 86400 seconds expected", a.grace_s);
    return 2;
  }
  const auto data_dir = std::filesystem::absolute(a.data_dir);
  block_stop_signals();

  bus::nats_options nats;
  nats.url = a.nats_url;
  nats.name = "oma";
  nats.retry_on_failed_connect = true;
  auto connected = bus::nats_transport::connect(nats);
  if (!connected) {
    spdlog::error("{}", connected.error().message);
    return 1;
  }
  std::shared_ptr<bus::nats_transport> transport = std::move(*connected);
  std::atomic<bool> never{false};
  auto state = open_state(*transport, a.prefix, never);
  if (!state) {
    spdlog::error("the JetStream state could not be opened; is JetStream enabled on the server "
                  "and are these the oma role's credentials?");
    return 1;
  }
  volumes::local_backend_options vopts;
  vopts.data_dir = data_dir;
  auto backend = volumes::local_backend::open(vopts);
  if (!backend) {
    spdlog::error("volumes: {}", backend.error().message);
    return 1;
  }
  std::shared_ptr<volumes::volume_backend> volumes = std::move(*backend);

  int rc = 0;
  {
    actors::actor_config cfg;
    caf::actor_system system{cfg};
    auto link = std::make_shared<actors::bus_link>(transport, a.prefix, "oma");
    actors::job_deps deps;
    deps.bus = link;
    deps.store = actors::jetstream_job_store(state);
    deps.timing.grace = std::chrono::milliseconds(static_cast<long>(a.grace_s * 1000));
    deps.volume = actors::spawn_volume_actor(system, link, volumes);
    auto registry = actors::spawn_registry(system, deps);
    auto poller = actors::spawn_poller(system, link, registry, {});
    auto scheduler = actors::spawn_scheduler(system, link, registry);
    std::atomic<bool> down{false};
    registry->attach_functor([&down](const caf::error& reason) {
      if (reason && reason != caf::exit_reason::user_shutdown)
        spdlog::error("the job directory ended: {}", caf::to_string(reason));
      down = true;
    });
    caf::anon_send(registry, actors::start_atom::value, poller);
    spdlog::info("oma up: data {}, subjects {}.>", data_dir.string(), a.prefix);

    const int sig = wait_for_stop_signal(down);
    if (sig == 0)
      rc = 1;
    else
      spdlog::info("{}: shutting down; running movers go on and are found again at the next "
                   "start",
                   sig == SIGINT ? "SIGINT" : "SIGTERM");
    // The jobs (linked to the registry) and the participants end; their subscriptions go with
    // their state. Then the store and the connection.
    for (const auto& actor : {registry, poller, scheduler, deps.volume})
      caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    registry = poller = scheduler = deps.volume = nullptr;
    system.await_all_actors_done();
  }
  state.reset();
  transport.reset();
  if (auto closed = bus::close_nats(); !closed)
    spdlog::warn("{}", closed.error().message);
  return rc;
}

}  // namespace

void add_oma_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<oma_args>();
  auto* cmd = app.add_subcommand("oma", "Run the orchestrator: jobs, stops, volumes, state");
  cmd->footer(
      "State lives in JetStream (buckets <prefix>_jobs, _schedules, _settings and the\n"
      "<PREFIX>_JOBLOG stream); volumes under DATA/volumes. SIGINT or SIGTERM ends the OMA;\n"
      "running movers go on, and the next start reconciles every job with its agent.");
  cmd->add_option("--nats", args->nats_url, "NATS URL, with the oma role's credentials")
      ->envname("MIGRATEKIT_NATS")
      ->required();
  cmd->add_option("--data", args->data_dir, "Data directory of the OMA")
      ->envname("MIGRATEKIT_DATA")
      ->required();
  cmd->add_option("--prefix", args->prefix, "First token of every subject")
      ->envname("MIGRATEKIT_PREFIX")
      ->capture_default_str();
  cmd->add_option("--grace", args->grace_s,
                  "Seconds a graceful stop gives a mover after SIGTERM before SIGKILL")
      ->envname("MIGRATEKIT_GRACE")
      ->capture_default_str();
  cmd->callback([args, &exit_code] {
    use_daemon_logger("oma");
    exit_code = run(*args);
  });
}

}  // namespace mk::cmd
