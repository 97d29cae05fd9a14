// The OMA's directory of jobs: spawning, recovery after a restart, and routing.
#include "oma/registry_actor.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>
#include <map>
#include <set>

#include "actors/atoms.hpp"
#include "actors/errors.hpp"
#include "messages/caf_types.hpp"
#include "messages/text.hpp"
#include "models/ids.hpp"
#include "models/source_uri.hpp"
#include "oma/agent_table.hpp"

namespace mk::actors {

namespace {

using nlohmann::json;

struct entry {
  job_actor_hdl actor;
  std::string vma;
  /// As the job last said on the bus (from its record at spawn): what maintenance mode needs
  /// to know of every job without asking each.
  msg::job_state state = msg::job_state::queued;
  std::string stop_id;
};

/// Maintenance mode's refusal of new replications and resumes in its scope (docs/operations.md).
struct gate {
  bool closed = false;
  maintenance_scope scope;
  std::string reason;
  bool covers(const std::string& vma) const { return closed && scope.covers(vma); }
  caf::error refusal() const {
    return make_error(errc::unavailable,
                      "maintenance mode is on (" + scope.name() +
                          (reason.empty() ? "" : ": " + reason) +
                          "): new replications and resumes wait until it is turned off");
  }
};

struct registry_state {
  job_deps deps;
  std::map<std::string, entry> jobs;
  gate maintenance;
  /// Queued jobs that a closed gate kept from starting after a restart: started once it opens.
  std::vector<std::string> held;
  agent_table agents;
  std::vector<bus::subscription> subscriptions;
  static inline const char* name = "registry";
};

using registry_self = registry_hdl::stateful_pointer<registry_state>;

constexpr std::size_t max_name = 256;

/// What a new job may be made of; the first field at fault is named.
caf::error check_new_job(const msg::replicate_request& r) {
  if (r.name.empty() || r.name.size() > max_name || !msg::printable(r.name))
    return make_error(errc::invalid, "name: 1 to 256 printable characters expected");
  if (auto why = source_problem(r.source); !why.empty()) return make_error(errc::invalid, why);
  if (!msg::valid_id(r.vma))
    return make_error(errc::invalid, "vma: an id matching ^[a-z0-9][a-z0-9-]{0,62}$ expected");
  return caf::none;
}

job_actor_hdl spawn_job(registry_self self, job_record job, std::uint64_t revision,
                        bool recovering) {
  const auto id = job.id;
  const auto vma = job.vma;
  const auto state = job.state;
  const auto stop_id = job.stop ? job.stop->id : std::string();
  auto actor =
      spawn_job_actor(self->home_system(), self->state.deps, std::move(job), revision, recovering);
  // Linked: the jobs end with the registry, and a job actor that dies takes the registry
  // down with it rather than leaving a job nobody answers for.
  self->link_to(actor);
  self->state.jobs[id] = {actor, vma, state, stop_id};
  return actor;
}

caf::result<job_record> create(registry_self self, const msg::replicate_request& r) {
  if (auto err = check_new_job(r)) return err;
  auto& st = self->state;
  if (st.maintenance.covers(r.vma)) return st.maintenance.refusal();
  job_record job;
  job.id = new_job_id();
  job.name = r.name;
  job.source = r.source;
  job.vma = r.vma;
  job.volume_id = volume_id_for(job.id);
  job.created_at = job.updated_at = unix_ms();
  auto rp = self->make_response_promise<job_record>();
  await_blocking(
      self, *st.deps.store_lanes, job.id,
      [store = st.deps.store, job, from = r.hdr.from] {
        auto revision = store->create(job.id, to_json(job).dump());
        if (revision) {
          const auto entry = journal_entry(job, "created", "registry",
                                           {{"name", job.name},
                                            {"source", job.source},
                                            {"vma", job.vma},
                                            {"requested_by", from}});
          (void)store->append_log(job.id, entry.dump());
        }
        return revision;
      },
      [self, rp, job](bus::result<std::uint64_t> revision) mutable {
        if (!revision) {
          rp.deliver(
              make_error(errc::internal, "job " + job.id + ": store: " + revision.error().message));
          return;
        }
        // Told before the answer, so that a client that reads after it finds the job.
        if (self->state.deps.observer) self->state.deps.observer->job_changed(job);
        auto actor = spawn_job(self, job, *revision, false);
        self->send(actor, start_atom::value);
        rp.deliver(std::move(job));
      });
  return rp;
}

job_actor_hdl find(registry_self self, const std::string& id) {
  auto it = self->state.jobs.find(id);
  return it == self->state.jobs.end() ? job_actor_hdl{} : it->second.actor;
}

caf::error unknown(const std::string& id) {
  return make_error(errc::not_found, "no job '" + id + "'");
}

// -- the bus --------------------------------------------------------------------------

msg::control_reply reply_from(const job_record& job) {
  msg::control_reply out;
  out.ok = true;
  out.job = job.id;
  out.state = std::string(msg::name_of(job.state));
  if (job.stop) out.stop_id = job.stop->id;
  return out;
}

msg::control_reply reply_from(const caf::error& err) {
  msg::control_reply out;
  out.ok = false;
  out.code = std::string(to_string(code_of(err)));
  out.error = message_of(err);
  return out;
}

/// Sends a request to ourselves (or a job) and answers the bus request with the outcome.
template <class Handle, class... Ts>
void answer_on_bus(registry_self self, const bus::envelope& e, const Handle& dest, Ts&&... xs) {
  auto bus = self->state.deps.bus;
  self->request(dest, defaults::jobs::answer_timeout, std::forward<Ts>(xs)...)
      .then(
          [bus, e](const job_record& job) {
            if (!e.reply.empty()) (void)bus->reply(e, reply_from(job));
          },
          [bus, e](const caf::error& err) {
            if (!e.reply.empty()) (void)bus->reply(e, reply_from(err));
          });
}

/// An agent reported (a hello, or its answer to the poller): into the table, and an agent new
/// to it is watched by the poller from now on, so that its `online` stays true while it runs.
void heard(registry_self self, const msg::agent_report& r) {
  auto& st = self->state;
  if (st.agents.heard(r, self->clock().now(), unix_ms()) && st.deps.poller)
    caf::anon_send(st.deps.poller, watch_atom::value, r.vma);  // an untyped actor
}

/// GET /agents: the table, and the agents that jobs name.
std::vector<agent_status> agents(registry_self self) {
  std::set<std::string> named;
  for (const auto& [id, e] : self->state.jobs) named.insert(e.vma);
  return self->state.agents.list(named, self->clock().now(), defaults::oma::agent_online);
}

/// Tells jobs of the reporting agent what it runs for them: every job after a hello; after a
/// status answer only the failed ones (a mover the agent could not confirm the end of, behind a
/// network that failed) and those for which it runs a mover although they are not active (to
/// be stopped). Active jobs hear of their movers from the poller.
void account(registry_self self, const msg::agent_report& r, bool every_job) {
  for (const auto& [id, e] : self->state.jobs) {
    if (e.vma != r.vma) continue;
    auto it = std::find_if(r.movers.begin(), r.movers.end(),
                           [&id](const msg::mover_info& m) { return m.job == id; });
    const bool listed = it != r.movers.end();
    const bool running = listed && it->state == msg::mover_state::running;
    const bool active = e.state == msg::job_state::queued || e.state == msg::job_state::starting ||
                        e.state == msg::job_state::replicating ||
                        e.state == msg::job_state::stopping;
    if (!every_job && e.state != msg::job_state::failed && !(running && !active)) continue;
    if (listed) {
      self->send(e.actor, status_atom::value, *it, true);
    } else {
      msg::mover_info none;
      none.job = id;
      self->send(e.actor, status_atom::value, none, false);
    }
  }
}

void on_hello(registry_self self, const msg::hello& h) {
  auto& st = self->state;
  spdlog::info("agent {} says hello with {} movers", h.vma, h.movers.size());
  heard(self, h);
  account(self, h, true);
  // A mover for a job that does not exist (deleted while its agent was away) must not write on.
  for (const auto& m : h.movers) {
    if (st.jobs.contains(m.job) || m.state == msg::mover_state::exited) continue;
    msg::stop_request r;
    r.job = m.job;
    r.stop_id = new_stop_id();
    r.reason = msg::stop_reason::bus;
    r.comment = "a mover of an unknown job";
    r.to = std::string(msg::name_of(msg::participant::vma_process));
    r.vma = h.vma;
    if (auto subject = st.deps.bus->subjects().mover_stop(h.vma, m.job))
      (void)st.deps.bus->publish(*subject, r);
  }
}

/// A stop from the bus is held to what the API allows (an id, a comment's length and
/// characters, a grace period), so that no authorised publisher can write control sequences
/// into what operators read, or hold off the kill of a stuck mover for years.
std::string bus_stop_problem(const msg::stop_request& r) {
  if (!msg::valid_id(r.job)) return "job: an id matching ^[a-z0-9][a-z0-9-]{0,62}$ expected";
  if (r.comment.size() > defaults::jobs::max_comment || !msg::printable(r.comment))
    return "comment: at most " + std::to_string(defaults::jobs::max_comment) +
           " printable characters expected";
  if (r.grace_seconds > defaults::jobs::max_grace_seconds)
    return "grace_seconds: at most " + std::to_string(defaults::jobs::max_grace_seconds) +
           " expected";
  return {};
}

void on_envelope(registry_self self, const bus::envelope& e) {
  auto message = msg::decode_any(e.data);
  if (!message) {
    spdlog::warn("oma: dropped a malformed message on {}: {}", e.subject, message.error().message);
    return;
  }
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, msg::stop_confirm>) {
          if (auto job = find(self, m.job)) self->send(job, e);
        } else if constexpr (std::is_same_v<T, msg::stop_request>) {
          if (auto why = bus_stop_problem(m); !why.empty()) {
            if (!e.reply.empty())
              (void)self->state.deps.bus->reply(e, reply_from(make_error(errc::invalid, why)));
          } else if (auto job = find(self, m.job))
            answer_on_bus(self, e, job, m);
          else if (!e.reply.empty())
            (void)self->state.deps.bus->reply(e, reply_from(unknown(m.job)));
        } else if constexpr (std::is_same_v<T, msg::replicate_request>) {
          answer_on_bus(self, e, caf::actor_cast<registry_hdl>(self), m);
        } else if constexpr (std::is_same_v<T, msg::resume_request>) {
          answer_on_bus(self, e, caf::actor_cast<registry_hdl>(self), resume_atom::value, m.job);
        } else if constexpr (std::is_same_v<T, msg::hello>) {
          // Only the agent itself may publish on its subjects: the body must say the same.
          if (self->state.deps.bus->subjects().agent_of(e.subject) == m.vma)
            on_hello(self, m);
          else
            spdlog::warn("oma: dropped a hello for {} on {}", m.vma, e.subject);
        } else if constexpr (std::is_same_v<T, msg::job_state_changed>) {
          if (auto it = self->state.jobs.find(m.job); it != self->state.jobs.end()) {
            it->second.state = m.state;
            it->second.stop_id = m.stop_id;
          }
        } else {
          spdlog::debug("oma: ignored a {} on {}", T::type, e.subject);
        }
      },
      *message);
}

