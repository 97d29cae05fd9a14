// `migratekit up`: all of MigrateKit on one machine (docs/overview.md). The OMA and the agent
// "local" run in this process (cmd/oma_node.hpp, cmd/vma_node.hpp), nats-server and the demo
// source as processes of their own.
#include "cmd/up_command.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "bus/nats_server.hpp"
#include "cmd/daemon.hpp"
#include "cmd/demo_source.hpp"
#include "cmd/folder_lock.hpp"
#include "cmd/oma_node.hpp"
#include "cmd/up_jobs.hpp"
#include "cmd/vma_node.hpp"

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
ending run_nodes(const up_args& a, const fs::path& data, const std::string& oma_url,
                 const std::string& vma_url, const demo_source* demo) {
  vma_node_options vo;
  vo.nats_url = vma_url;
  vo.agent.id = std::string(defaults::vma::agent_id);
  vo.agent.prefix = a.oma.prefix;
  vo.agent.mover_args = a.mover_args;
  vo.data_dir = data / "vma";
  auto vma = vma_node::start(vo);
  if (!vma) {
    spdlog::error("the VMA agent: {}", vma.error().message);
    return ending::failed;
  }
  auto oo = a.oma;
  oo.nats_url = oma_url;
  oo.data_dir = data;
  auto oma = oma_node::start(oo);
  if (!oma) {
    spdlog::error("the OMA: {}", oma.error().message);
    return ending::failed;
  }
  auto& o = **oma;
  // The agent said hello before the OMA listened: the OMA is told to expect it, so that the
  // agents' list (GET /agents, the page's New replication) offers it at once.
  o.expect_agent(vo.agent.id);
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

  std::unique_ptr<bus::nats_server> server;
  std::string oma_url = a.oma.nats_url;
  std::string vma_url = a.oma.nats_url;
  if (oma_url.empty()) {
    bus::nats_server_options so;
    so.data_dir = data;
    so.prefix = a.oma.prefix;
    so.vma_agents = {std::string(defaults::vma::agent_id)};
    auto started = bus::nats_server::start(so);
    if (!started) {
      spdlog::error("nats-server: {}", started.error().message);
      return 1;
    }
    server = std::move(*started);
    oma_url = server->url(bus::role::oma);
    vma_url = server->url(bus::role::vma);
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

  const auto result = run_nodes(a, data, oma_url, vma_url, demo.get());
  if (auto closed = bus::close_nats(); !closed) spdlog::warn("{}", closed.error().message);
  // Left running after a second signal: a mover that goes on still reads from it.
  if (demo && result != ending::interrupted) demo->stop();
  if (server) server->stop();
  return result == ending::clean ? 0 : 1;
}

}  // namespace

void add_up_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<up_args>();
  auto* cmd = app.add_subcommand("up", "All of MigrateKit on one machine: bus, OMA, agent, API");
  cmd->footer(
      "Starts nats-server (JetStream under DATA/nats, generated credentials per role in\n"
      "DATA/nats/<role>.url), the OMA with its REST API and web UI, and the VMA agent \"local\"\n"
      "(its files under DATA/vma), then prints the web UI's URL with its token on stdout.\n"
      "With --nats URL no server is started and the OMA and the agent both connect with URL:\n"
      "its user needs the oma role's permissions (JetStream and the whole prefix).\n"
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
  cmd->add_option("--nats", args->oma.nats_url, "Use this NATS server instead of starting one")
      ->envname("MIGRATEKIT_NATS");
  add_oma_node_options(*cmd, args->oma);
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
