#include "oma/poller_actor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <caf/all.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "actors/atoms.hpp"
#include "actors/errors.hpp"
#include "actors/participant.hpp"
#include "messages/caf_types.hpp"

namespace mk::actors {

namespace {

using time_point = caf::actor_clock::time_point;

/// A job whose mover the poller watches.
struct followed {
  std::string vma;
  time_point since;        ///< following began: the list grace counts from here
  std::uint64_t most = 0;  ///< the highest bytes_done seen
  time_point moved;        ///< when `most` last grew (or following began)
  bool stalled = false;    ///< reported, until bytes_done grows again
  bool exit_reported = false;
  bool lost_reported = false;  ///< reported, until the agent lists the mover again
};

/// The latest progress of a job, and its place in the rate limit towards the registry.
struct snapshot {
  msg::progress latest;
  std::optional<time_point> forwarded;
  bool pending = false;  ///< a newer snapshot waits for its turn (a flush timer runs)
};

/// An agent that has followed jobs.
struct agent {
  caf::actor helper;  ///< makes the blocking status requests
  bool asking = false;
  unsigned missed = 0;  ///< unanswered polls in a row
};

struct poller_state {
  std::shared_ptr<bus_link> bus;
  registry_hdl registry;
  poller_options opts;
  stop_answers answers{msg::participant::poller};
  bus::subscription progress_sub;
  bus::subscription stops_sub;
  std::map<std::string, followed> follows;
  std::map<std::string, snapshot> snapshots;
  std::map<std::string, agent> agents;
  /// Agents polled for their health even without followed jobs (the registry names them).
  std::set<std::string> watched;
  std::uint64_t malformed = 0;
  bool ticking = false;  ///< a poll tick is armed

  poller_state() = default;
  poller_state(const poller_state&) = delete;
  poller_state& operator=(const poller_state&) = delete;
  // The helpers are not linked (a normal exit would not reach them): they are told here,
  // when the poller ends, however it ends. A helper inside a request ends after it.
  ~poller_state() {
    for (auto& [vma, a] : agents)
      if (a.helper) caf::anon_send_exit(a.helper, caf::exit_reason::user_shutdown);
  }