bool subscribe(registry_self self) {
  auto& st = self->state;
  const auto& s = st.deps.bus->subjects();
  auto me = caf::actor_cast<caf::actor>(self);
  for (const auto& pattern :
       {s.all_stopped(), s.all_movers_stopped(), s.control_stop(), s.control_replicate(),
        s.control_resume(), s.all_hellos(), s.all_states()}) {
    auto sub = bus::subscribe_actor(st.deps.bus->transport(), pattern, me);
    if (!sub) {
      spdlog::error("oma: cannot subscribe to {}: {}", pattern, sub.error().message);
      return false;
    }
    st.subscriptions.push_back(std::move(*sub));
  }
  return true;
}

/// A job's record for recover(): a read that timed out (its reply lost on the bus) is made
/// again rather than leave the job without its actor until the next start.
bus::result<stored_job> load_for_recovery(job_store& store, const std::string& id) {
  auto stored = store.load(id);
  for (unsigned read = 1;
       !stored && stored.error().code == bus::errc::timeout && read < defaults::jobs::recover_reads;
       ++read) {
    spdlog::warn("job {}: reading its record again: {}", id, stored.error().message);
    stored = store.load(id);
  }
  return stored;
}

void spawn_recovered(registry_self self, std::vector<std::pair<std::string, stored_job>> records);

