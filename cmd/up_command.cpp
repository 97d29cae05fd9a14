// `migratekit up`: all of MigrateKit on one machine (docs/overview.md). The OMA and the agent
// "local" run in this process (cmd/oma_node.hpp, cmd/vma_node.hpp), nats-server and the demo
// source as processes of their own.
#include "cmd/up_command.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "bus/home.hpp"
#include "cmd/daemon.hpp"
#include "cmd/demo_source.hpp"
#include "cmd/embedded_bus.hpp"
#include "cmd/folder_lock.hpp"
#include "cmd/oma_node.hpp"
#include "cmd/up_jobs.hpp"
#include "cmd/vma_node.hpp"
#include "sys/atomic_file.hpp"

namespace mk::cmd {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct up_args {
  /// --data, --nats (for both nodes; empty: a server of our own), --listen, --prefix, --grace.
  oma_node_options oma;
  bool demo = false;
  demo_source_options demo_source;
  std::vector<std::string> mover_args;  ///< appended to every mover's command line
  bus_peers peers;  ///< --routes and the rest: the bus started here is one node of several
};

/// How the OMA and the agent ended.
enum class ending {
  clean,        ///< the active jobs were stopped and settled, then everything shut down
  interrupted,  ///< a second signal: movers (and the demo source) left running
  failed,       ///< a part did not start or ended by itself, or stops did not settle
};

/// The rate filter's syntax: a number of bits per second with an optional K, M or G.
bool valid_rate(const std::string& rate) {
  const auto digits = rate.find_first_not_of("0123456789");
  if (digits == 0 || rate.empty()) return false;
  return digits == std::string::npos ||
         (digits + 1 == rate.size() &&
          std::string("KMGkmg").find(rate.back()) != std::string::npos);
}

/// DATA holds the API token and the bus credentials: private when this makes it.
void print_line(const std::string& text) {
  std::fputs((text + "\n").c_str(), stdout);
  std::fflush(stdout);
}

/// Stops the active jobs and waits for them (and any other stop under way) to settle.
ending stop_jobs(oma_node& oma, double grace_s, int sig) {
  spdlog::info(
      "{}: stopping the active jobs gracefully, volumes kept; Ctrl-C again leaves at "
      "once",
      stop_signal_name(sig));
  const auto stops = up_jobs::stop_active(oma);
  const auto bound = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::duration<double>(grace_s)) +
                     defaults::nodes::settle_margin;
  const auto deadline = std::chrono::steady_clock::now() + bound;
  auto result = stops.failed.empty() ? ending::clean : ending::failed;
  while (up_jobs::any_stopping(oma)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      spdlog::warn("stops not settled after {} s; the next start carries them on",
                   std::chrono::duration_cast<std::chrono::seconds>(bound).count());
      result = ending::failed;
      break;
    }
    if (const int again = take_stop_signal(defaults::nodes::signal_poll); again > 0) {
      spdlog::warn(
          "{} again: leaving at once; movers still running are adopted by the next "
          "start, which carries their stops on",
          stop_signal_name(again));
      result = ending::interrupted;
      break;
    }
  }
  if (!stops.accepted.empty())
    print_line("stopped for the shutdown (resumed at the next start):\n" +
               up_jobs::describe(oma, stops.accepted));
  if (!stops.failed.empty())
    print_line("not stopped (see the log; the next start finds them as they are then):\n" +
               up_jobs::describe(oma, stops.failed));
  if (stops.accepted.empty() && stops.failed.empty()) print_line("no active job to stop");
  return result;
}

/// The agent, then the OMA (whose recovered jobs may start movers at once), until a signal.
ending run_nodes(const up_args& a, const fs::path& data, const std::string& urls,
                 const fs::path& ca_file, const std::shared_ptr<bus::bus_home>& home,
                 const demo_source* demo) {
  vma_node_options vo;
  vo.nats_url = urls;
  vo.ca_file = ca_file;
  vo.agent.id = std::string(defaults::vma::agent_id);
  vo.agent.prefix = a.oma.prefix;
  vo.agent.mover_args = a.mover_args;
  vo.data_dir = data / "vma";
  // Its credentials are minted here, before the OMA runs: the agent starts first.
  vo.creds_file = vo.data_dir / "bus.creds";
  auto creds = home->mint_agent(vo.agent.id);
  if (!creds) {
    spdlog::error("the VMA agent's credentials: {}", creds.error().message);
    return ending::failed;
  }
  std::error_code ec;
  fs::create_directories(vo.data_dir, ec);
  if (auto w = sys::write_file_atomically(vo.creds_file, creds->creds, 0600); !w) {
    spdlog::error("the VMA agent's credentials: {}", w.error().message);
    return ending::failed;
  }
  auto vma = vma_node::start(vo);
  if (!vma) {
    spdlog::error("the VMA agent: {}", vma.error().message);
    return ending::failed;
  }
  auto oo = a.oma;
  oo.nats_url = urls;
  oo.ca_file = ca_file;
  oo.data_dir = data;
  oo.home = home;
  auto oma = oma_node::start(oo);
  if (!oma) {
    spdlog::error("the OMA: {}", oma.error().message);
    return ending::failed;
  }
  auto& o = **oma;
  // The agent said hello before the OMA listened: the OMA is told to expect it, so that the
  // agents' list (GET /agents, the page's New replication) offers it at once.
  o.expect_builtin_agent(vo.agent.id);
  const auto jobs = up_jobs::recovered(o);
  up_jobs::resumer resumer;
  resumer.start(o, jobs);
  if (demo && jobs.empty()) {
    auto job = up_jobs::create_demo(o, demo->uri());
    if (job)
      spdlog::info("demo: job {} copies {} bytes from {}", job->id, a.demo_source.size,
                   demo->uri());
    else
      spdlog::error("demo: the replication could not be made: {}", job.error());
  }
  print_line("MigrateKit is up. Web UI: " + o.api_url() + "/?token=" + o.api_token());

  int sig = 0;
  while (!o.down() && !(*vma)->down()) {
    if ((sig = take_stop_signal(defaults::nodes::signal_poll)) > 0) break;
    resumer.tick(o);
  }
  auto result = ending::failed;
  if (sig > 0)
    result = stop_jobs(o, a.oma.grace_s, sig);
  else
    spdlog::error("a part of migratekit up ended by itself; shutting down");
  // The API first, so that nothing new reaches the actors; the agent before the OMA, so that
  // no job actor is left waiting for an agent that went while it still ran.
  o.stop_api();
  vma->reset();
  oma->reset();
  return result;
}

