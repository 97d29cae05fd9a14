// Maintenance mode: the gate, the throttled stops, the resumes, and the mode in the store.
#include "oma/maintenance_actor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <caf/all.hpp>
#include <deque>
#include <set>
#include <utility>

#include "actors/atoms.hpp"
#include "actors/errors.hpp"
#include "config/defaults.hpp"
#include "messages/caf_types.hpp"
#include "messages/job_states.hpp"
#include "models/ids.hpp"
#include "models/maintenance_mode.hpp"

namespace mk::actors {

namespace {

using msg::job_state;
using nlohmann::json;

struct maintenance_state {
  std::shared_ptr<bus_link> bus;
  registry_hdl registry;
  std::shared_ptr<document_bucket> settings;
  std::shared_ptr<blocking_lanes> lanes;  ///< where the settings are read and written
  std::function<void(const std::string&)> changed;
  maintenance_mode mode;
  std::deque<std::string> waiting;     ///< jobs in scope still to stop, in order
  std::set<std::string> own_switches;  ///< header ids of our own publications, not to re-apply
  std::vector<bus::subscription> subscriptions;
  /// A bookkeeping write under way, and whether another change waits for it to end.
  bool persisting = false;
  bool persist_again = false;
  static inline const char* name = "maintenance";
};

using maintenance_self = caf::stateful_actor<maintenance_state>*;

std::string reply(const maintenance_state& st) {
  auto j = to_json(st.mode);
  j["waiting"] = st.waiting.size();
  return j.dump();
}

/// Stored (on a store lane, awaited) before anyone acts on it; `then` hears a failure (a
/// switch is then refused).
void persist(maintenance_self self, std::function<void(caf::error)> then) {
  auto& st = self->state;
  const auto text = reply(st);  // stored as shown: `waiting` is ignored when read back
  await_blocking(
      self, *st.lanes, defaults::maintenance::settings_key,
      [settings = st.settings, text] {
        return settings->put(defaults::maintenance::settings_key, text);
      },
      [self, text, then = std::move(then)](bus::result<> r) {
        if (!r) {
          then(make_error(errc::internal, "maintenance mode: store: " + r.error().message));
          return;
        }
        if (self->state.changed) self->state.changed(text);
        then(caf::none);
      });
}

/// The bookkeeping of stops and resumes (nothing waits for it), written behind: while one
/// write is under way, the changes that follow are written once, together, after it. A
/// maintenance of 200 jobs made 400 writes of a document that grows with every job stopped
/// (and as many announcements of it), and took CPU from the stops themselves.
void persist_or_log(maintenance_self self) {
  auto& st = self->state;
  if (st.persisting) {
    st.persist_again = true;
    return;
  }
  st.persisting = true;
  persist(self, [self](const caf::error& err) {
    if (err) spdlog::error("{}", message_of(err));
    auto& s = self->state;
    s.persisting = false;
    if (std::exchange(s.persist_again, false)) persist_or_log(self);
  });
}

void announce(maintenance_self self) {
  auto& st = self->state;
  msg::maintenance m;
  m.hdr = st.bus->header();
  m.enabled = st.mode.enabled;
  m.reason = st.mode.reason;
  m.scope = st.mode.scope.name();
  m.resume_after = st.mode.resume_after;
  m.max_parallel = st.mode.max_parallel;
  st.own_switches.insert(m.hdr.id);
  (void)st.bus->transport().publish(st.bus->subjects().maintenance(), msg::encode(m));
  self->send(st.registry, gate_atom::value, st.mode.enabled, st.mode.scope, st.mode.reason);
}

/// Asks the registry for a job's record, again while the asking times out (a request that
/// timed out may still have been taken: the record tells); `failed` hears any other error.
void look_at_job(maintenance_self self, const std::string& job,
                 std::function<void(const job_record&)> then,
                 std::function<void(const caf::error&)> failed) {
  self->request(self->state.registry, defaults::jobs::answer_timeout, get_atom::value, job)
      .then([then](const job_record& record) { then(record); },
            [self, job, then, failed](const caf::error& err) {
              if (err == caf::sec::request_timeout) return look_at_job(self, job, then, failed);
              failed(err);
            });
}

void reconcile_resume(maintenance_self self, const std::string& job);

void resume(maintenance_self self, const std::string& job) {
  auto& st = self->state;
  std::erase(st.mode.to_resume, job);
  self->request(st.registry, defaults::jobs::answer_timeout, resume_atom::value, job)
      .then(
          [self, job](const job_record&) {
            self->state.mode.resumed.push_back(job);
            persist_or_log(self);
          },
          [self, job](const caf::error& err) {
            if (err == caf::sec::request_timeout) return reconcile_resume(self, job);
            spdlog::warn("maintenance: job {} not resumed: {}", job, message_of(err));
          });
}

/// A resume that timed out may still have been taken: the job's state tells.
void reconcile_resume(maintenance_self self, const std::string& job) {
  look_at_job(
      self, job,
      [self, job](const job_record& record) {
        if (msg::is_active(record.state) || record.state == job_state::completed) {
          self->state.mode.resumed.push_back(job);
          persist_or_log(self);
        } else {
          spdlog::warn("maintenance: job {} not resumed (it is {})", job,
                       msg::name_of(record.state));
        }
      },
      [job](const caf::error& err) {
        spdlog::warn("maintenance: job {} not resumed: {}", job, message_of(err));
      });
}

void on_state(maintenance_self self, const msg::job_state_changed& c);
void pump(maintenance_self self);

std::string stop_comment(const maintenance_mode& mode) {
  return "maintenance " + mode.id + (mode.reason.empty() ? "" : ": " + mode.reason);
}

/// A stop request that timed out may still have been taken: under load the job can write
/// `stopping` after the asker gave up. Freeing its slot then would start one stop too many, and
/// the job's settle would no longer count as ours. The job itself tells which: a stop of this
/// maintenance keeps the slot (and settles it if already over); an active job without it is
/// queued again; anything else frees the slot.
void reconcile_stop(maintenance_self self, const std::string& job) {
  look_at_job(
      self, job,
      [self, job](const job_record& record) {
        auto& st = self->state;
        auto it = st.mode.stopping.find(job);
        if (it == st.mode.stopping.end()) return;  // settled meanwhile: counted there
        const auto prefix = "maintenance " + st.mode.id;
        const bool ours = record.stop && record.stop->requested_by == "maintenance" &&
                          record.stop->comment.starts_with(prefix);
        if (ours) {
          it->second = record.stop->id;
          persist_or_log(self);
          if (msg::is_settled(record.state))
            on_state(self, {{}, job, record.state, it->second, {}});
          return;
        }
        st.mode.stopping.erase(it);
        if (msg::is_active(record.state) && st.mode.enabled) st.waiting.push_front(job);
        persist_or_log(self);
        pump(self);
      },
      [self, job](const caf::error&) {
        // Unknown now (deleted): its slot is free.
        if (self->state.mode.stopping.erase(job) > 0) persist_or_log(self);
        pump(self);
      });
}

/// Starts stops until max_parallel are in flight.
void pump(maintenance_self self) {
  auto& st = self->state;
  while (st.mode.enabled && st.mode.stopping.size() < st.mode.max_parallel && !st.waiting.empty()) {
    const auto job = st.waiting.front();
    st.waiting.pop_front();
    msg::stop_request r;
    r.hdr = st.bus->header();
    r.hdr.from = "maintenance";
    r.job = job;
    r.reason = msg::stop_reason::maintenance;
    r.comment = stop_comment(st.mode);
    st.mode.stopping[job] = "";  // the slot is taken from the request on
    self->request(st.registry, defaults::jobs::answer_timeout, r)
        .then(
            [self, job](const job_record& record) {
              auto& stopping = self->state.mode.stopping;
              if (auto it = stopping.find(job); it != stopping.end() && record.stop)
                it->second = record.stop->id;
              persist_or_log(self);
            },
            [self, job](const caf::error& err) {
              if (err == caf::sec::request_timeout) {
                spdlog::warn("maintenance: no answer yet to the stop of job {}; asking the job",
                             job);
                return reconcile_stop(self, job);
              }
              // Ended or stopped meanwhile: nothing to stop, and the slot is free again.
              spdlog::info("maintenance: job {} not stopped: {}", job, message_of(err));
              self->state.mode.stopping.erase(job);
              pump(self);
            });
  }
}

/// A job's state changed: a stop of ours that settled frees its slot.
void on_state(maintenance_self self, const msg::job_state_changed& c) {
  auto& st = self->state;
  auto it = st.mode.stopping.find(c.job);
  if (it == st.mode.stopping.end() || !msg::is_settled(c.state)) return;
  const bool ours = it->second.empty() || it->second == c.stop_id;
  st.mode.stopping.erase(it);
  if (c.state == job_state::stopped && ours) {
    st.mode.stopped.push_back(c.job);
    if (!st.mode.enabled && st.mode.resume_after) st.mode.to_resume.push_back(c.job);
  }
  persist_or_log(self);
  if (!st.mode.enabled && std::ranges::find(st.mode.to_resume, c.job) != st.mode.to_resume.end())
    resume(self, c.job);
  pump(self);
}

/// Asks the registry for every job, then stops the active ones in scope and carries on the
/// stops and resumes that a restart interrupted.
void survey(maintenance_self self) {
  self->request(self->state.registry, defaults::jobs::answer_timeout, list_atom::value)
      .then(
          [self](const std::vector<job_summary>& jobs) {
            auto& st = self->state;
            st.waiting.clear();
            // A stop whose job is gone (deleted meanwhile) never settles: free its slot.
            std::set<std::string> listed;
            for (const auto& j : jobs) listed.insert(j.id);
            if (std::erase_if(st.mode.stopping,
                              [&](const auto& e) { return !listed.contains(e.first); }) > 0)
              persist_or_log(self);
            for (const auto& j : jobs) {
              msg::job_state_changed c{{}, j.id, j.state, j.stop_id, {}};
              if (st.mode.stopping.contains(j.id))
                on_state(self, c);  // settled while we were away
              else if (st.mode.enabled && st.mode.covers(j.vma) && msg::is_active(j.state))
                st.waiting.push_back(j.id);
            }
            for (const auto& id : std::vector(st.mode.to_resume)) resume(self, id);
            pump(self);
          },
          [](const caf::error& err) {
            spdlog::error("maintenance: the registry did not list the jobs: {}", message_of(err));
          });
}

/// A switch: the mode as it now is, stored; then `after`, and the mode is the answer. If it
/// cannot be stored, the mode is `before` again and the answer is why.
caf::result<std::string> store_switch(maintenance_self self, maintenance_mode before,
                                      std::function<void()> after) {
  auto rp = self->make_response_promise<std::string>();
  persist(self,
          [self, rp, before = std::move(before), after = std::move(after)](caf::error err) mutable {
            if (err) {
              self->state.mode = std::move(before);
              rp.deliver(std::move(err));
              return;
            }
            after();
            rp.deliver(reply(self->state));
          });
  return rp;
}

caf::result<std::string> turn_on(maintenance_self self, const msg::maintenance& m) {
  auto& st = self->state;
  const auto parallel = m.max_parallel ? m.max_parallel : defaults::maintenance::max_parallel;
  if (st.mode.enabled) {
    if (m.scope != st.mode.scope.name())
      return make_error(errc::conflict, "maintenance mode is already on for " +
                                            st.mode.scope.name() +
                                            "; turn it off before changing the scope");
    const auto before = st.mode;
    st.mode.reason = m.reason;
    st.mode.max_parallel = parallel;
    return store_switch(self, before, [self] { pump(self); });
  }
  const auto before = st.mode;
  maintenance_mode on;
  on.enabled = true;
  on.id = new_maintenance_id();
  on.reason = m.reason;
  on.scope = maintenance_scope::parse(m.scope).value_or(maintenance_scope{});  // checked
  on.max_parallel = parallel;
  on.since_ms = unix_ms();
  on.requested_by = m.hdr.from;
  on.stopping = before.stopping;  // stops of an earlier maintenance still settling
  st.mode = std::move(on);
  return store_switch(self, before, [self] {
    auto& s = self->state;
    spdlog::info("maintenance {} on ({}){}{}", s.mode.id, s.mode.scope.name(),
                 s.mode.reason.empty() ? "" : ": ", s.mode.reason);
    announce(self);
    survey(self);
  });
}

caf::result<std::string> turn_off(maintenance_self self, const msg::maintenance& m) {
  auto& st = self->state;
  if (!st.mode.enabled) return reply(st);
  const auto before = st.mode;
  st.mode.enabled = false;
  st.mode.resume_after = m.resume_after;
  if (m.resume_after) st.mode.to_resume = st.mode.stopped;
  return store_switch(self, before, [self] {
    auto& s = self->state;
    s.waiting.clear();
    spdlog::info("maintenance {} off; {} job(s) to resume", s.mode.id, s.mode.to_resume.size());
    announce(self);
    for (const auto& id : std::vector(s.mode.to_resume)) resume(self, id);
  });
}

caf::result<std::string> on_switch(maintenance_self self, const msg::maintenance& m) {
  if (auto ok = check_switch(m); !ok) return make_error(errc::invalid, ok.error());
  return m.enabled ? turn_on(self, m) : turn_off(self, m);
}

void on_envelope(maintenance_self self, const bus::envelope& e) {
  auto message = msg::decode_any(e.data);
  if (!message) return;
  if (auto* c = std::get_if<msg::job_state_changed>(&*message)) {
    on_state(self, *c);
  } else if (auto* m = std::get_if<msg::maintenance>(&*message)) {
    if (self->state.own_switches.erase(m->hdr.id) == 0) (void)on_switch(self, *m);
  }
}

caf::behavior maintenance(maintenance_self self, std::shared_ptr<bus_link> bus,
                          registry_hdl registry, std::shared_ptr<document_bucket> settings,
                          std::shared_ptr<blocking_lanes> lanes,
                          std::function<void(const std::string&)> changed) {
  auto& st = self->state;
  st.changed = std::move(changed);
  log_stray_errors(self, "maintenance");
  st.bus = std::move(bus);
  st.registry = std::move(registry);
  st.settings = std::move(settings);
  st.lanes = std::move(lanes);
  // Read (awaited) before anything else runs, and the gate closed again at once: the registry
  // recovers its jobs after this actor has answered its first request (see cmd/oma_node.cpp).
  await_blocking(
      self, *st.lanes, defaults::maintenance::settings_key,
      [settings = st.settings] { return settings->get(defaults::maintenance::settings_key); },
      [self](bus::result<std::optional<std::string>> stored) {
        auto& s = self->state;
        if (!stored) {
          spdlog::error("maintenance: the stored mode cannot be read: {}", stored.error().message);
        } else if (*stored) {
          if (auto m = maintenance_from_json(**stored))
            s.mode = std::move(*m);
          else
            spdlog::error("maintenance: the stored mode is damaged ({}); taken as off", m.error());
        }
        if (s.mode.enabled)
          self->send(s.registry, gate_atom::value, true, s.mode.scope, s.mode.reason);
      });
  const auto& s = st.bus->subjects();
  for (const auto& pattern : {s.maintenance(), s.all_states()}) {
    auto sub =
        bus::subscribe_actor(st.bus->transport(), pattern, caf::actor_cast<caf::actor>(self));
    if (!sub) {
      spdlog::error("maintenance: cannot subscribe to {}: {}", pattern, sub.error().message);
      self->quit(make_error(errc::internal, "maintenance: subscribe: " + sub.error().message));
      return {};
    }
    st.subscriptions.push_back(std::move(*sub));
  }
  return {
      [self](get_atom) { return reply(self->state); },
      [self](const msg::maintenance& m) { return on_switch(self, m); },
      [self](start_atom) {
        if (self->state.mode.enabled || !self->state.mode.to_resume.empty() ||
            !self->state.mode.stopping.empty())
          survey(self);
      },
      [self](const bus::envelope& e) { on_envelope(self, e); },
      [self](shutdown_atom) {
        self->state.subscriptions.clear();
        self->quit();
      },
  };
}

}  // namespace

caf::actor spawn_maintenance(caf::actor_system& system, std::shared_ptr<bus_link> bus,
                             registry_hdl registry, std::shared_ptr<document_bucket> settings,
                             std::shared_ptr<blocking_lanes> lanes,
                             std::function<void(const std::string&)> changed) {
  return system.spawn(maintenance, std::move(bus), std::move(registry), std::move(settings),
                      std::move(lanes), std::move(changed));
}

}  // namespace mk::actors
