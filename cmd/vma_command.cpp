// `migratekit vma`: one VMA agent (cmd/vma_node.hpp), until SIGINT or SIGTERM.
#include "cmd/vma_command.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "cmd/daemon.hpp"
#include "cmd/vma_node.hpp"

namespace mk::cmd {

namespace {

int run(const vma_node_options& options) {
  // Before any thread starts (NATS, CAF); movers reset their mask when they start.
  block_stop_signals();
  int rc = 0;
  {
    auto node = vma_node::start(options);
    if (!node) {
      spdlog::error("{}", node.error().message);
      rc = node.error().exit_code;
    } else if (const int sig = wait_for_stop_signal((*node)->down()); sig > 0) {
      spdlog::info("{}: shutting down; movers keep running", stop_signal_name(sig));
    } else {
      rc = 1;
    }
  }
  if (auto closed = bus::close_nats(); !closed) spdlog::warn("{}", closed.error().message);
  return rc;
}

}  // namespace

void add_vma_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<vma_node_options>();
  auto& o = args->agent;
  auto* cmd = app.add_subcommand("vma", "Run a VMA agent: start, watch and stop movers");
  cmd->footer(
      "Either --join FILE (what `migratekit ctl agent add ID --out FILE` wrote on the OMA),\n"
      "or --nats, --creds and --id.\n"
      "Files under DATA: movers/<job>.json, checkpoints/<name>.json, logs/<job>.log; with\n"
      "--join also bus.creds, volumes.psk and bus-ca.pem, the join file's secrets (0600).\n"
      "SIGINT or SIGTERM ends the agent; its movers keep running and the next agent on\n"
      "the same DATA adopts them.");
  auto* join = cmd->add_option("--join", args->join_file,
                               "The join file the OMA made for this agent (ctl agent add): "
                               "its id, bus and credentials")
                   ->envname("MIGRATEKIT_JOIN");
  auto* nats = cmd->add_option("--nats", args->nats_url, "NATS URLs, separated by commas")
                   ->envname("MIGRATEKIT_NATS");
  auto* creds = cmd->add_option("--creds", args->creds_file, "This agent's NATS credentials")
                    ->envname("MIGRATEKIT_NATS_CREDS");
  auto* id = cmd->add_option("--id", o.id, "This agent's id")->envname("MIGRATEKIT_ID");
  nats->excludes(join);
  creds->excludes(join);
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
  add_mover_arg_option(*cmd, o.mover_args);
  cmd->callback([args, &exit_code, join, nats, creds, id] {
    if (join->count() == 0 && (nats->count() == 0 || creds->count() == 0 || id->count() == 0)) {
      std::fputs("vma: --join FILE, or --nats, --creds and --id, are required\n", stderr);
      exit_code = 2;
      return;
    }
    if (id->count() == 0) args->agent.id.clear();  // the join file's, not the default
    use_daemon_logger("vma");
    exit_code = run(*args);
  });
}

}  // namespace mk::cmd