int run(const up_args& a) {
  if (!valid_rate(a.demo_source.rate)) {
    spdlog::error("--demo-rate {}: bits per second expected, e.g. 64M", a.demo_source.rate);
    return 2;
  }
  if (a.demo_source.size == 0) {
    spdlog::error("--demo-size: more than 0 bytes expected");
    return 2;
  }
  // Before any thread starts (NATS, CAF), so that only the waits of this file take them.
  block_stop_signals();
  const auto data = fs::absolute(a.oma.data_dir);
  // Before nats-server and the demo source: a second `up` on the folder would stop the first
  // one's.
  auto lock = folder_lock::take(data, "up");
  if (!lock) {
    spdlog::error("--data: {}", lock.error());
    return 1;
  }

  auto home = bus::bus_home::open(data, a.oma.prefix);
  if (!home) {
    spdlog::error("the bus's keys: {}", home.error().message);
    return 1;
  }
  const auto shared_home = std::make_shared<bus::bus_home>(std::move(*home));
  embedded_bus bus;
  std::string urls = a.oma.nats_url;
  std::filesystem::path ca_file;
  if (urls.empty()) {
    auto started = start_embedded_bus(data, shared_home, a.oma.advertise, a.peers);
    if (!started) {
      spdlog::error("{}", started.error());
      return 1;
    }
    bus = std::move(*started);
    urls = bus.urls;
    ca_file = bus.ca_file;
  }
  std::unique_ptr<demo_source> demo;
  if (a.demo) {
    auto options = a.demo_source;
    options.dir = data / "demo";
    auto started = demo_source::start(options);
    if (!started) {
      spdlog::error("demo source: {}", started.error());
      return 1;
    }
    demo = std::move(*started);
  }

  const auto result = run_nodes(a, data, urls, ca_file, shared_home, demo.get());
  if (auto closed = bus::close_nats(); !closed) spdlog::warn("{}", closed.error().message);
  // Left running after a second signal: a mover that goes on still reads from it.
  if (demo && result != ending::interrupted) demo->stop();
  if (bus.server) bus.server->stop();
  return result == ending::clean ? 0 : 1;
}

}  // namespace

void add_up_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<up_args>();
  auto* cmd = app.add_subcommand("up", "All of MigrateKit on one machine: bus, OMA, agent, API");
  cmd->footer(
      "Starts nats-server in operator mode (JetStream under DATA/nats, the bus's keys under\n"
      "DATA/nats/keys, credentials DATA/nats/oma.creds and ctl.creds, its URL in\n"
      "DATA/nats/urls), the OMA with its REST API and web UI, and the VMA agent \"local\"\n"
      "(its files under DATA/vma), then prints the web UI's URL with its token on stdout.\n"
      "With --nats URL no server is started: the server there must trust the operator of\n"
      "DATA/nats/keys (a bus node started from this folder).\n"
      "--demo also serves a rate-limited random disk on DATA/demo/source.sock and, on the\n"
      "first start, makes one replication of it.\n"
      "SIGINT or SIGTERM stops every active job gracefully (volumes kept, reason shutdown) and\n"
      "waits for the stops to settle (at most grace + 20 s); the next start resumes exactly\n"
      "those jobs. A second signal leaves at once: running movers are adopted by the next\n"
      "start. Exit 0 after a clean shutdown, 1 otherwise, 2 on bad usage.");
  args->oma.data_dir = "data";
  cmd->add_option("--data", args->oma.data_dir, "Data directory")
      ->envname("MIGRATEKIT_DATA")
      ->capture_default_str();
  cmd->add_option("--nats", args->oma.nats_url,
                  "Use these NATS servers (URLs separated by commas) instead of starting one")
      ->envname("MIGRATEKIT_NATS");
  add_oma_node_options(*cmd, args->oma);
  add_bus_peer_options(*cmd, args->peers);
  cmd->add_flag("--demo", args->demo, "Serve a demo disk and replicate it");
  cmd->add_option("--demo-size", args->demo_source.size, "Bytes of the demo disk (K, M, G)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  cmd->add_option("--demo-rate", args->demo_source.rate,
                  "Bits per second the demo disk is read at (K, M, G)")
      ->capture_default_str();
  add_mover_arg_option(*cmd, args->mover_args);
  cmd->callback([args, &exit_code] {
    use_daemon_logger("up");
    exit_code = run(*args);
  });
}

}  // namespace mk::cmd
