// `migratekit vma`: one VMA agent (cmd/vma_node.hpp), until SIGINT or SIGTERM.
#include "cmd/vma_command.hpp"

#include <spdlog/spdlog.h>

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
  add_mover_arg_option(*cmd, o.mover_args);
  cmd->callback([args, &exit_code] {
    use_daemon_logger("vma");
    exit_code = run(*args);
  });
}

}  // namespace mk::cmd
