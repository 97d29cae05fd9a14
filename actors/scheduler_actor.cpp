#include "actors/scheduler_actor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <caf/all.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "actors/atoms.hpp"
#include "actors/errors.hpp"
#include "actors/participant.hpp"
#include "messages/caf_types.hpp"

namespace mk::actors {

namespace {

struct trigger {
  std::string job;
  std::string action;
  std::int64_t at_unix_ms = 0;
};

struct scheduler_state {
  std::shared_ptr<bus_link> bus;
  caf::actor registry;
  scheduler_options opts;
  stop_answers answers{msg::participant::scheduler};
  bus::subscription stops_sub;
  std::map<std::string, trigger> triggers;
  std::uint64_t next_id = 0;
  static inline const char* name = "scheduler";
};

using self_ptr = caf::stateful_actor<scheduler_state>*;

constexpr std::chrono::milliseconds max_ahead = std::chrono::hours(24 * 366 * 10);

bool known_action(const std::string& action) {
  return action == "start" || action == "stop" || action == "resume";
}

caf::result<std::string> add(self_ptr self, const std::string& job, const std::string& action,
                             std::int64_t at_unix_ms) {
  auto& st = self->state;
  if (!msg::valid_id(job)) return make_error(errc::invalid, "invalid job id \"" + job + "\"");
  if (!known_action(action))
    return make_error(errc::invalid, "trigger for job " + job + ": unknown action \"" + action +
                                         "\" (start, stop or resume)");
  const auto ahead = at_unix_ms - st.opts.now_unix_ms();
  // The actor clock counts nanoseconds in 64 bits: a wait of centuries would overflow it.
  if (ahead > max_ahead.count())
    return make_error(errc::invalid, "trigger for job " + job + ": more than 10 years ahead");
  auto id = "t-" + std::to_string(++st.next_id);
  st.triggers.emplace(id, trigger{job, action, at_unix_ms});
  const auto wait = std::chrono::milliseconds(std::max<std::int64_t>(0, ahead));
  // One message per trigger, never re-armed; a dropped trigger's message finds nothing.
  self->delayed_send(self, wait, tick_atom::value, id);
  return id;
}

void fire(self_ptr self, const std::string& id) {
  auto& st = self->state;
  auto t = st.triggers.find(id);
  if (t == st.triggers.end()) return;
  spdlog::info("scheduler: trigger {}: {} job {}", id, t->second.action, t->second.job);
  self->send(st.registry, trigger_atom::value, t->second.job, t->second.action);
  st.triggers.erase(t);
}

std::string list(const scheduler_state& st) {
  std::vector<std::pair<std::string, trigger>> by_time(st.triggers.begin(), st.triggers.end());
  std::ranges::stable_sort(by_time, {}, [](const auto& e) { return e.second.at_unix_ms; });
  auto out = nlohmann::json::array();
  for (const auto& [id, t] : by_time)
    out.push_back({{"id", id}, {"job", t.job}, {"action", t.action}, {"at_unix_ms", t.at_unix_ms}});
  return out.dump();
}

void on_stop(self_ptr self, const bus::envelope& e) {
  auto& st = self->state;
  auto stop = st.answers.take(*st.bus, e);
  if (!stop) return;
  const auto dropped =
      std::erase_if(st.triggers, [&](const auto& entry) { return entry.second.job == stop->job; });
  st.answers.confirm(
      *st.bus, *stop, msg::outcome::ok,
      "dropped " + std::to_string(dropped) + (dropped == 1 ? " trigger" : " triggers"));
}

caf::behavior scheduler(self_ptr self, std::shared_ptr<bus_link> bus, caf::actor registry,
                        scheduler_options opts) {
  auto& st = self->state;
  st.bus = std::move(bus);
  st.registry = std::move(registry);
  st.opts = std::move(opts);
  if (!st.opts.now_unix_ms) st.opts.now_unix_ms = unix_ms;
  auto sub = subscribe_stops(*st.bus, caf::actor_cast<caf::actor>(self));
  if (!sub) {
    spdlog::error("scheduler: cannot subscribe to stops: {}", sub.error().message);
    self->quit(make_error(errc::internal, "scheduler: subscribe: " + sub.error().message));
    return {};
  }
  st.stops_sub = std::move(*sub);
  return {
      [self](trigger_atom, const std::string& job, const std::string& action,
             std::int64_t at_unix_ms) { return add(self, job, action, at_unix_ms); },
      [self](tick_atom, const std::string& id) { fire(self, id); },
      [self](get_atom) { return list(self->state); },
      [self](const bus::envelope& e) { on_stop(self, e); },
      [self](shutdown_atom) {
        self->state.stops_sub.reset();
        self->state.triggers.clear();
        self->quit();
      },
  };
}

}  // namespace

caf::actor spawn_scheduler(caf::actor_system& system, std::shared_ptr<bus_link> bus,
                           caf::actor registry, scheduler_options options) {
  return system.spawn(scheduler, std::move(bus), std::move(registry), std::move(options));
}

}  // namespace mk::actors
