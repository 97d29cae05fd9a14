// migratekit: one binary, one subcommand per process of the system (docs/overview.md).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <exception>

#include "cmd/copy_command.hpp"
#include "cmd/ctl_command.hpp"
#include "cmd/daemon.hpp"
#include "cmd/node_command.hpp"
#include "cmd/oma_command.hpp"
#include "cmd/up_command.hpp"
#include "cmd/vma_command.hpp"
#include "sys/process_title.hpp"

int main(int argc, char** argv) {
  mk::sys::keep_arguments(argc, argv);
  // Every running job holds descriptors in `up` (its mover's pipe and pidfd, its volume
  // server's pidfd): the usual soft limit of 1024 would end at a few hundred jobs.
  if (rlimit r{}; ::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
  // Logs go to stderr: stdout belongs to machine-readable output such as progress lines.
  spdlog::set_default_logger(spdlog::stderr_color_st("migratekit"));

  CLI::App app{"MigrateKit: VM disk replication with clean, resumable stops", "migratekit"};
  app.require_subcommand(1);
  app.set_config("--config", "", "Read options from a TOML or INI file");
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Log debugging detail");
  app.parse_complete_callback([&] {
    if (verbose) spdlog::set_level(spdlog::level::debug);
  });

  int exit_code = 0;
  mk::cmd::add_copy_command(app, exit_code);
  mk::cmd::add_oma_command(app, exit_code);
  mk::cmd::add_vma_command(app, exit_code);
  mk::cmd::add_ctl_command(app, exit_code);
  mk::cmd::add_up_command(app, exit_code);
  mk::cmd::add_node_commands(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports --help as a "success" parse error; every real one is bad usage.
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    // The border: whatever a library throws ends here as an error, never as a crash.
    spdlog::error("{}", e.what());
    exit_code = 1;
  }
  mk::cmd::end_process(exit_code);
}
