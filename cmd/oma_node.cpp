// The orchestrator's composition: bus, state, volumes, actors and the REST API, wired once for
// `migratekit oma` and `migratekit up`.
#include "cmd/oma_node.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>
#include <sstream>
#include <thread>

#include "actors/atoms.hpp"
#include "bus/subjects.hpp"
#include "bus/tls.hpp"
#include "oma/document_bucket.hpp"
#include "oma/maintenance_actor.hpp"
#include "oma/poller_actor.hpp"
#include "oma/registry_actor.hpp"
#include "oma/scheduler_actor.hpp"
#include "oma/volume_actor.hpp"
#include "oma/volumes/local_backend.hpp"

namespace mk::cmd {

namespace {

/// JetStream may not answer for a moment after the server starts (or while an OMA starts
/// before its server): the store is opened again, for up to a minute, until it works.
std::shared_ptr<bus::state_store> open_state(bus::nats_transport& t, const std::string& prefix,
                                             int replicas) {
  bus::state_options opts;
  opts.prefix = prefix;
  opts.replicas = replicas;
  for (int attempt = 1;; ++attempt) {
    auto state = bus::state_store::open(t, opts);
    if (state) return std::shared_ptr<bus::state_store>(std::move(*state));
    if (attempt == 1 || attempt % 20 == 0)
      spdlog::warn("the JetStream state cannot be opened yet: {}", state.error().message);
    if (attempt >= 120) return nullptr;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace

void add_oma_node_options(CLI::App& cmd, oma_node_options& o) {
  cmd.add_option("--listen", o.listen, "Address of the REST API (port 0: any free one)")
      ->envname("MIGRATEKIT_LISTEN")
      ->capture_default_str();
  cmd.add_option("--advertise", o.advertise,
                 "The address other hosts reach this OMA at: the bus listens there with TLS "
                 "(certificate under DATA/tls) and agents' join files name it")
      ->envname("MIGRATEKIT_ADVERTISE");
  cmd.add_option("--prefix", o.prefix, "First token of every subject")
      ->envname("MIGRATEKIT_PREFIX")
      ->capture_default_str();
  cmd.add_option("--replicas", o.replicas,
                 "Copies of the state (jobs, schedules, settings, agents, JobLog) the bus keeps: "
                 "3 on a bus of three nodes or more; a state made with fewer gets more")
      ->envname("MIGRATEKIT_REPLICAS")
      ->check(CLI::Range(1, 5))
      ->capture_default_str();
  cmd.add_option("--grace", o.grace_s,
                 "Seconds a graceful stop gives a mover after SIGTERM before SIGKILL")
      ->envname("MIGRATEKIT_GRACE")
      ->capture_default_str();
}

expected<std::unique_ptr<oma_node>, start_error> oma_node::start(const oma_node_options& options) {
  std::unique_ptr<oma_node> node(new oma_node());
  if (auto r = node->run(options); !r)
    return unexpected<start_error>(r.error());  // the destructor undoes what was done
  return node;
}

expected<void, start_error> oma_node::run(const oma_node_options& o) {
  if (!bus::valid_prefix(o.prefix))
    return start_failed(2, "--prefix " + o.prefix + ": not a subject prefix");
  if (!(o.grace_s > 0 && o.grace_s <= 24 * 3600))
    return start_failed(
        2, "--grace " + std::to_string(o.grace_s) + ": between 0 and 86400 seconds expected");
  const auto data_dir = std::filesystem::absolute(o.data_dir);
  auto lock = folder_lock::take(data_dir, "oma");
  if (!lock) return start_failed(1, lock.error());
  lock_ = std::move(*lock);

  home_ = o.home;
  if (!home_) {
    auto home = bus::bus_home::open(data_dir, o.prefix);
    if (!home) return start_failed(1, "the bus's keys: " + home.error().message);
    home_ = std::make_shared<bus::bus_home>(std::move(*home));
  }
  bus::nats_options nats;
  nats.url = o.nats_url;
  nats.name = "oma";
  nats.creds_file = home_->oma_creds();
  nats.inbox_prefix = bus::inbox_prefix("oma");
  nats.ca_file = o.ca_file;
  nats.retry_on_failed_connect = true;
  nats.first_url_first = true;
  auto connected = bus::nats_transport::connect(nats);
  if (!connected) return start_failed(1, connected.error().message);
  transport_ = std::move(*connected);
  state_ = open_state(*transport_, o.prefix, o.replicas);
  if (!state_)
    return start_failed(
        1,
        "the JetStream state could not be opened; is JetStream enabled on the server, and "
        "does it trust the operator of " +
            (data_dir / "nats" / "keys").string() + "?");
  {
    actors::bus_access access;
    // Agents reach the bus as the OMA does: on this machine, or at the advertised address
    // over TLS, checking the server against the CA their join file carries.
    std::istringstream urls(o.nats_url);
    for (std::string url; std::getline(urls, url, ',');)
      if (!url.empty()) access.urls.push_back(url);
    if (!o.ca_file.empty()) {
      auto ca = bus::tls_files{o.ca_file, {}, {}}.ca_pem();
      if (!ca) return start_failed(1, "the bus's CA: " + ca.error().message);
      access.ca_pem = std::move(*ca);
    }
    agents_ = std::make_shared<actors::agent_directory>(
        actors::jetstream_documents(state_, &bus::state_store::agents), home_, std::move(access),
        o.nats_url, o.ca_file);
  }
  // A node that was down while an agent was revoked must refuse that agent once it is back.
  {
    bus::node_watch::options w;
    w.urls = o.nats_url;
    w.ca_file = o.ca_file;
    w.system_creds = home_->system_creds();
    w.account_jwt = [home = home_] { return home->account_jwt(); };
    if (auto watch = bus::node_watch::start(std::move(w)))
      nodes_ = std::move(*watch);
    else
      spdlog::warn("{}; a node that comes back gets revocations at its resolver's interval",
                   watch.error().message);
  }
  volumes::local_backend_options vopts;
  vopts.data_dir = data_dir;
  auto backend = volumes::local_backend::open(vopts);
  if (!backend) return start_failed(1, "volumes: " + backend.error().message);
  for (const auto& damaged : (*backend)->damaged())
    spdlog::error("{} (left as it is; its job fails when it uses it)", damaged);
  volumes_ = std::move(*backend);
  auto token = api::load_or_create_token(data_dir);
  if (!token) return start_failed(1, "the API token: " + token.error());
  token_ = std::move(*token);

  config_ = std::make_unique<actors::actor_config>();
  system_ = std::make_unique<caf::actor_system>(*config_);
  link_ = std::make_shared<actors::bus_link>(transport_, o.prefix, "oma");
  feed_ = std::make_shared<api::job_feed>();
  feed_->locate_volumes(
      [volumes = volumes_](const std::string& volume_id) { return volumes->location(volume_id); });
  store_ = actors::jetstream_job_store(state_);
  actors::job_deps deps;
  deps.bus = link_;
  deps.store = store_;
  deps.observer = feed_;
  deps.store_lanes = store_lanes_ =
      std::make_shared<actors::blocking_lanes>(*system_, defaults::blocking::store_lanes);
  deps.request_lanes = request_lanes_ =
      std::make_shared<actors::blocking_lanes>(*system_, defaults::blocking::request_lanes);
  deps.timing.grace = std::chrono::milliseconds(static_cast<long>(o.grace_s * 1000));
  actors::volume_actor_options vopts_actor;
  if (!o.advertise.empty()) {
    // Agents on other hosts reach their volumes at the advertised address, TLS-PSK with their
    // own key; `up`'s built-in agent keeps its Unix sockets.
    vopts_actor.remote_for =
        [agents = agents_,
         host = o.advertise](const std::string& agent) -> std::optional<volumes::remote_access> {
      auto record = agents->find(agent);
      if (!record || !*record || (*record)->builtin) return std::nullopt;
      return volumes::remote_access{host, agent, (*record)->psk};
    };
  }
  volume_ = deps.volume =
      actors::spawn_volume_actor(*system_, link_, volumes_, std::move(vopts_actor));
  registry_ = actors::spawn_registry(*system_, deps);
  maintenance_ = actors::spawn_maintenance(
      *system_, link_, registry_, actors::jetstream_documents(state_, &bus::state_store::settings),
      store_lanes_, [feed = feed_](const std::string& mode) { feed->maintenance_changed(mode); });
  {
    // Its first answer means that the stored mode was read and the registry's gate closed
    // again: only then may the registry recover (and start) the jobs.
    caf::scoped_actor self{*system_};
    caf::error not_ready;
    self->request(maintenance_, defaults::jobs::answer_timeout, actors::get_atom::value)
        .receive([](const std::string&) {}, [&not_ready](const caf::error& e) { not_ready = e; });
    if (not_ready) return start_failed(1, "maintenance mode: " + caf::to_string(not_ready));
  }
  poller_ = actors::spawn_poller(*system_, link_, registry_, {});
  actors::scheduler_options sopts;
  sopts.documents = actors::jetstream_documents(state_, &bus::state_store::schedules);
  sopts.store = store_;
  sopts.lanes = store_lanes_;
  sopts.changed = [feed = feed_](const std::string& list) { feed->schedules_changed(list); };
  scheduler_ = actors::spawn_scheduler(*system_, link_, registry_, std::move(sopts));
  registry_->attach_functor([this](const caf::error& reason) {
    if (reason && reason != caf::exit_reason::user_shutdown)
      spdlog::error("the job directory ended: {}", caf::to_string(reason));
    down_ = true;
  });
  // Without the volume actor no job can start, stop or resume: the OMA ends (and its
  // supervisor starts it again, which recovers every job from the store) rather than limp.
  volume_->attach_functor([this](const caf::error& why) { on_part_ended("volume", why); });
  const std::pair<caf::actor*, const char*> parts[] = {
      {&scheduler_, "scheduler"}, {&poller_, "poller"}, {&maintenance_, "maintenance"}};
  for (const auto& [part, name] : parts)
    (*part)->attach_functor([this, name](const caf::error& why) { on_part_ended(name, why); });
  caf::anon_send(registry_, actors::start_atom::value, poller_);
  caf::anon_send(maintenance_, actors::start_atom::value);
  caf::anon_send(scheduler_, actors::start_atom::value);

  api::server_deps api_deps;
  api_deps.registry = registry_;
  api_deps.maintenance = maintenance_;
  api_deps.scheduler = scheduler_;
  api_deps.feed = feed_;
  api_deps.store = store_;
  api_deps.agents = agents_;
  api_deps.slow_consumer_drops = [transport = std::weak_ptr(transport_)]() -> std::uint64_t {
    auto t = transport.lock();
    return t ? t->stats().slow_consumers : 0;
  };
  api::server_options api_options;
  api_options.listen = o.listen;
  api_options.token = token_;
  auto server = api::server::start(*system_, std::move(api_options), std::move(api_deps));
  if (!server) return start_failed(1, "the REST API on " + o.listen + ": " + server.error());
  api_ = std::move(*server);
  if (auto written = api::write_api_url(data_dir, api_->url()); !written)
    return start_failed(1, written.error());
  spdlog::info("oma up: data {}, subjects {}.>, API {}", data_dir.string(), o.prefix, api_->url());
  return {};
}

oma_node::~oma_node() { shutdown(); }

void oma_node::on_part_ended(const char* name, const caf::error& why) {
  if (!why || why == caf::exit_reason::user_shutdown) return;
  spdlog::critical("the {} actor ended: {}; the OMA stops", name, caf::to_string(why));
  down_ = true;
}

std::string oma_node::api_url() const { return api_ ? api_->url() : std::string(); }

void oma_node::expect_builtin_agent(const std::string& id) {
  if (auto ok = agents_->enrol_builtin(id); !ok)
    spdlog::warn("agent {} is not listed as enrolled: {}", id, ok.error().message);
  caf::anon_send(registry_, actors::watch_atom::value, id);
}

void oma_node::stop_api() {
  if (!api_) return;
  api_->stop();
  api_.reset();
}

void oma_node::shutdown() {
  stop_api();
  if (system_) {
    // The jobs (linked to the registry) and the participants end; their subscriptions go
    // with their state.
    for (auto* actor : {&maintenance_, &poller_, &scheduler_}) {
      if (*actor) caf::anon_send_exit(*actor, caf::exit_reason::user_shutdown);
      *actor = nullptr;
    }
    if (registry_) caf::anon_send_exit(registry_, caf::exit_reason::user_shutdown);
    if (volume_) caf::anon_send_exit(volume_, caf::exit_reason::user_shutdown);
    registry_ = nullptr;
    volume_ = nullptr;
    // After the work already given to them: a job's last writes.
    for (auto* lanes : {&store_lanes_, &request_lanes_}) {
      if (*lanes) (*lanes)->stop();
      lanes->reset();
    }
    system_->await_all_actors_done();
    system_.reset();
    config_.reset();
  }
  volumes_.reset();
  agents_.reset();
  store_.reset();
  link_.reset();
  state_.reset();
  nodes_.reset();
  transport_.reset();
}

}  // namespace mk::cmd
