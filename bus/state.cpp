#include "bus/state.hpp"

#include "bus/nats_border.hpp"
#include "bus/nats_transport.hpp"
#include "bus/subjects.hpp"

namespace mk::bus {

result<std::unique_ptr<state_store>> state_store::open(nats_transport& t,
                                                       const state_options& opts) {
  auto& conn = t.native();
  if (!valid_prefix(opts.prefix)) {
    return fail(errc::invalid,
                detail::where(conn, "open state") + ": bad prefix \"" + opts.prefix + "\"");
  }
  auto js = std::make_shared<detail::jetstream>();
  js->conn = &conn;
  js->timeout = opts.timeout;
  js->replicas = opts.replicas;
  js->election_wait = opts.election_wait;
  if (opts.replicas < 1 || opts.replicas > 5) {
    return fail(errc::invalid, detail::where(conn, "open state") + ": replicas " +
                                   std::to_string(opts.replicas) + " (1 to 5)");
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = opts.timeout.count();
  if (auto s = natsConnection_JetStream(&js->js, conn.nc, &jo); s != NATS_OK) {
    return std::unexpected(detail::nats_error(s, detail::where(conn, "open JetStream")));
  }

  std::unique_ptr<state_store> store(new state_store());
  store->js_ = js;
  auto jobs = detail::open_kv_bucket(js, opts.prefix + "_jobs");
  if (!jobs) return std::unexpected(std::move(jobs.error()));
  auto schedules = detail::open_kv_bucket(js, opts.prefix + "_schedules");
  if (!schedules) return std::unexpected(std::move(schedules.error()));
  auto settings = detail::open_kv_bucket(js, opts.prefix + "_settings");
  if (!settings) return std::unexpected(std::move(settings.error()));
  auto agents = detail::open_kv_bucket(js, opts.prefix + "_agents");
  if (!agents) return std::unexpected(std::move(agents.error()));
  auto log = detail::open_job_log(js, opts.prefix, opts.log_read_timeout);
  if (!log) return std::unexpected(std::move(log.error()));
  // Made on one node, then the bus grew: each gets the copies asked for now.
  for (const auto& stream : {"KV_" + opts.prefix + "_jobs", "KV_" + opts.prefix + "_schedules",
                             "KV_" + opts.prefix + "_settings", "KV_" + opts.prefix + "_agents",
                             (*log)->stream_name()}) {
    if (auto r = detail::ensure_replicas(*js, stream); !r) return std::unexpected(r.error());
  }
  store->jobs_ = std::move(*jobs);
  store->schedules_ = std::move(*schedules);
  store->settings_ = std::move(*settings);
  store->agents_ = std::move(*agents);
  store->log_ = std::move(*log);
  return store;
}

state_store::~state_store() = default;

}  // namespace mk::bus
