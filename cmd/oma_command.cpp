// `migratekit oma`: the orchestrator alone (cmd/oma_node.hpp), until SIGINT or SIGTERM.
#include "cmd/oma_command.hpp"

#include <spdlog/spdlog.h>

#include <memory>
#include <optional>

#include "bus/home.hpp"
#include "cmd/daemon.hpp"
#include "cmd/embedded_bus.hpp"
#include "cmd/folder_lock.hpp"
#include "cmd/oma_node.hpp"

namespace mk::cmd {

namespace {

int run(oma_node_options options, const bus_peers& peers) {
  // Before any thread starts (NATS, CAF), so that only the wait below takes the signals.
  block_stop_signals();
  int rc = 0;
  embedded_bus bus;
  std::optional<folder_lock> bus_lock;
  if (options.nats_url.empty()) {
    // Before its server starts: a second OMA on the folder would start another on the same
    // JetStream files.
    auto lock = folder_lock::take(options.data_dir, "bus");
    if (!lock) {
      spdlog::error("--data: {}", lock.error());
      return 1;
    }
    bus_lock.emplace(std::move(*lock));
    auto home = bus::bus_home::open(options.data_dir, options.prefix);
    if (!home) {
      spdlog::error("the bus's keys: {}", home.error().message);
      return 1;
    }
    options.home = std::make_shared<bus::bus_home>(std::move(*home));
    auto started = start_embedded_bus(options.data_dir, options.home, options.advertise, peers);
    if (!started) {
      spdlog::error("{}", started.error());
      return 1;
    }
    bus = std::move(*started);
    options.nats_url = bus.urls;
    options.ca_file = bus.ca_file;
  }
  {
    auto node = oma_node::start(options);
    if (!node) {
      spdlog::error("{}", node.error().message);
      rc = node.error().exit_code;
    } else {
      const int sig = wait_for_stop_signal((*node)->down());
      if (sig == 0)
        rc = 1;
      else
        spdlog::info(
            "{}: shutting down; running movers go on and are found again at the next "
            "start",
            stop_signal_name(sig));
    }
  }
  if (auto closed = bus::close_nats(); !closed) spdlog::warn("{}", closed.error().message);
  if (bus.server) bus.server->stop();
  return rc;
}

}  // namespace

void add_oma_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<oma_node_options>();
  auto peers = std::make_shared<bus_peers>();
  auto* cmd = app.add_subcommand("oma", "Run the orchestrator: jobs, stops, volumes, state, API");
  cmd->footer(
      "State lives in JetStream (buckets <prefix>_jobs, _schedules, _settings and the\n"
      "<PREFIX>_JOBLOG stream); the bus's keys and credentials under DATA/nats (the OMA\n"
      "makes them at its first start); volumes under DATA/volumes; the API's token in "
      "DATA/api-token\n"
      "and its URL in DATA/api-url. SIGINT or SIGTERM ends the OMA; running movers go on, and\n"
      "the next start reconciles every job with its agent.");
  cmd->add_option("--nats", args->nats_url,
                  "NATS URLs, separated by commas, of a bus that trusts the operator of "
                  "DATA/nats/keys; without it the OMA starts its own nats-server")
      ->envname("MIGRATEKIT_NATS");
  cmd->add_option("--data", args->data_dir, "Data directory of the OMA")
      ->envname("MIGRATEKIT_DATA")
      ->required();
  add_oma_node_options(*cmd, *args);
  add_bus_peer_options(*cmd, *peers);
  cmd->callback([args, peers, &exit_code] {
    use_daemon_logger("oma");
    exit_code = run(*args, *peers);
  });
}

}  // namespace mk::cmd
