// The VMA agent's composition: its bus connection and actor system, wired once for
// `migratekit vma` and `migratekit up`.
#include "cmd/vma_node.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>
#include <utility>

#include "actors/atoms.hpp"
#include "bus/server_config.hpp"
#include "bus/subjects.hpp"
#include "config/defaults.hpp"
#include "messages/caf_types.hpp"
#include "messages/subjects.hpp"
#include "models/join_file.hpp"
#include "sys/atomic_file.hpp"

namespace mk::cmd {

expected<std::unique_ptr<vma_node>, start_error> vma_node::start(vma_node_options options) {
  std::unique_ptr<vma_node> node(new vma_node());
  if (auto r = node->run(std::move(options)); !r)
    return unexpected<start_error>(r.error());  // the destructor undoes what was done
  return node;
}

namespace {

/// Takes what the join file says into the options, its secrets into files under DATA.
expected<void, start_error> join(vma_node_options& a) {
  auto j = actors::read_join_file(a.join_file);
  if (!j) return start_failed(2, "--join: " + j.error());
  auto& o = a.agent;
  if (!o.id.empty() && o.id != j->agent)
    return start_failed(2, "--id " + o.id + ": the join file is agent " + j->agent + "'s");
  o.id = j->agent;
  o.prefix = j->prefix;
  a.nats_url.clear();
  for (const auto& url : j->urls) a.nats_url += (a.nats_url.empty() ? "" : ",") + url;
  const auto secret = [](const std::filesystem::path& path, const std::string& text) {
    return sys::write_file_atomically(path, text, 0600);
  };
  a.creds_file = o.data_dir / "bus.creds";
  if (auto w = secret(a.creds_file, j->creds); !w) return start_failed(1, w.error().message);
  if (auto w = secret(o.data_dir / "volumes.psk", j->psk_identity + ":" + j->psk_hex + "\n"); !w)
    return start_failed(1, w.error().message);
  if (!j->ca_pem.empty()) {
    a.ca_file = o.data_dir / "bus-ca.pem";
    if (auto w = secret(a.ca_file, j->ca_pem); !w) return start_failed(1, w.error().message);
  }
  return {};
}

}  // namespace

expected<void, start_error> vma_node::run(vma_node_options a) {
  auto& o = a.agent;
  o.data_dir = std::filesystem::absolute(a.data_dir);
  if (!a.join_file.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.data_dir, ec);
    if (auto joined = join(a); !joined) return joined;
  }
  if (!msg::valid_id(o.id))
    return start_failed(2, "--id " + o.id + ": not a valid id (^[a-z0-9][a-z0-9-]{0,62}$)");
  if (!bus::valid_prefix(o.prefix))
    return start_failed(2, "--prefix " + o.prefix + ": not a subject prefix");
  auto lock = folder_lock::take(o.data_dir, "vma");
  if (!lock) return start_failed(1, lock.error());
  lock_ = std::move(*lock);
  for (const auto& root : a.source_roots) o.source_roots.push_back(std::filesystem::absolute(root));
  std::error_code ec;
  // Movers run this very program; the link names it even if PATH would find another.
  o.binary = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return start_failed(1, "cannot find my own executable: /proc/self/exe: " + ec.message());

  bus::nats_options nats;
  nats.url = a.nats_url;
  nats.name = "vma " + o.id;
  nats.creds_file = a.creds_file;
  nats.ca_file = a.ca_file;
  nats.inbox_prefix = bus::inbox_prefix(o.id);
  // Revoked (ctl agent rm) or refused: an agent that can no longer speak for its movers ends,
  // and says why; its movers go on, and the next agent on this folder adopts them.
  nats.on_lost = [this, id = o.id](const std::string& why) {
    spdlog::critical("agent {}: the bus ended its connection for good ({}); stopping", id, why);
    down_ = true;
  };
  // Back on the bus after an outage (a network that failed, a server restarted): the agent
  // says hello again, so that the OMA reconciles its jobs at once.
  nats.on_reconnected = [this] {
    std::lock_guard hold(hello_mu_);
    if (hello_to_)
      caf::anon_send(hello_to_, actors::hello_atom::value);
    else
      reconnect_untold_ = true;
  };
  nats.retry_on_failed_connect = true;  // an agent may start before its server
  auto connected = bus::nats_transport::connect(nats);
  if (!connected) return start_failed(1, connected.error().message);
  transport_ = std::move(*connected);

  config_ = std::make_unique<actors::actor_config>();
  system_ = std::make_unique<caf::actor_system>(*config_);
  agent_ = system_->spawn(actors::vma_agent, o, transport_);
  {
    // Told of a reconnect from now on, also while it starts, and of one that came before:
    // its start's hello may go out while the OMA is still re-subscribing after the same
    // outage, and be lost (CI saw it under the sanitizers). The agent takes the word once
    // ready (nothing else is handled before) and says hello again 1 s later.
    std::lock_guard hold(hello_mu_);
    hello_to_ = agent_;
    if (std::exchange(reconnect_untold_, false))
      caf::anon_send(hello_to_, actors::hello_atom::value);
  }
  agent_->attach_functor([this](const caf::error& reason) {
    if (reason && reason != caf::exit_reason::user_shutdown)
      spdlog::error("vma agent ended: {}", caf::to_string(reason));
    down_ = true;
  });
  // The agent subscribes as it starts, on a thread of the actor system; `up` starts its OMA
  // right after, whose first start request must find the agent listening (a request without
  // a responder fails the job). An answer proves the start is over: the agent takes the
  // progress of a job it does not run (no job here) and ignores it.
  caf::error not_ready;
  caf::scoped_actor self{*system_};
  self->request(agent_, defaults::jobs::answer_timeout, msg::progress{})
      .receive([] {}, [&not_ready](const caf::error& err) { not_ready = err; });
  if (not_ready)
    return start_failed(1, "vma agent " + o.id + " did not start: " + caf::to_string(not_ready));
  spdlog::info("vma agent {} up: data {}", o.id, o.data_dir.string());
  return {};
}

vma_node::~vma_node() { shutdown(); }

void vma_node::shutdown() {
  if (system_) {
    // Subscriptions first (the agent ends them), then the actors, then the connection.
    {
      std::lock_guard hold(hello_mu_);
      hello_to_ = nullptr;
    }
    if (agent_) caf::anon_send(agent_, actors::shutdown_atom::value);
    agent_ = nullptr;
    system_->await_all_actors_done();
    system_.reset();
    config_.reset();
  }
  transport_.reset();
}

void add_mover_arg_option(CLI::App& cmd, std::vector<std::string>& mover_args) {
  cmd.add_option("--mover-arg", mover_args,
                 "Argument appended to every mover's command line, e.g. --mover-arg=--requests=16 "
                 "(repeatable)")
      ->envname("MIGRATEKIT_MOVER_ARGS")
      ->delimiter(',');
}

}  // namespace mk::cmd
