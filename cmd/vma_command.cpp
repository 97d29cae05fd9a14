#include "cmd/vma_command.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <memory>

#include "actors/actor_config.hpp"
#include "actors/atoms.hpp"
#include "actors/vma_agent.hpp"
#include "bus/nats_transport.hpp"
#include "bus/subjects.hpp"
#include "cmd/daemon.hpp"
#include "config/defaults.hpp"
#include "messages/subjects.hpp"

namespace mk::cmd {

namespace {

struct vma_args {
  std::string nats_url;
  actors::vma_agent_options agent;
  std::string data_dir;
  std::vector<std::string> source_roots;
};

int run(vma_args& a) {
  auto& o = a.agent;
  if (!msg::valid_id(o.id)) {
    spdlog::error("--id {}: not a valid id (^[a-z0-9][a-z0-9-]{{0,62}}$)", o.id);
    return 2;
  }
  if (!bus::valid_prefix(o.prefix)) {
    spdlog::error("--prefix {}: not a subject prefix", o.prefix);
    return 2;
  }
  o.data_dir = std::filesystem::absolute(a.data_dir);
  for (const auto& root : a.source_roots) o.source_roots.push_back(std::filesystem::absolute(root));
  std::error_code ec;
  // Movers run this very program; the link names it even if PATH would find another.
  o.binary = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    spdlog::error("cannot find my own executable: /proc/self/exe: {}", ec.message());
    return 1;
  }

  // Before any thread starts (NATS, CAF); movers reset their mask when they start.
  block_stop_signals();

  bus::nats_options nats;
  nats.url = a.nats_url;
  nats.name = "vma " + o.id;
  nats.retry_on_failed_connect = true;  // an agent may start before its server
  auto connected = bus::nats_transport::connect(nats);
  if (!connected) {
    spdlog::error("{}", connected.error().message);
    return 1;
  }
  std::shared_ptr<bus::transport> transport = std::move(*connected);

  int rc = 0;
  {
    actors::actor_config cfg;
    caf::actor_system system{cfg};
    std::atomic<bool> agent_down{false};
    auto agent = system.spawn(actors::vma_agent, o, transport);
    agent->attach_functor([&agent_down](const caf::error& reason) {
      if (reason) spdlog::error("vma agent ended: {}", caf::to_string(reason));
      agent_down = true;
    });
    const int sig = wait_for_stop_signal(agent_down);
    if (sig > 0) {
      spdlog::info("{}: shutting down; movers keep running", sig == SIGINT ? "SIGINT" : "SIGTERM");
    } else {
      rc = 1;
    }
    // Subscriptions first (the agent ends them), then the actors, then the connection.
    caf::anon_send(agent, actors::shutdown_atom::value);
    agent = nullptr;
    system.await_all_actors_done();
  }
  transport.reset();
  if (auto closed = bus::close_nats(); !closed) spdlog::warn("{}", closed.error().message);
  return rc;
}

}  // namespace

void add_vma_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<vma_args>();
  auto& o = args->agent;
  auto* cmd = app.add_subcommand("vma", "Run a VMA agent: start, watch and stop movers");
  cmd->footer(
      "Files under DATA: movers/<job>.json, checkpoints/<name>.json, logs/<job>.log.\n"
      "SIGINT or SIGTERM ends the agent; its movers keep running and the next agent on\n"
      "the same DATA adopts them.");
  cmd->add_option("--nats", args->nats_url, "NATS URL, with the vma role's credentials")
      ->envname("MIGRATEKIT_NATS")
      ->required();
  cmd->add_option("--id", o.id, "This agent's id")->envname("MIGRATEKIT_ID")->required();
  cmd->add_option("--data", args->data_dir, "Data directory of this agent")
      ->envname("MIGRATEKIT_DATA")
      ->required();
  cmd->add_option("--prefix", o.prefix, "First token of every subject")
      ->envname("MIGRATEKIT_PREFIX")
      ->capture_default_str();
  cmd->add_option("--source-root", args->source_roots,
                  "Folder under which local source paths are accepted (repeatable)")
      ->envname("MIGRATEKIT_SOURCE_ROOT")
      ->delimiter(',');
  cmd->add_option("--mover-arg", o.mover_args,
                  "Argument appended to every mover's command line, e.g. --mover-arg=--requests=16 "
                  "(repeatable)")
      ->envname("MIGRATEKIT_MOVER_ARGS")
      ->delimiter(',');
  cmd->callback([args, &exit_code] {
    use_daemon_logger("vma");
    exit_code = run(*args);
  });
}

}  // namespace mk::cmd