/// Every job of the store gets its actor again; queued ones start, the others carry on from
/// where their record says they were.
void recover(registry_self self) {
  // Read on a store lane; the registry answers nothing else until its jobs are back.
  using loaded = std::vector<std::pair<std::string, stored_job>>;
  await_blocking(
      self, *self->state.deps.store_lanes, "registry",
      [store = self->state.deps.store] {
        loaded out;
        auto ids = store->ids();
        if (!ids) {
          spdlog::error("oma: cannot list the jobs: {}", ids.error().message);
          return out;
        }
        for (const auto& id : *ids) {
          auto stored = load_for_recovery(*store, id);
          if (!stored)
            spdlog::error("job {}: cannot be read: {}", id, stored.error().message);
          else
            out.emplace_back(id, std::move(*stored));
        }
        return out;
      },
      [self](loaded records) { spawn_recovered(self, std::move(records)); });
}

/// The jobs read back get their actors.
void spawn_recovered(registry_self self, std::vector<std::pair<std::string, stored_job>> records) {
  auto& st = self->state;
  for (auto& [id, stored] : records) {
    auto job = job_from_json(stored.json);
    if (!job) {
      spdlog::error("job {}: the stored record is damaged ({}); left alone", id, job.error());
      continue;
    }
    const bool queued = job->state == msg::job_state::queued;
    const bool held = queued && st.maintenance.covers(job->vma);
    auto actor = spawn_job(self, std::move(*job), stored.revision, true);
    if (held)
      st.held.push_back(id);
    else if (queued)
      self->send(actor, start_atom::value);
  }
  spdlog::info("oma: {} jobs recovered from the store", st.jobs.size());
}