  static inline const char* name = "poller";
};

using poller_self = caf::stateful_actor<poller_state>*;

/// Asks one agent which movers it runs: blocking, bounded by `timeout`.
caf::behavior status_helper(std::shared_ptr<bus_link> bus, std::string vma,
                            std::chrono::milliseconds timeout) {
  return {
      [bus, vma, timeout](status_atom) -> caf::result<msg::vma_status> {
        const auto subject = bus->subjects().vma_status(vma);
        if (!subject) return make_error(errc::invalid, "invalid agent id \"" + vma + "\"");
        msg::vma_status_request ask;
        ask.hdr = bus->header();
        auto reply = bus->transport().request(*subject, msg::encode(ask), timeout);
        if (!reply) return make_error(errc::unavailable, reply.error().message);
        auto status = msg::decode<msg::vma_status>(reply->data);
        if (!status) {
          return make_error(errc::unavailable,
                            "vma " + vma + ": malformed status reply: " + status.error().message);
        }
        return std::move(*status);
      },
  };
}

void forward(poller_self self, const std::string& job, snapshot& s, time_point now) {
  self->send(self->state.registry, snapshot_atom::value, job, s.latest);
  s.forwarded = now;
  s.pending = false;
}

/// bytes_done seen for a followed job, from a progress or from its agent's status.
void observe(followed& f, std::uint64_t bytes_done, time_point now) {
  if (bytes_done <= f.most) return;
  f.most = bytes_done;
  f.moved = now;
  f.stalled = false;
}

void on_progress(poller_self self, const bus::envelope& e) {
  auto& st = self->state;
  auto p = msg::decode<msg::progress>(e.data);
  const auto& subjects = st.bus->subjects();
  const auto agent = subjects.agent_of(e.subject);
  std::string why;
  if (!p)
    why = p.error().message;
  else if (!agent || subjects.mover_progress(*agent, p->job) != e.subject)
    why = "job \"" + p->job + "\" is not the subject's";
  if (!why.empty()) {
    ++st.malformed;
    spdlog::warn("poller: dropped a malformed progress on {} ({} so far): {}", e.subject,
                 st.malformed, why);
    return;
  }
  // Who sent it is the agent whose subject it came on (nats-server lets no other publish
  // there), whatever the message says: the registry takes it only for a job of that agent.
  p->hdr.from = "vma:" + *agent;
  const auto now = self->clock().now();
  const auto job = p->job;
  auto f = st.follows.find(job);
  if (f != st.follows.end()) observe(f->second, p->bytes_done, now);
  auto& s = st.snapshots[job];
  s.latest = std::move(*p);
  if (s.latest.state == msg::progress_state::exited) {
    // The end of a mover goes at once, and stands for the snapshot too.
    s.pending = false;
    s.forwarded = now;
    if (f != st.follows.end()) {
      if (f->second.exit_reported) return;
      f->second.exit_reported = true;
    }
    self->send(st.registry, exited_atom::value, job, s.latest);
    return;
  }
  if (!s.forwarded || now - *s.forwarded >= st.opts.snapshot_interval) {
    forward(self, job, s, now);
  } else if (!s.pending) {
    s.pending = true;
    self->delayed_send(self, *s.forwarded + st.opts.snapshot_interval - now, tick_atom::value, job);
  }
}

void on_status(poller_self self, const std::string& vma, const msg::vma_status& status) {
  auto& st = self->state;
  if (auto a = st.agents.find(vma); a != st.agents.end()) {
    a->second.asking = false;
    a->second.missed = 0;
  }
  // The registry keeps the agents' table (GET /agents): it hears the agent answered. Named by
  // the subject asked, whatever the body says.
  auto report = status;
  report.vma = vma;
  self->send(st.registry, std::move(report));
  const auto now = self->clock().now();
  for (auto& [job, f] : st.follows) {
    if (f.vma != vma) continue;
    const auto m = std::ranges::find(status.movers, job, &msg::mover_info::job);
    if (m != status.movers.end()) {
      f.lost_reported = false;
      if (m->state != msg::mover_state::exited) {
        observe(f, m->bytes_done, now);
        continue;
      }
      if (f.exit_reported) continue;
      f.exit_reported = true;
      msg::progress p;
      p.hdr.from = "vma:" + vma;
      p.job = job;
      p.state = msg::progress_state::exited;
      p.bytes_done = m->bytes_done;
      if (auto s = st.snapshots.find(job); s != st.snapshots.end())
        p.bytes_total = s->second.latest.bytes_total;
      p.exit_code = m->exit_code;
      p.detail = m->detail;
      self->send(st.registry, exited_atom::value, job, std::move(p));
    } else if (!f.exit_reported && !f.lost_reported && now - f.since >= st.opts.list_grace) {
      f.lost_reported = true;
      self->send(st.registry, lost_atom::value, job,
                 "vma " + vma + " does not list a mover for job " + job);
    }
  }
}

void on_silence(poller_self self, const std::string& vma, const std::string& why) {
  auto& st = self->state;
  auto a = st.agents.find(vma);
  if (a == st.agents.end()) return;
  a->second.asking = false;
  const unsigned missed = ++a->second.missed;
  // An agent without followed jobs that went away is asked for ever: said once, not every poll.
  const bool has_jobs =
      std::ranges::any_of(st.follows, [&vma](const auto& f) { return f.second.vma == vma; });
  if (has_jobs || missed == st.opts.missed_limit)
    spdlog::warn("poller: vma {} did not answer a status request ({} in a row): {}", vma, missed,
                 why);
  if (missed < st.opts.missed_limit) return;
  for (auto& [job, f] : st.follows) {
    if (f.vma != vma || f.lost_reported || f.exit_reported) continue;
    f.lost_reported = true;
    self->send(st.registry, lost_atom::value, job,
               fmt::format("vma {} does not answer status requests ({} in a row; last: {})", vma,
                           missed, why));
  }
}

void ask(poller_self self, const std::string& vma) {
  auto& st = self->state;
  auto& a = st.agents[vma];
  if (a.asking) return;  // the last request still waits: its answer counts for this poll
  if (!a.helper) {
    a.helper = st.opts.detach_requests
                   ? self->spawn<caf::detached>(status_helper, st.bus, vma, st.opts.status_timeout)
                   : self->spawn(status_helper, st.bus, vma, st.opts.status_timeout);
  }
  a.asking = true;
  // No timeout here: the helper's request has its own, and a helper that died answers with
  // an error at once.
  self->request(a.helper, caf::infinite, status_atom::value)
      .then([self, vma](const msg::vma_status& s) { on_status(self, vma, s); },
            [self, vma](const caf::error& err) { on_silence(self, vma, message_of(err)); });
}

void arm(poller_self self) {
  auto& st = self->state;
  if (st.ticking || (st.follows.empty() && st.watched.empty())) return;
  st.ticking = true;
  self->delayed_send(self, st.opts.status_interval, tick_atom::value);
}

/// Every status_interval while jobs are followed or agents watched: stalls, then one status
/// poll per agent.
void on_tick(poller_self self) {
  auto& st = self->state;
  st.ticking = false;
  const auto now = self->clock().now();
  std::set<std::string> vmas = st.watched;
  for (auto& [job, f] : st.follows) {
    vmas.insert(f.vma);
    if (f.stalled || f.exit_reported || now - f.moved < st.opts.stall_after) continue;
    f.stalled = true;
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - f.moved);
    self->send(st.registry, stalled_atom::value, job, static_cast<std::uint64_t>(seconds.count()));
  }
  // Agents neither followed nor watched go, with their helper, once it is idle.
  std::erase_if(st.agents, [&](auto& entry) {
    auto& [vma, a] = entry;
    if (vmas.contains(vma) || a.asking) return false;
    if (a.helper) caf::anon_send_exit(a.helper, caf::exit_reason::user_shutdown);
    return true;
  });
  for (const auto& vma : vmas) ask(self, vma);
  arm(self);
}

void on_stop(poller_self self, const bus::envelope& e) {
  auto& st = self->state;
  auto stop = st.answers.take(*st.bus, e);
  if (!stop) return;
  std::string detail = "no progress seen";
  if (auto s = st.snapshots.find(stop->job); s != st.snapshots.end()) {
    const auto& p = s->second.latest;
    detail = fmt::format("last progress: {} of {} bytes", p.bytes_done, p.bytes_total);
    // The final snapshot reaches the job now, whatever the rate limit.
    forward(self, stop->job, s->second, self->clock().now());
  }
  st.follows.erase(stop->job);
  st.answers.confirm(*st.bus, *stop, msg::outcome::ok, std::move(detail));
}

std::string describe(const poller_state& st) {
  auto followed = nlohmann::json::array();
  for (const auto& [job, f] : st.follows) followed.push_back({{"job", job}, {"vma", f.vma}});
  return nlohmann::json{{"followed", followed}, {"malformed", st.malformed}}.dump();
}

void shut_down(poller_self self) {
  auto& st = self->state;
  st.progress_sub.reset();
  st.stops_sub.reset();
  // A tick that is still armed finds nothing and does not re-arm.
  st.follows.clear();
  st.watched.clear();
  self->quit();
}

caf::behavior poller(poller_self self, std::shared_ptr<bus_link> bus, registry_hdl registry,
                     poller_options opts) {
  auto& st = self->state;
  st.bus = std::move(bus);
  st.registry = std::move(registry);
  st.opts = opts;
  log_stray_errors(self, "poller");
  const auto me = caf::actor_cast<caf::actor>(self);
  auto progress =
      bus::subscribe_actor(st.bus->transport(), st.bus->subjects().all_movers_progress(), me);
  auto stops = subscribe_stops(*st.bus, me);
  if (!progress || !stops) {
    const auto why = !progress ? progress.error().message : stops.error().message;
    spdlog::error("poller: cannot subscribe: {}", why);
    self->quit(make_error(errc::internal, "poller: subscribe: " + why));
    return {};
  }
  st.progress_sub = std::move(*progress);
  st.stops_sub = std::move(*stops);
  return {
      [self](const bus::envelope& e) {
        if (e.subject.ends_with(".progress"))
          on_progress(self, e);
        else
          on_stop(self, e);
      },
      [self](start_atom, const std::string& job, const std::string& vma) {
        if (!msg::valid_id(job) || !msg::valid_id(vma)) {
          spdlog::warn("poller: not following job \"{}\" on agent \"{}\": invalid id", job, vma);
          return;
        }
        const auto now = self->clock().now();
        // A new run starts afresh: its exit, loss and stall are yet to be seen.
        self->state.follows[job] = followed{.vma = vma, .since = now, .moved = now};
        // Its agent has just answered (the start, or the status that adopted the mover):
        // polls it missed before, while a network was down, must not make the new run lost.
        if (auto a = self->state.agents.find(vma); a != self->state.agents.end())
          a->second.missed = 0;
        arm(self);
      },
      [self](watch_atom, const std::string& vma) {
        if (!msg::valid_id(vma) || !self->state.watched.insert(vma).second) return;
        ask(self, vma);  // at once: the agents' table need not wait a whole interval
        arm(self);
      },
      [self](finish_atom, const std::string& job) {
        self->state.follows.erase(job);
        self->state.snapshots.erase(job);
      },
      [self](get_atom, const std::string& job) -> caf::result<msg::progress> {
        auto s = self->state.snapshots.find(job);
        if (s == self->state.snapshots.end())
          return make_error(errc::not_found, "no progress seen for job " + job);
        return s->second.latest;
      },
      [self](get_atom) { return describe(self->state); },
      [self](tick_atom) { on_tick(self); },
      [self](tick_atom, const std::string& job) {
        auto s = self->state.snapshots.find(job);
        if (s != self->state.snapshots.end() && s->second.pending)
          forward(self, job, s->second, self->clock().now());
      },
      [self](shutdown_atom) { shut_down(self); },
  };
}

}  // namespace

caf::actor spawn_poller(caf::actor_system& system, std::shared_ptr<bus_link> bus,
                        registry_hdl registry, poller_options options) {
  return system.spawn(poller, std::move(bus), std::move(registry), options);
}

}  // namespace mk::actors
