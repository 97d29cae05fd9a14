// What a schedule does to the jobs: its stops, resumes and maintenance switches go out on the
// bus like anyone else's (the registry and the maintenance actor act on them), each job acted
// on gets a JobLog entry naming the schedule, and a window keeps the list of what it stopped.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/atoms.hpp"
#include "actors/blocking_lanes.hpp"
#include "actors/errors.hpp"
#include "config/defaults.hpp"
#include "messages/caf_types.hpp"
#include "messages/job_states.hpp"
#include "models/job_record.hpp"
#include "oma/job_store.hpp"
#include "oma/scheduler_state.hpp"

namespace mk::actors {

using msg::job_state;
using nlohmann::json;

namespace {

void joblog(scheduler_self self, const std::string& job, const schedule& s,
            std::string_view action) {
  auto& store = self->state.opts.store;
  if (!store) return;
  const json entry = {
      {"ts", rfc3339(self->state.opts.now_unix_ms())},
      {"event", "schedule_fired"},
      {"actor", "scheduler"},
      {"job", job},
      {"detail", {{"schedule", s.id}, {"action", action}, {"comment", s.comment()}}}};
  self->state.opts.lanes->post(job, [store, job, id = s.id, text = entry.dump()] {
    if (auto r = store->append_log(job, text); !r)
      spdlog::warn("scheduler: job {}: JobLog entry of schedule {} not written: {}", job, id,
                   r.error().message);
  });
}

/// Published as the scheduler's own (not the OMA link's `from`), so that the JobLog says who.
template <msg::catalogued T>
void publish(scheduler_self self, const std::string& subject, T m) {
  auto& bus = *self->state.bus;
  m.hdr = bus.header();
  m.hdr.from = "scheduler";
  if (auto r = bus.transport().publish(subject, msg::encode(m)); !r)
    spdlog::error("scheduler: publish on {}: {}", subject, r.error().message);
}

void stop_job(scheduler_self self, const std::string& job, const schedule& s) {
  msg::stop_request r;
  r.job = job;
  r.reason = msg::stop_reason::schedule;
  r.comment = s.comment();
  spdlog::info("scheduler: schedule {} stops job {}", s.id, job);
  publish(self, self->state.bus->subjects().control_stop(), std::move(r));
  joblog(self, job, s, "stop");
}

void resume_job(scheduler_self self, const std::string& job, const schedule& s) {
  msg::resume_request r;
  r.job = job;
  spdlog::info("scheduler: schedule {} resumes job {}", s.id, job);
  publish(self, self->state.bus->subjects().control_resume(), std::move(r));
  joblog(self, job, s, "resume");
}

/// Every job as the registry lists it; `failed` hears why not.
template <class F, class G>
void with_jobs(scheduler_self self, F f, G failed) {
  self->request(self->state.registry, defaults::jobs::answer_timeout, list_atom::value)
      .then([f = std::move(f)](const std::vector<job_summary>& jobs) mutable { f(jobs); },
            [failed = std::move(failed)](const caf::error& err) mutable {
              spdlog::error("scheduler: the registry did not list the jobs: {}", message_of(err));
              failed();
            });
}

void finish_once(scheduler_self self, const std::string& id, std::vector<std::string> asked,
                 std::string detail) {
  auto& st = self->state;
  st.firing.erase(id);
  auto it = st.schedules.find(id);
  if (it == st.schedules.end()) return;
  it->second.fired_ms = st.opts.now_unix_ms();
  it->second.asked = std::move(asked);
  it->second.detail = std::move(detail);
  spdlog::info("scheduler: schedule {} fired: {}", id, it->second.detail);
  store_schedule(self, id);
}

/// Forgets a job in a window's list once it is resumed or no longer the window's to resume.
void forget(scheduler_self self, const std::string& schedule_id, const std::string& job) {
  auto it = self->state.schedules.find(schedule_id);
  if (it != self->state.schedules.end() && std::erase(it->second.stopped, job) > 0)
    store_schedule(self, schedule_id);
}

/// The window stops a job: asked on the bus, remembered (stored) for the opening.
void window_stops(scheduler_self self, schedule& s, const std::string& job) {
  stop_job(self, job, s);
  if (std::ranges::find(s.stopped, job) == s.stopped.end()) s.stopped.push_back(job);
  store_schedule(self, s.id);
}

bool ours(const job_record& job, const std::string& schedule_id) {
  return job.stop && job.stop->reason == msg::stop_reason::schedule &&
         job.stop->comment.starts_with("schedule " + schedule_id + ":");
}

}  // namespace

void fire_once(scheduler_self self, const std::string& id) {
  auto& st = self->state;
  auto it = st.schedules.find(id);
  if (it == st.schedules.end()) return;
  st.firing.insert(id);
  const auto& s = it->second;
  if (s.action == "maintenance_on" || s.action == "maintenance_off") {
    msg::maintenance m;
    m.enabled = s.action == "maintenance_on";
    m.scope = s.target.scope();
    m.reason = s.comment();
    m.resume_after = true;  // off resumes what the maintenance stopped
    publish(self, st.bus->subjects().maintenance(), std::move(m));
    finish_once(self, id, {},
                std::string("maintenance mode ") + (s.action == "maintenance_on" ? "on" : "off") +
                    " for " + s.target.scope() + " published");
    return;
  }
  with_jobs(
      self,
      [self, id](const std::vector<job_summary>& jobs) {
        auto found = self->state.schedules.find(id);
        if (found == self->state.schedules.end()) {
          self->state.firing.erase(id);
          return;
        }
        const auto& sched = found->second;
        const bool stop = sched.action == "stop";
        std::vector<std::string> asked;
        std::string seen;  // a one-job target's state, for the detail
        for (const auto& j : jobs) {
          if (!sched.target.covers(j.id, j.vma)) continue;
          seen = msg::name_of(j.state);
          if (stop ? msg::is_active(j.state) : msg::may_resume(j.state)) {
            stop ? stop_job(self, j.id, sched) : resume_job(self, j.id, sched);
            asked.push_back(j.id);
          }
        }
        std::string detail = "asked " + std::to_string(asked.size()) +
                             (asked.size() == 1 ? " job to " : " jobs to ") + sched.action;
        if (asked.empty() && sched.target.k == schedule_target::kind::job)
          detail = seen.empty()
                       ? "job " + sched.target.id + " no longer exists"
                       : "job " + sched.target.id + " is " + seen + ": nothing to " + sched.action;
        finish_once(self, id, std::move(asked), std::move(detail));
      },
      // Not marked fired: the next look (within a minute) tries again.
      [self, id] { self->state.firing.erase(id); });
}

void close_window(scheduler_self self, const std::string& id) {
  with_jobs(
      self,
      [self, id](const std::vector<job_summary>& jobs) {
        auto& st = self->state;
        auto it = st.schedules.find(id);
        if (it == st.schedules.end() || it->second.window.open_at(st.opts.now_unix_ms())) return;
        for (const auto& j : jobs)
          if (msg::is_active(j.state) && it->second.target.covers(j.id, j.vma))
            window_stops(self, it->second, j.id);
      },
      [] {});
}

void open_window(scheduler_self self, const schedule& s) {
  for (const auto& job : s.stopped) {
    self->request(self->state.registry, defaults::jobs::answer_timeout, get_atom::value, job)
        .then(
            [self, s, job](const job_record& record) {
              if (!ours(record, s.id))
                return forget(self, s.id, job);  // resumed, or stopped by someone else since
              if (record.state == job_state::stopped) {
                resume_job(self, job, s);
                return forget(self, s.id, job);
              }
              if (record.state == job_state::stopping)
                self->state.pending[job] = {s.id, record.stop->id};
              else
                forget(self, s.id, job);
            },
            [self, id = s.id, job](const caf::error& err) {
              if (code_of(err) == errc::not_found) return forget(self, id, job);
              spdlog::warn("scheduler: window {}: job {} not looked at: {}", id, job,
                           message_of(err));
            });
  }
}

void on_job_state(scheduler_self self, const msg::job_state_changed& c) {
  auto& st = self->state;
  if (auto p = st.pending.find(c.job); p != st.pending.end() && c.state != job_state::stopping) {
    const auto pending = p->second;
    st.pending.erase(p);
    if (c.state == job_state::stopped && c.stop_id == pending.stop_id) {
      auto it = st.schedules.find(pending.schedule);
      schedule gone;  // a window removed meanwhile still resumes what it stopped
      gone.id = pending.schedule;
      gone.is_window = true;
      resume_job(self, c.job, it != st.schedules.end() ? it->second : gone);
    }
    forget(self, pending.schedule, c.job);
  }
  if (c.state != job_state::queued) return;
  // Queued (new or resumed) while a window of its scope is closed: it waits for the opening.
  for (auto& [id, s] : st.schedules) {
    if (!s.is_window || s.open != false) continue;
    if (s.target.k != schedule_target::kind::vma) {
      if (s.target.covers(c.job, "")) window_stops(self, s, c.job);
      continue;
    }
    self->request(st.registry, defaults::jobs::answer_timeout, get_atom::value, c.job)
        .then(
            [self, id, job = c.job](const job_record& record) {
              auto it = self->state.schedules.find(id);
              if (it == self->state.schedules.end() || it->second.open != false ||
                  !it->second.target.covers(job, record.vma) || !msg::is_active(record.state))
                return;
              window_stops(self, it->second, job);
            },
            [](const caf::error&) {});
  }
}

}  // namespace mk::actors