/// A scheduler trigger's stop or resume, asked of `dest`; a refusal is logged. A request, not
/// a plain send: the answer (the job, or why not) would come back unasked, be answered
/// `unexpected_message`, and that error ends the actor it reaches (the job actor, and through
/// its link this registry).
template <class Handle, class... Ts>
void trigger_request(registry_self self, const Handle& dest, const std::string& job,
                     trigger_action action, Ts&&... xs) {
  self->request(dest, defaults::jobs::answer_timeout, std::forward<Ts>(xs)...)
      .then([](const job_record&) {},
            [job, action](const caf::error& err) {
              spdlog::warn("job {}: the scheduler's {} was refused: {}", job, name_of(action),
                           message_of(err));
            });
}

/// Every job as the registry knows it.
std::vector<job_summary> list(const registry_state& st) {
  std::vector<job_summary> out;
  out.reserve(st.jobs.size());
  for (const auto& [id, e] : st.jobs) out.push_back({id, e.vma, e.state, e.stop_id});
  return out;
}

void set_gate(registry_self self, bool closed, const maintenance_scope& scope,
              const std::string& reason) {
  auto& st = self->state;
  st.maintenance = {closed, scope, reason};
  if (closed) return;
  for (const auto& id : std::exchange(st.held, {}))
    if (auto actor = find(self, id)) self->send(actor, start_atom::value);
}

template <class Atom, class... Ts>
void route(registry_self self, Atom atom, const std::string& job, Ts&&... xs) {
  if (auto actor = find(self, job)) self->send(actor, atom, job, std::forward<Ts>(xs)...);
}

/// A mover's progress goes to its job only if it came from the job's own agent: the poller
/// names in `from` the agent whose subject it came on.
template <class Atom>
void route_progress(registry_self self, Atom atom, const std::string& job, const msg::progress& p) {
  auto it = self->state.jobs.find(job);
  if (it == self->state.jobs.end()) return;
  if (p.hdr.from != "vma:" + it->second.vma) {
    spdlog::warn("oma: dropped a progress of job {} from {}: its agent is {}", job, p.hdr.from,
                 it->second.vma);
    return;
  }
  self->send(it->second.actor, atom, job, p);
}

