// The scheduler: per-job triggers, the schedules (added, listed, removed, stored), and the one
// timer that wakes it when a schedule is due. What a schedule does is in schedule_firing.cpp.
#include "oma/scheduler_actor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/atoms.hpp"
#include "actors/blocking_lanes.hpp"
#include "actors/errors.hpp"
#include "config/defaults.hpp"
#include "messages/caf_types.hpp"
#include "models/ids.hpp"
#include "models/job_record.hpp"
#include "oma/document_bucket.hpp"
#include "oma/scheduler_state.hpp"

namespace mk::actors {

using nlohmann::json;

namespace {

caf::result<std::string> add_trigger(scheduler_self self, const std::string& job,
                                     trigger_action action, std::int64_t at_unix_ms) {
  auto& st = self->state;
  if (!msg::valid_id(job)) return make_error(errc::invalid, "invalid job id \"" + job + "\"");
  const auto ahead = at_unix_ms - st.opts.now_unix_ms();
  if (ahead > std::chrono::milliseconds(defaults::schedules::max_ahead).count())
    return make_error(errc::invalid, "trigger for job " + job + ": more than 10 years ahead");
  auto id = "t-" + std::to_string(++st.next_id);
  st.triggers.emplace(id, trigger{job, action, at_unix_ms});
  const auto wait = std::chrono::milliseconds(std::max<std::int64_t>(0, ahead));
  // One message per trigger, never re-armed; a dropped trigger's message finds nothing.
  self->delayed_send(self, wait, tick_atom::value, id);
  return id;
}

void fire_trigger(scheduler_self self, const std::string& id) {
  auto& st = self->state;
  auto t = st.triggers.find(id);
  if (t == st.triggers.end()) return;
  spdlog::info("scheduler: trigger {}: {} job {}", id, name_of(t->second.action), t->second.job);
  self->send(st.registry, trigger_atom::value, t->second.job, t->second.action);
  st.triggers.erase(t);
}

std::string list_triggers(const scheduler_state& st) {
  std::vector<std::pair<std::string, trigger>> by_time(st.triggers.begin(), st.triggers.end());
  std::ranges::stable_sort(by_time, {}, [](const auto& e) { return e.second.at_unix_ms; });
  auto out = json::array();
  for (const auto& [id, t] : by_time)
    out.push_back(
        {{"id", id}, {"job", t.job}, {"action", name_of(t.action)}, {"at_unix_ms", t.at_unix_ms}});
  return out.dump();
}

std::string list_schedules(const scheduler_state& st) {
  std::vector<const schedule*> sorted;
  for (const auto& [_, s] : st.schedules) sorted.push_back(&s);
  std::ranges::stable_sort(sorted, {}, [](const schedule* s) { return s->created_ms; });
  const auto now = st.opts.now_unix_ms();
  auto out = json::array();
  for (const auto* s : sorted) out.push_back(to_json(*s, now));
  return json{{"schedules", std::move(out)}}.dump();
}

void tell_changed(scheduler_self self) {
  if (self->state.opts.changed) self->state.opts.changed(list_schedules(self->state));
}

/// The one wake-up: at the earliest due schedule, and at least every `recheck`.
void arm(scheduler_self self) {
  auto& st = self->state;
  const auto generation = ++st.tick_generation;
  if (st.schedules.empty() || !st.started) return;
  const auto now = st.opts.now_unix_ms();
  std::int64_t wait = std::chrono::milliseconds(defaults::schedules::recheck).count();
  for (const auto& [_, s] : st.schedules) {
    if (auto due = s.next_due(now))
      wait = std::min(wait, *due - now);
    else if (const auto leaves = s.fired_ms + st.opts.fired_retention.count();
             s.fired_ms && leaves > now)  // one past it whose erase failed waits for a recheck
      wait = std::min(wait, leaves - now);
  }
  self->delayed_send(self, std::chrono::milliseconds(std::max<std::int64_t>(0, wait)),
                     tick_atom::value, generation);
}

/// Removes fired one-shots past their retention from the list and the store. One that cannot
/// be erased from the store stays, and is tried again at the next wake-up.
void forget_fired(scheduler_self self, const std::vector<std::string>& ids) {
  auto& st = self->state;
  await_blocking(
      self, *st.opts.lanes, "schedules",
      [documents = st.opts.documents, ids] {
        std::vector<std::string> erased;
        for (const auto& id : ids) {
          if (auto r = documents->erase(id); !r)
            spdlog::warn("scheduler: fired schedule {}: store: {}", id, r.error().message);
          else
            erased.push_back(id);
        }
        return erased;
      },
      [self](std::vector<std::string> erased) {
        for (const auto& id : erased) {
          spdlog::info("scheduler: schedule {} fired at {} and leaves the list", id,
                       rfc3339(self->state.schedules[id].fired_ms));
          self->state.schedules.erase(id);
        }
        if (!erased.empty()) tell_changed(self);
      });
}

/// Acts on whatever is due: one-shots whose time came, windows that opened or closed (and,
/// once after a start, every window's jobs brought in line with it).
void evaluate(scheduler_self self) {
  auto& st = self->state;
  if (!st.started) return;
  const auto now = st.opts.now_unix_ms();
  std::vector<std::string> once, closing, expired;
  std::vector<schedule> opening;
  for (auto& [id, s] : st.schedules) {
    if (!s.is_window) {
      if (!s.fired_ms && s.at_ms <= now && !st.firing.contains(id))
        once.push_back(id);
      else if (s.fired_ms && s.fired_ms + st.opts.fired_retention.count() <= now)
        expired.push_back(id);
      continue;
    }
    const bool open = s.window.open_at(now);
    const bool first_look = st.reconciled.insert(id).second;
    if (s.open != open) {
      spdlog::info("scheduler: window {} ({}, {}) {}", id, s.window.text(), s.target.text(),
                   open ? "opens" : "closes");
      s.open = open;
      s.changed_ms = now;
      store_schedule(self, id);
    } else if (!first_look) {
      continue;
    }
    if (!open)
      closing.push_back(id);
    else if (!s.stopped.empty())
      opening.push_back(s);
  }
  for (const auto& id : once) fire_once(self, id);
  for (const auto& id : closing) close_window(self, id);
  for (const auto& s : opening) open_window(self, s);
  forget_fired(self, expired);
}

caf::result<std::string> add_schedule(scheduler_self self, const std::string& body,
                                      const std::string& by) {
  auto& st = self->state;
  auto parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded()) return make_error(errc::invalid, "the body: not JSON");
  const auto now = st.opts.now_unix_ms();
  auto s = schedule_from_request(parsed, now);
  if (!s) return make_error(errc::invalid, s.error());
  if (st.schedules.size() >= defaults::schedules::max_count)
    return make_error(errc::conflict, "there are " + std::to_string(st.schedules.size()) +
                                          " schedules already, the most kept; remove some first");
  s->id = new_schedule_id();
  s->created_ms = now;
  s->created_by = by;
  auto rp = self->make_response_promise<std::string>();
  auto keep = [self, rp, sched = *s]() mutable {
    auto& state = self->state;
    await_blocking(
        self, *state.opts.lanes, "schedules",
        [documents = state.opts.documents, id = sched.id,
         text = to_json(sched, state.opts.now_unix_ms()).dump()] {
          return documents->put(id, text);
        },
        [self, rp, sched](bus::result<> r) mutable {
          auto& kept = self->state;
          if (!r) {
            rp.deliver(make_error(errc::internal, "schedules: store: " + r.error().message));
            return;
          }
          const auto id = sched.id;
          spdlog::info("scheduler: schedule {} added by {}: {}", id, sched.created_by,
                       sched.is_window
                           ? "window " + sched.window.text() + " for " + sched.target.text()
                           : sched.comment() + " for " + sched.target.text());
          kept.schedules.emplace(id, std::move(sched));
          rp.deliver(to_json(kept.schedules[id], kept.opts.now_unix_ms()).dump());
          tell_changed(self);
          evaluate(self);
          arm(self);
        });
  };
  if (s->target.k != schedule_target::kind::job) {
    keep();
    return rp;
  }
  // A job that does not exist is a 404 now rather than a schedule that can never act.
  self->request(st.registry, defaults::jobs::answer_timeout, get_atom::value, s->target.id)
      .then([keep](const job_record&) mutable { keep(); },
            [rp](const caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

caf::result<std::string> remove_schedule(scheduler_self self, const std::string& id) {
  auto& st = self->state;
  auto it = st.schedules.find(id);
  if (it == st.schedules.end()) return make_error(errc::not_found, "no schedule " + id);
  auto rp = self->make_response_promise<std::string>();
  await_blocking(
      self, *st.opts.lanes, "schedules",
      [documents = st.opts.documents, id] { return documents->erase(id); },
      [self, rp, id](bus::result<> r) mutable {
        auto& s = self->state;
        auto found = s.schedules.find(id);
        if (!r || found == s.schedules.end()) {
          rp.deliver(make_error(errc::internal, "schedules: store: " +
                                                    (r ? "removed meanwhile" : r.error().message)));
          return;
        }
        auto gone = std::move(found->second);
        s.schedules.erase(found);
        s.reconciled.erase(id);
        spdlog::info("scheduler: schedule {} removed", id);
        // The jobs it stopped would otherwise wait for an opening that never comes.
        if (gone.is_window && !gone.stopped.empty()) open_window(self, gone);
        tell_changed(self);
        arm(self);
        rp.deliver(to_json(gone, s.opts.now_unix_ms()).dump());
      });
  return rp;
}

/// Reads the stored schedules back (awaited: nothing else is handled before they are in).
void load(scheduler_self self) {
  auto& st = self->state;
  await_blocking(
      self, *st.opts.lanes, "schedules",
      [documents = st.opts.documents] {
        std::vector<std::pair<std::string, std::string>> texts;
        auto keys = documents->keys();
        if (!keys) {
          spdlog::error("scheduler: the stored schedules cannot be listed: {}",
                        keys.error().message);
          return texts;
        }
        for (const auto& key : *keys) {
          auto text = documents->get(key);
          if (!text || !*text)
            spdlog::error("scheduler: schedule {} cannot be read", key);
          else
            texts.emplace_back(key, std::move(**text));
        }
        return texts;
      },
      [self](std::vector<std::pair<std::string, std::string>> texts) {
        auto& s = self->state;
        for (const auto& [key, text] : texts) {
          if (auto sched = schedule_from_json(text))
            s.schedules.emplace(sched->id, std::move(*sched));
          else
            spdlog::error("scheduler: schedule {} is damaged and left out: {}", key, sched.error());
        }
        if (!s.schedules.empty()) spdlog::info("scheduler: {} schedules", s.schedules.size());
      });
}

void on_stop(scheduler_self self, const bus::envelope& e) {
  auto& st = self->state;
  auto stop = st.answers.take(*st.bus, e);
  if (!stop) return;
  const auto dropped =
      std::erase_if(st.triggers, [&](const auto& entry) { return entry.second.job == stop->job; });
  st.answers.confirm(
      *st.bus, *stop, msg::outcome::ok,
      "dropped " + std::to_string(dropped) + (dropped == 1 ? " trigger" : " triggers"));
}

void on_envelope(scheduler_self self, const bus::envelope& e) {
  if (e.subject.ends_with(".state")) {
    if (auto m = msg::decode_any(e.data))
      if (auto* c = std::get_if<msg::job_state_changed>(&*m)) on_job_state(self, *c);
    return;
  }
  on_stop(self, e);
}

caf::behavior scheduler(scheduler_self self, std::shared_ptr<bus_link> bus, registry_hdl registry,
                        scheduler_options opts) {
  auto& st = self->state;
  st.bus = std::move(bus);
  st.registry = std::move(registry);
  log_stray_errors(self, "scheduler");
  st.opts = std::move(opts);
  if (!st.opts.now_unix_ms) st.opts.now_unix_ms = unix_ms;
  if (!st.opts.documents) st.opts.documents = std::make_shared<memory_documents>();
  if (!st.opts.lanes) st.opts.lanes = std::make_shared<blocking_lanes>(self->home_system(), 1);
  load(self);
  auto me = caf::actor_cast<caf::actor>(self);
  auto stops = subscribe_stops(*st.bus, me);
  auto states = bus::subscribe_actor(st.bus->transport(), st.bus->subjects().all_states(), me);
  if (!stops || !states) {
    const auto why = !stops ? stops.error().message : states.error().message;
    spdlog::error("scheduler: cannot subscribe: {}", why);
    self->quit(make_error(errc::internal, "scheduler: subscribe: " + why));
    return {};
  }
  st.subscriptions.push_back(std::move(*stops));
  st.subscriptions.push_back(std::move(*states));
  return {
      [self](trigger_atom, const std::string& job, trigger_action action, std::int64_t at_unix_ms) {
        return add_trigger(self, job, action, at_unix_ms);
      },
      [self](tick_atom, const std::string& id) { fire_trigger(self, id); },
      [self](tick_atom, std::uint64_t generation) {
        if (generation != self->state.tick_generation)
          return;  // a later arm() replaced this wake-up
        evaluate(self);
        arm(self);
      },
      [self](get_atom) { return list_triggers(self->state); },
      [self](schedule_atom, const std::string& body, const std::string& by) {
        return add_schedule(self, body, by);
      },
      [self](list_atom) { return list_schedules(self->state); },
      [self](remove_atom, const std::string& id) { return remove_schedule(self, id); },
      [self](start_atom) {
        self->state.started = true;
        evaluate(self);
        arm(self);
      },
      [self](const bus::envelope& e) { on_envelope(self, e); },
      [self](shutdown_atom) {
        self->state.subscriptions.clear();
        self->state.triggers.clear();
        self->quit();
      },
  };
}

}  // namespace

void store_schedule(scheduler_self self, const std::string& id) {
  auto& st = self->state;
  auto it = st.schedules.find(id);
  if (it == st.schedules.end()) return;
  await_blocking(
      self, *st.opts.lanes, "schedules",
      [documents = st.opts.documents, id,
       text = to_json(it->second, st.opts.now_unix_ms()).dump()] {
        return documents->put(id, text);
      },
      [self, id](bus::result<> r) {
        if (!r) spdlog::error("scheduler: schedule {} not stored: {}", id, r.error().message);
        tell_changed(self);
      });
}

caf::actor spawn_scheduler(caf::actor_system& system, std::shared_ptr<bus_link> bus,
                           registry_hdl registry, scheduler_options options) {
  return system.spawn(scheduler, std::move(bus), std::move(registry), std::move(options));
}

}  // namespace mk::actors
