// The job actor: one replication job's state machine (docs/states.md). Its stop protocol is
// in job_stop.cpp, its writes in job_journal.cpp.
#include "oma/job_actor.hpp"

#include <spdlog/spdlog.h>

#include "actors/atoms.hpp"
#include "actors/errors.hpp"
#include "messages/caf_types.hpp"
#include "models/ids.hpp"
#include "oma/job_actor_state.hpp"

namespace mk::actors {

namespace job_detail {

namespace {

using msg::job_state;
using msg::participant;
using nlohmann::json;

}  // namespace

/// A request, never a plain send: the volume actor's answer (done, or an error) would come
/// back to this actor unasked, and an answer it has no handler for goes back to the volume
/// actor as `unexpected_message`, which ended the volume actor of the whole OMA (the fault
/// suite, a completion racing a stop, once in 200 rounds).
void finish_volume(job_actor* self, bool complete) {
  auto& st = self->state;
  if (!st.deps.volume) return;
  const auto& job = st.job;
  self->request(st.deps.volume, defaults::jobs::attach_timeout, finish_atom::value, job.volume_id,
                complete, checkpoint_ref(job.vma, job.id))
      .then([] {},
            [self](const caf::error& err) {
              log(self, "volume_not_finished", {{"error", message_of(err)}}, "volume");
            });
}

namespace {

/// The mover ended without being asked: a whole copy completes the job, anything else fails
/// it, resumable from the checkpoint. Either way the volume is detached and marked.
void on_mover_end(job_actor* self, bool completed, std::string error) {
  auto& st = self->state;
  auto& job = st.job;
  if (!move_to(self, completed ? job_state::completed : job_state::failed)) return;
  job.error = std::move(error);
  job.mover_pid = 0;
  job.volume_kept = true;
  persist(self, [self, completed](caf::error) {
    auto& j = self->state.job;
    log(self, completed ? "completed" : "failed", {{"error", j.error}});
    publish_state(self);
    tell(self, self->state.deps.poller, finish_atom::value, j.id);
    finish_volume(self, completed);
  });
}

void fail_start(job_actor* self, const std::string& why) {
  auto& job = self->state.job;
  if (job.state != job_state::starting) return;  // a stop took over; it settles the job
  on_mover_end(self, false, "start: " + why);
}

/// A resumed run's start is known: the JobLog says what it copies a second time (what the job
/// had reported before the resume, less what its checkpoint holds). Once per resume.
void log_recopy(job_actor* self, std::uint64_t from_checkpoint, std::string_view actor) {
  auto& j = self->state.job;
  const auto before = j.bytes_done_at_resume.value_or(0);
  j.bytes_done_at_resume.reset();
  log(self, "resumed_from_checkpoint",
      {{"bytes_done_before", before},
       {"bytes_from_checkpoint", from_checkpoint},
       {"bytes_recopied", before > from_checkpoint ? before - from_checkpoint : std::uint64_t{0}}},
      actor);
}

void on_started(job_actor* self, const msg::start_mover_reply& r) {
  auto& st = self->state;
  auto& job = st.job;
  st.starting = start_step::none;
  st.agent_absent_since.reset();
  if (!r.ok) {
    fail_start(self, r.error);
    return;
  }
  const auto pid = r.pid;
  job.mover_pid = pid;
  // A resumed run that this request started: the agent read its checkpoint, so what the
  // run copies again is known now, also if the run ends before its first progress. (A mover
  // that ran already tells it with its first progress instead, see on_snapshot.)
  if (r.launched && job.bytes_done_at_resume) log_recopy(self, r.checkpoint_bytes, "vma_process");
  if (job.state != job_state::starting) {
    // A stop came while the agent started the mover: its vma_process is asked at the next
    // tick (or now, if the protocol is waiting for nothing else).
    log(self, "mover_started", {{"pid", pid}, {"note", "a stop is already in progress"}});
    if (st.protocol) arm_tick(self);
    return;
  }
  if (!move_to(self, job_state::replicating)) return;
  persist(self, [self, pid](caf::error) {  // a failure is tried again until it succeeds
    auto& j = self->state.job;
    log(self, "replicating", {{"pid", pid}, {"target", j.target}, {"run", j.runs}});
    publish_state(self);
    tell(self, self->state.deps.poller, start_atom::value, j.id, j.vma);
  });
}

/// Runs a request to an agent on a request lane (it blocks until the answer or the start
/// timeout) and hands the outcome to `then` there; `then` may only send messages. The job
/// carries on meanwhile: a stop must not wait for an agent that does not answer.
void ask_agent_on_lane(job_actor* self, std::string subject, msg::bytes payload,
                       std::function<void(bus::result<bus::envelope>)> then) {
  self->state.deps.request_lanes->post(
      self->state.job.id,
      [bus = self->state.deps.bus, subject = std::move(subject), payload = std::move(payload),
       timeout = self->state.deps.start_timeout,
       then = std::move(then)] { then(bus->transport().request(subject, payload, timeout)); });
}

/// Asks the job's agent on its start subject (a probe, or the start itself) and hands the
/// answer back as (start_atom, Reply), or (start_atom, absent_atom, why) when no agent took
/// it in time. The request blocks until the agent answers, so it runs on a lane.
template <class Reply, class Request>
void ask_agent(job_actor* self, const Request& request) {
  auto& job = self->state.job;
  auto subject = self->state.deps.bus->subjects().vma_start(job.vma);
  if (!subject) {
    fail_start(self, "invalid agent id '" + job.vma + "'");
    return;
  }
  ask_agent_on_lane(self, *subject, msg::encode(request),
                    [handle = caf::actor_cast<job_actor_hdl>(self),
                     vma = job.vma](bus::result<bus::envelope> answer) {
                      Reply failed;  // ok false
                      if (!answer) {
                        const auto code = answer.error().code;
                        auto why = "agent " + vma + ": " + answer.error().message;
                        // Asked again, up to agent_wait: no agent there, or one too busy to
                        // answer in time (fifty probes and starts at once under the
                        // sanitizers). Both requests are idempotent at the agent: a start
                        // asked twice answers with the mover that runs.
                        if (code == bus::errc::no_responders || code == bus::errc::not_connected ||
                            code == bus::errc::timeout)
                          return caf::anon_send(handle, start_atom::value, absent_atom::value,
                                                std::move(why));
                        failed.error = std::move(why);
                        return caf::anon_send(handle, start_atom::value, std::move(failed));
                      }
                      auto reply = msg::decode<Reply>(answer->data);
                      if (!reply) {
                        failed.error = "agent " + vma + ": bad reply: " + reply.error().message;
                        return caf::anon_send(handle, start_atom::value, std::move(failed));
                      }
                      if (!reply->ok) reply->error = "agent " + vma + ": " + reply->error;
                      caf::anon_send(handle, start_atom::value, std::move(*reply));
                    });
}

/// Asks the agent to start the mover; its answer comes to on_started.
void request_mover(job_actor* self) {
  auto& st = self->state;
  auto& job = st.job;
  msg::start_mover m;
  m.hdr = st.deps.bus->header();
  m.job = job.id;
  m.source = job.source;
  m.target = job.target;
  m.checkpoint = job.id;
  m.resume = job.runs > 1;
  st.starting = start_step::asking_agent;
  ask_agent<msg::start_mover_reply>(self, m);
}

/// Asks the agent for the size of the source, as it sees the source: the OMA never opens one
/// itself. The answer comes to on_probed, which attaches the volume at that size.
void probe(job_actor* self) {
  auto& st = self->state;
  msg::probe_source m;
  m.hdr = st.deps.bus->header();
  m.job = st.job.id;
  m.source = st.job.source;
  st.starting = start_step::probing;
  ask_agent<msg::probe_reply>(self, m);
}

/// The start found no agent to take it: asked again every agent_retry, and failed (resumable)
/// once the agent has been away for agent_wait, or at once if a stop took over meanwhile.
void on_agent_absent(job_actor* self, const std::string& why) {
  auto& st = self->state;
  if (st.starting != start_step::probing && st.starting != start_step::asking_agent)
    return;  // the request it answers is no longer this start's
  const auto now = self->clock().now();
  if (!st.agent_absent_since) {
    st.agent_absent_since = now;
    spdlog::warn(
        "job {}: {}; the start is asked again for up to {} s", st.job.id, why,
        std::chrono::duration_cast<std::chrono::seconds>(defaults::jobs::agent_wait).count());
  }
  if (st.job.state != job_state::starting ||
      now - *st.agent_absent_since >= defaults::jobs::agent_wait) {
    msg::start_mover_reply none;  // ok false
    none.error = why;
    on_started(self, none);
    return;
  }
  self->delayed_send(self, defaults::jobs::agent_retry, start_atom::value, retry_atom::value);
}

void retry_start(job_actor* self) {
  auto& st = self->state;
  if (st.job.state != job_state::starting) {
    st.starting = start_step::none;  // a stop took over: it asks the agent itself
    st.agent_absent_since.reset();
    return;
  }
  if (st.starting == start_step::probing)
    probe(self);
  else
    request_mover(self);
}

void attach(job_actor* self, std::uint64_t size);

void on_probed(job_actor* self, const msg::probe_reply& r) {
  auto& st = self->state;
  st.agent_absent_since.reset();
  if (!r.ok) {
    st.starting = start_step::none;
    fail_start(self, r.error);
    return;
  }
  if (st.job.state != job_state::starting) {
    st.starting = start_step::none;  // a stop took over before any volume was attached
    return;
  }
  log(self, "source_probed", {{"size", r.size}}, "vma_process");
  attach(self, r.size);
}

void start(job_actor* self) {
  auto& st = self->state;
  auto& job = st.job;
  if (job.state != job_state::queued) return;
  if (!move_to(self, job_state::starting)) return;
  job.error.clear();
  ++job.runs;
  persist(self, [self](caf::error err) {
    if (err) {
      // Not started while `starting` cannot be stored; the store is tried again shortly.
      self->state.job.state = job_state::queued;  // undone: the store never had `starting`
      --self->state.job.runs;
      self->delayed_send(self, defaults::jobs::store_retry, start_atom::value);
      return;
    }
    log(self, "starting", {{"run", self->state.job.runs}, {"vma", self->state.job.vma}});
    publish_state(self);
    probe(self);
  });
}

/// The agent told the source's size: the volume is attached at that size, then the agent asked
/// for the mover.
void attach(job_actor* self, std::uint64_t source_size) {
  auto& st = self->state;
  auto& job = st.job;
  if (!st.deps.volume) {
    st.starting = start_step::none;
    fail_start(self, "no volume actor");
    return;
  }
  st.starting = start_step::attaching;
  self->request(st.deps.volume, defaults::jobs::attach_timeout, attach_atom::value, job.volume_id,
                source_size, job.vma)
      .then(
          [self](const std::string& uri, std::uint64_t size) {
            self->state.starting = start_step::none;
            auto& j = self->state.job;
            j.target = uri;
            j.size = size;
            j.volume_kept = true;
            if (j.state != job_state::starting)
              return;  // stopped while the volume was attached: the stop detaches it
            log(self, "volume_attached", {{"uri", uri}, {"size", size}}, "volume");
            request_mover(self);
          },
          [self](const caf::error& err) {
            self->state.starting = start_step::none;
            fail_start(self, "volume: " + message_of(err));
          });
}

caf::result<job_record> resume(job_actor* self) {
  auto& job = self->state.job;
  if (!job.resumable())
    return make_error(errc::conflict, "job " + job.id + " is " +
                                          std::string(msg::name_of(job.state)) +
                                          (job.volume_kept ? "" : " without a kept volume") +
                                          ": nothing to resume");
  const auto before = job;
  if (!move_to(self, job_state::queued))
    return make_error(errc::internal, "job " + job.id + ": cannot be queued again");
  job.error.clear();
  job.stalled = false;
  job.bytes_done_at_resume = before.progress.bytes_done;
  auto rp = self->make_response_promise<job_record>();
  persist(self, [self, rp, before](caf::error err) mutable {
    if (err) {
      self->state.job = before;
      rp.deliver(std::move(err));
      return;
    }
    log(self, "resumed",
        {{"from_state", std::string(msg::name_of(before.state))},
         {"bytes_done", before.progress.bytes_done}});
    publish_state(self);
    // Started here, not by the asker: an asker that timed out must not leave the job queued.
    self->send(self, start_atom::value);
    rp.deliver(self->state.job);
  });
  return rp;
}

/// A mover that should not run (its job is not active): the agent is asked to stop it with
/// a stop of its own, which no job record carries.
void stop_stray_mover(job_actor* self, const msg::mover_info& m) {
  auto& st = self->state;
  msg::stop_request r;
  r.job = st.job.id;
  r.stop_id = new_stop_id();
  r.reason = msg::stop_reason::bus;
  r.comment = "a mover of a job that is " + std::string(msg::name_of(st.job.state));
  r.to = std::string(msg::name_of(participant::vma_process));
  r.vma = st.job.vma;
  if (auto subject = st.deps.bus->subjects().mover_stop(st.job.vma, st.job.id))
    (void)st.deps.bus->publish(*subject, r);
  log(self, "stray_mover_stopped", {{"pid", m.pid}, {"stop_id", r.stop_id}});
}

void on_agent_account(job_actor* self, const msg::mover_info& m, bool listed) {
  auto& st = self->state;
  auto& job = st.job;
  const bool running = listed && m.state != msg::mover_state::exited;
  if (job.state == job_state::stopping) return;  // the stop protocol asks the agent itself
  if (job.state != job_state::starting && job.state != job_state::replicating) {
    if (running) {
      stop_stray_mover(self, m);
      return;
    }
    // A job that failed while its agent was out of reach (a lost mover, an unconfirmed stop)
    // left the volume untouched but not resumable, as its mover might still write. The agent
    // is back and runs no mover for the job: nothing writes now, and a resume continues from
    // the checkpoint.
    if (job.state != job_state::failed || !job.mover_unconfirmed) return;
    job.mover_unconfirmed = false;
    job.volume_kept = true;
    const auto how =
        listed
            ? "its mover ended (" +
                  std::string(m.detail.empty() ? "exit " + std::to_string(m.exit_code) : m.detail) +
                  ")"
            : std::string("its agent runs no mover for the job");
    persist(self, [self, how](caf::error) {
      log(self, "mover_end_confirmed", {{"detail", how + "; the volume is resumable"}},
          "vma_process");
      publish_state(self);
    });
    return;
  }
  if (running) {
    auto adopt = [self, m] {
      auto& j = self->state.job;
      log(self, "mover_adopted", {{"pid", m.pid}, {"bytes_done", m.bytes_done}}, "vma_process");
      tell(self, self->state.deps.poller, start_atom::value, j.id, j.vma);
    };
    if (job.state == job_state::starting || job.mover_pid != m.pid) {
      if (!move_to(self, job_state::replicating)) return;
      job.mover_pid = m.pid;
      persist(self, [self, adopt](caf::error) {
        publish_state(self);
        adopt();
      });
      return;
    }
    adopt();
    return;
  }
  if (st.start_under_way()) return;
  if (listed)
    on_mover_end(self, m.exit_code == 0, m.exit_code == 0 ? "" : "mover exited: " + m.detail);
  else
    on_mover_end(self, false, "mover lost: agent " + job.vma + " does not run it");
}

/// After an OMA restart: the stop goes on; a running job asks its agent what became of it.
void recover(job_actor* self) {
  auto& st = self->state;
  auto& job = st.job;
  if (job.state == job_state::stopping && job.stop) {
    begin_stop(self, *job.stop, true);
    return;
  }
  if (job.state == job_state::cancelled && job.delete_requested) {
    remove_record(self, "a DELETE that settled before the OMA restarted");
    return;
  }
  if (job.state != job_state::starting && job.state != job_state::replicating) return;
  tell(self, st.deps.poller, start_atom::value, job.id, job.vma);
  auto subject = st.deps.bus->subjects().vma_status(job.vma);
  if (!subject) return;
  msg::vma_status_request q;
  q.hdr = st.deps.bus->header();
  ask_agent_on_lane(self, *subject, msg::encode(q),
                    [handle = caf::actor_cast<job_actor_hdl>(self),
                     id = job.id](bus::result<bus::envelope> answer) {
                      if (!answer)
                        return;  // the agent is away: the poller notices if it stays away
                      auto status = msg::decode<msg::vma_status>(answer->data);
                      if (!status) return;
                      for (const auto& m : status->movers)
                        if (m.job == id) {
                          caf::anon_send(handle, status_atom::value, m, true);
                          return;
                        }
                      msg::mover_info none;
                      none.job = id;
                      caf::anon_send(handle, status_atom::value, none, false);
                    });
}

/// The poller's latest progress of the mover. A resumed run's first one tells from where the
/// run started: what the job had reported before, less the checkpoint's bytes, is copied again.
void on_snapshot(job_actor* self, const msg::progress& p) {
  auto& st = self->state;
  auto& j = st.job;
  const bool moved = p.bytes_done != j.progress.bytes_done;
  j.progress = {p.bytes_done, p.bytes_total, p.bytes_skipped, p.rate_bps, unix_ms()};
  bool flag_changed = false;
  if (j.stalled && moved) {
    j.stalled = false;
    flag_changed = true;
    log(self, "progress_resumed", {{"bytes_done", p.bytes_done}}, "poller");
  }
  // The new run's first progress: not one of the old run arriving late while this run
  // attaches its volume (once the agent is asked, the new mover may report before its pid).
  const bool new_run = j.state == job_state::replicating ||
                       (j.state == job_state::starting && st.starting != start_step::attaching &&
                        st.starting != start_step::probing);
  if (j.bytes_done_at_resume && new_run) {
    log_recopy(self, p.bytes_done, "poller");
    flag_changed = true;
  }
  const auto now = self->clock().now();
  if (flag_changed || now - st.progress_persisted >= defaults::jobs::progress_persist_interval) {
    st.progress_persisted = now;
    persist(self, [self](caf::error err) {
      if (err) observe(self);  // written, the observer has heard of it already
    });
    return;
  }
  observe(self);
}

job_actor_hdl::behavior_type job_behavior(job_actor* self, job_deps deps, job_record job,
                                          std::uint64_t revision, bool recovering) {
  self->state.deps = std::move(deps);
  self->state.job = std::move(job);
  self->state.revision = revision;
  self->set_default_handler(caf::drop);
  log_stray_errors(self, "job " + self->state.job.id);
  if (recovering) recover(self);
  observe(self);
  return {
      [self](start_atom) { start(self); },
      [self](start_atom, const msg::start_mover_reply& r) { on_started(self, r); },
      [self](start_atom, const msg::probe_reply& r) { on_probed(self, r); },
      [self](start_atom, absent_atom, const std::string& why) { on_agent_absent(self, why); },
      [self](start_atom, retry_atom) { retry_start(self); },
      [self](const msg::stop_request& r) -> caf::result<job_record> {
        return request_stop(self, r);
      },
      [self](resume_atom) -> caf::result<job_record> { return resume(self); },
      [self](get_atom) -> caf::result<job_record> { return self->state.job; },
      [self](remove_atom, const msg::stop_request& r) -> caf::result<job_record> {
        return request_delete(self, r);
      },
      [self](plan_atom, const msg::stop_request& r) -> caf::result<stop_plan> {
        return plan_stop(self, r);
      },
      [self](const bus::envelope& e) {
        auto c = msg::decode<msg::stop_confirm>(e.data);
        if (!c) {
          spdlog::warn("job {}: dropped a malformed confirmation on {}: {}", self->state.job.id,
                       e.subject, c.error().message);
          return;
        }
        // A mover's answer counts only on its own agent's subject, the others' on the job's.
        const auto& mine = self->state.job;
        const auto& s = self->state.deps.bus->subjects();
        const auto expected = c->who == participant::vma_process
                                  ? s.mover_stopped(mine.vma, mine.id)
                                  : s.job_stopped(mine.id);
        if (c->job != mine.id || expected != e.subject) {
          spdlog::warn("job {}: dropped a confirmation of {} on {}", mine.id, msg::name_of(c->who),
                       e.subject);
          return;
        }
        on_confirm(self, *c);
      },
      [self](tick_atom, std::uint64_t generation) { on_tick(self, generation); },
      [self](retry_atom) { on_retry(self); },
      [self](snapshot_atom, const std::string&, const msg::progress& p) { on_snapshot(self, p); },
      [self](exited_atom, const std::string&, const msg::progress& p) {
        auto& j = self->state.job;
        if (j.state != job_state::replicating && j.state != job_state::starting)
          return;  // a stop in progress hears it from the vma_process
        // An earlier mover's end, sent late (its agent was cut off from the bus, and its
        // publishes waited).
        if (self->state.start_under_way()) {
          spdlog::info(
              "job {}: the end of an earlier mover ({}) while a start is under way: "
              "ignored",
              j.id, p.detail);
          return;
        }
        if (p.exit_code == 0) j.progress.bytes_done = p.bytes_total ? p.bytes_total : p.bytes_done;
        on_mover_end(self, p.exit_code == 0, p.exit_code == 0 ? "" : "mover exited: " + p.detail);
      },
      [self](lost_atom, const std::string&, const std::string& why) {
        auto& j = self->state.job;
        if (j.state != job_state::replicating && j.state != job_state::starting) return;
        // The mover may still be writing where its agent cannot be reached: the job fails,
        // and its volume is left as it is until the agent is heard from again.
        if (!move_to(self, job_state::failed)) return;
        j.error = "mover lost: " + why;
        j.mover_unconfirmed = true;
        persist(self, [self](caf::error) {
          auto& lost = self->state.job;
          log(self, "failed", {{"error", lost.error}}, "poller");
          publish_state(self);
          tell(self, self->state.deps.poller, finish_atom::value, lost.id);
        });
      },
      [self](stalled_atom, const std::string&, std::uint64_t seconds) {
        auto& j = self->state.job;
        if (j.stalled || j.state != job_state::replicating) return;
        j.stalled = true;
        persist(self, [self, seconds](caf::error) {
          log(self, "stalled", {{"seconds_without_progress", seconds}}, "poller");
        });
      },
      [self](status_atom, const msg::mover_info& m, bool listed) {
        on_agent_account(self, m, listed);
      },
  };
}

}  // namespace

}  // namespace job_detail

job_actor_hdl spawn_job_actor(caf::actor_system& system, job_deps deps, job_record job,
                              std::uint64_t revision, bool recovering) {
  return system.spawn([deps = std::move(deps), job = std::move(job), revision,
                       recovering](job_detail::job_actor* self) mutable {
    return job_detail::job_behavior(self, std::move(deps), std::move(job), revision, recovering);
  });
}

}  // namespace mk::actors