registry_hdl::behavior_type registry_behavior(registry_self self, job_deps deps) {
  self->state.deps = std::move(deps);
  self->set_default_handler(caf::drop);
  log_stray_errors(self, "registry");
  // A job actor ends normally only when its record was removed (DELETE): forget it. Any
  // other end of a linked actor ends the registry, as links do by default.
  self->set_exit_handler([self](caf::exit_msg& m) {
    if (m.reason) {
      self->quit(std::move(m.reason));
      return;
    }
    auto& jobs = self->state.jobs;
    for (auto it = jobs.begin(); it != jobs.end(); ++it)
      if (it->second.actor.address() == m.source) {
        jobs.erase(it);
        return;
      }
  });
  return {
      [self](start_atom, const caf::actor& poller) {
        // Wired after the poller, which reports to us, exists: only now may jobs start.
        self->state.deps.poller = poller;
        for (const auto& vma : self->state.agents.ids())
          caf::anon_send(poller, watch_atom::value, vma);
        recover(self);
        if (!subscribe(self))
          self->quit(make_error(errc::internal, "the registry could not subscribe to the bus"));
      },
      [self](const bus::envelope& e) { on_envelope(self, e); },
      // Requests for one job are delegated: the job answers the asker itself, within the
      // asker's own timeout.
      [self](const msg::replicate_request& r) -> caf::result<job_record> {
        return create(self, r);
      },
      [self](const msg::stop_request& r) -> caf::result<job_record> {
        auto job = find(self, r.job);
        if (!job) return unknown(r.job);
        return self->delegate(job, r);
      },
      [self](resume_atom a, const std::string& id) -> caf::result<job_record> {
        auto job = find(self, id);
        if (!job) return unknown(id);
        if (self->state.maintenance.covers(self->state.jobs[id].vma))
          return self->state.maintenance.refusal();
        return self->delegate(job, a);
      },
      [self](remove_atom a, const msg::stop_request& r) -> caf::result<job_record> {
        auto job = find(self, r.job);
        if (!job) return unknown(r.job);
        return self->delegate(job, a, r);
      },
      [self](plan_atom a, const msg::stop_request& r) -> caf::result<stop_plan> {
        auto job = find(self, r.job);
        if (!job) return unknown(r.job);
        return self->delegate(job, a, r);
      },
      [self](list_atom) { return list(self->state); },
      [self](agents_atom) { return agents(self); },
      [self](watch_atom, const std::string& vma) {
        if (self->state.agents.expect(vma) && self->state.deps.poller)
          caf::anon_send(self->state.deps.poller, watch_atom::value, vma);
      },
      [self](const msg::vma_status& s) {
        heard(self, s);
        account(self, s, false);
      },
      [self](gate_atom, bool closed, const maintenance_scope& scope, const std::string& reason) {
        set_gate(self, closed, scope, reason);
      },
      [self](get_atom a, const std::string& id) -> caf::result<job_record> {
        auto job = find(self, id);
        if (!job) return unknown(id);
        return self->delegate(job, a);
      },
      [self](snapshot_atom a, const std::string& job, const msg::progress& p) {
        route_progress(self, a, job, p);
      },
      [self](exited_atom a, const std::string& job, const msg::progress& p) {
        route_progress(self, a, job, p);
      },
      [self](lost_atom a, const std::string& job, const std::string& why) {
        route(self, a, job, why);
      },
      [self](stalled_atom a, const std::string& job, std::uint64_t seconds) {
        route(self, a, job, seconds);
      },
      [self](trigger_atom, const std::string& job, trigger_action action) {
        auto actor = find(self, job);
        if (!actor) return;
        if (action == trigger_action::start) {
          // Through the same gate as a recovered queued job: maintenance holds it.
          if (self->state.maintenance.covers(self->state.jobs[job].vma))
            self->state.held.push_back(job);
          else
            self->send(actor, start_atom::value);
        } else if (action == trigger_action::resume) {
          trigger_request(self, caf::actor_cast<registry_hdl>(self), job, action,
                          resume_atom::value, job);
        } else {
          msg::stop_request r;
          r.hdr = self->state.deps.bus->header();
          r.job = job;
          r.reason = msg::stop_reason::schedule;
          trigger_request(self, actor, job, action, std::move(r));
        }
      },
  };
}

}  // namespace

registry_hdl spawn_registry(caf::actor_system& system, job_deps deps) {
  return system.spawn([deps = std::move(deps)](registry_self self) mutable {
    return registry_behavior(self, std::move(deps));
  });
}

}  // namespace mk::actors
