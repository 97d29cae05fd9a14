// The job actor: one replication job's state machine and its side of the stop protocol.
#include "actors/job_actor.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>
#include <deque>

#include "actors/atoms.hpp"
#include "actors/errors.hpp"
#include "actors/ids.hpp"
#include "messages/caf_types.hpp"

namespace mk::actors {

namespace {

using nlohmann::json;
using msg::job_state;
using msg::participant;
using clock_point = caf::actor_clock::time_point;

struct job_actor_state {
  job_deps deps;
  job_record job;
  std::uint64_t revision = 0;
  std::optional<stop_protocol> protocol;
  clock_point stop_began{};
  /// A start request is with the agent: a stop holds its request to the vma_process until
  /// the agent has answered, so that the stop cannot overtake the mover's start.
  bool start_in_flight = false;
  /// Ticks carry the generation they were armed in; an older one is stale and ignored.
  std::uint64_t tick_generation = 0;
  clock_point tick_due = clock_point::max();
  clock_point progress_persisted{};
  /// Writes that failed (the store unreachable, as while nats-server restarts) and are tried
  /// again every second, in order, until they succeed: the record, and JobLog entries.
  bool record_dirty = false;
  std::deque<std::string> unwritten_log;
  bool retry_armed = false;
  static inline const char* name = "job";
};

using job_actor = caf::stateful_actor<job_actor_state>;

std::string vma_sender(const job_record& job) { return "vma:" + job.vma; }

std::int64_t ms_between(clock_point from, clock_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

// -- store, JobLog and bus ----------------------------------------------------

void arm_retry(job_actor* self) {
  auto& st = self->state;
  if (st.retry_armed)
    return;
  st.retry_armed = true;
  self->delayed_send(self, std::chrono::seconds(1), retry_atom::value);
}

/// Writes the record, checked against the revision this actor last wrote. The job actor is
/// its record's only writer, so a conflict can only be its own write that succeeded on the
/// server while the answer was lost: then the latest revision is taken and the write made
/// again. Any other failure leaves the record as it was, and the write is tried again every
/// second; the caller must not report it as done.
caf::error persist(job_actor* self) {
  auto& st = self->state;
  st.job.updated_at = unix_ms();
  const auto text = to_json(st.job).dump();
  auto r = st.deps.store->update(st.job.id, text, st.revision);
  if (!r && r.error().code == bus::errc::conflict) {
    if (auto latest = st.deps.store->load(st.job.id))
      r = st.deps.store->update(st.job.id, text, latest->revision);
  }
  if (!r) {
    spdlog::error("job {}: the record was not written (tried again in a second): {}", st.job.id,
                  r.error().message);
    st.record_dirty = true;
    arm_retry(self);
    return make_error(errc::internal, "job " + st.job.id + ": store: " + r.error().message);
  }
  st.revision = *r;
  st.record_dirty = false;
  return caf::none;
}

/// Appends the JobLog entries not yet written, oldest first; stops at the first failure.
void flush_log(job_actor* self) {
  auto& st = self->state;
  while (!st.unwritten_log.empty()) {
    if (auto r = st.deps.store->append_log(st.job.id, st.unwritten_log.front()); !r) {
      spdlog::warn("job {}: {} JobLog entries wait for the store: {}", st.job.id,
                   st.unwritten_log.size(), r.error().message);
      arm_retry(self);
      return;
    }
    st.unwritten_log.pop_front();
  }
}

void on_retry(job_actor* self) {
  auto& st = self->state;
  st.retry_armed = false;
  if (st.record_dirty)
    (void)persist(self);
  flush_log(self);
}

/// One JobLog entry: when, what, which actor, and the details of the step.
void log(job_actor* self, std::string_view event, json detail = json::object(),
         std::string_view actor = "job") {
  auto& job = self->state.job;
  json entry = {{"ts", rfc3339(unix_ms())},
                {"event", event},
                {"actor", actor},
                {"job", job.id},
                {"state", std::string(msg::name_of(job.state))},
                {"detail", std::move(detail)}};
  if (job.stop)
    entry["stop_id"] = job.stop->id;
  self->state.unwritten_log.push_back(entry.dump());
  flush_log(self);
}

void publish_state(job_actor* self) {
  auto& st = self->state;
  msg::job_state_changed m;
  m.job = st.job.id;
  m.state = st.job.state;
  m.stop_id = st.job.stop ? st.job.stop->id : "";
  m.error = st.job.error;
  if (auto subject = st.deps.bus->subjects().job_state(st.job.id))
    (void)st.deps.bus->publish(*subject, m);
}

std::string reply_json(job_actor* self) { return to_json(self->state.job).dump(); }

template <class... Ts>
void tell(job_actor* self, const caf::actor& dest, Ts&&... xs) {
  if (dest)
    self->send(dest, std::forward<Ts>(xs)...);
}

// -- the stop protocol ----------------------------------------------------------

stop_protocol::timing timing_for(const job_actor_state& st, const stop_record& stop) {
  auto t = st.deps.timing;
  if (stop.grace_seconds > 0)
    t.grace = std::chrono::seconds(stop.grace_seconds);
  return t;
}

void send_stops(job_actor* self, const std::vector<stop_protocol::send_stop>& sends) {
  auto& st = self->state;
  const auto& stop = *st.job.stop;
  auto subject = st.deps.bus->subjects().job_stop(st.job.id);
  if (!subject)
    return;
  for (const auto& s : sends) {
    if (s.to == participant::vma_process && st.start_in_flight)
      continue;  // asked again at the next tick, once the agent has answered the start
    msg::stop_request r;
    r.job = st.job.id;
    r.stop_id = stop.id;
    r.mode = s.mode;
    r.volumes = s.volumes;
    r.reason = stop.reason;
    r.comment = stop.comment;
    // Always the grace in force, so that the agent and the deadline agree on it.
    r.grace_seconds = static_cast<std::uint32_t>(
        std::chrono::ceil<std::chrono::seconds>(timing_for(st, stop).grace).count());
    r.to = std::string(msg::name_of(s.to));
    r.vma = st.job.vma;
    (void)st.deps.bus->publish(*subject, r);
  }
}

void arm_tick(job_actor* self) {
  auto& st = self->state;
  if (!st.protocol)
    return;
  const auto due = st.protocol->next_deadline();
  if (due == clock_point::max() || due >= st.tick_due)
    return;
  st.tick_due = due;
  const auto now = self->clock().now();
  const auto delay = due > now ? due - now : caf::actor_clock::duration_type{0};
  self->delayed_send(self, delay, tick_atom::value, ++st.tick_generation);
}

/// The settlement: the final state is written, logged and announced, and the volume of a
/// copy that completed is marked complete.
void settle(job_actor* self) {
  auto& st = self->state;
  auto& job = st.job;
  auto& stop = *job.stop;
  const auto result = *st.protocol->settled();
  const auto vma_done = stop.outcomes[static_cast<std::size_t>(participant::vma_process)];
  const auto volume_done = stop.outcomes[static_cast<std::size_t>(participant::volume)];
  job.state = result.state;
  job.error = result.error;
  stop.settled_at = unix_ms();
  if (vma_done)
    job.mover_pid = 0;
  switch (result.state) {
    case job_state::cancelled:
      job.volume_kept = false;
      break;
    case job_state::stopped:
    case job_state::completed:
      job.volume_kept = true;
      break;
    default:
      // A failed stop keeps the volume resumable only where the volume actor kept it; while
      // the mover's end is unconfirmed it may still write, so nothing counts as kept.
      job.volume_kept = vma_done && volume_done == msg::outcome::ok &&
                        stop.volumes == msg::volume_action::keep;
      break;
  }
  const auto took = ms_between(st.stop_began, self->clock().now());
  st.protocol.reset();
  st.tick_due = clock_point::max();
  ++st.tick_generation;
  if (auto err = persist(self))
    spdlog::error("job {}: settled as {} but not stored", job.id, msg::name_of(job.state));
  json parts = json::object();
  for (std::size_t i = 0; i < stop.outcomes.size(); ++i)
    parts[std::string(msg::name_of(static_cast<participant>(i)))] =
        stop.outcomes[i] ? std::string(msg::name_of(*stop.outcomes[i])) : "unconfirmed";
  log(self, "stop_settled",
      {{"final_state", std::string(msg::name_of(job.state))},
       {"error", job.error},
       {"duration_ms", took},
       {"participants", parts}});
  publish_state(self);
  if (job.state == job_state::completed && st.deps.volume)
    self->send(st.deps.volume, finish_atom::value, job.volume_id, true,
               checkpoint_ref(job.vma, job.id));
}

void begin_stop(job_actor* self, const stop_record& stop, bool after_restart) {
  auto& st = self->state;
  // After a restart every participant is asked again (they answer a known stop id as they
  // did before), so the answers recorded before it are heard anew.
  st.job.stop->outcomes = {};
  st.job.stop->details = {};
  st.stop_began = self->clock().now();
  st.protocol.emplace(stop_protocol::options{stop.mode, stop.volumes}, timing_for(st, stop),
                      st.stop_began);
  send_stops(self, st.protocol->begin());
  if (after_restart)
    log(self, "stop_resumed", {{"why", "the OMA restarted while the job was stopping"}});
  arm_tick(self);
}

/// A new stop: checked against the state, written as `stopping` before anyone acts.
caf::result<std::string> request_stop(job_actor* self, const msg::stop_request& req) {
  auto& st = self->state;
  auto& job = st.job;
  if (job.state == job_state::stopping && job.stop) {
    // Idempotent: the stop in progress; `force` escalates it.
    if (req.mode == msg::stop_mode::force && job.stop->mode != msg::stop_mode::force &&
        st.protocol) {
      job.stop->mode = msg::stop_mode::force;
      if (auto err = persist(self))
        return err;
      log(self, "stop_escalated", {{"requested_by", req.hdr.from}, {"mode", "force"}});
      send_stops(self, st.protocol->escalate(self->clock().now()));
      arm_tick(self);
    }
    return reply_json(self);
  }
  const bool keep = req.volumes == msg::volume_action::keep;
  if (job.state == job_state::completed || job.state == job_state::cancelled ||
      (job.state == job_state::stopped && keep))
    return make_error(errc::conflict, "job " + job.id + " is " +
                                          std::string(msg::name_of(job.state)) +
                                          ": nothing to stop");
  const auto before = job;
  stop_record stop;
  stop.id = new_stop_id();
  stop.mode = req.mode;
  stop.volumes = req.volumes;
  stop.reason = req.reason;
  stop.comment = req.comment;
  stop.grace_seconds = req.grace_seconds;
  stop.requested_by = req.hdr.from;
  stop.requested_at = unix_ms();
  job.stop = stop;
  job.state = job_state::stopping;
  job.stalled = false;
  if (auto err = persist(self)) {
    job = before;
    return err;
  }
  log(self, "stop_requested",
      {{"requested_by", stop.requested_by},
       {"reason", std::string(msg::name_of(stop.reason))},
       {"mode", std::string(msg::name_of(stop.mode))},
       {"volumes", std::string(msg::name_of(stop.volumes))},
       {"comment", stop.comment},
       {"grace_seconds", stop.grace_seconds},
       {"from_state", std::string(msg::name_of(before.state))}});
  publish_state(self);
  begin_stop(self, stop, false);
  return reply_json(self);
}

void on_confirm(job_actor* self, const msg::stop_confirm& c) {
  auto& st = self->state;
  auto& job = st.job;
  if (!st.protocol || !job.stop || c.stop_id != job.stop->id)
    return;  // late, or for a stop that is over: nothing to do
  // Only the job's own agent speaks for its mover; the OMA's participants speak as the OMA.
  const auto expected_from =
      c.who == participant::vma_process ? vma_sender(job) : st.deps.bus->from();
  if (c.hdr.from != expected_from) {
    spdlog::warn("job {}: ignored a {} confirmation from '{}' (expected '{}')", job.id,
                 msg::name_of(c.who), c.hdr.from, expected_from);
    return;
  }
  const auto i = static_cast<std::size_t>(c.who);
  if (job.stop->outcomes[i])
    return;  // a repeat
  const auto now = self->clock().now();
  const auto phase_before = st.protocol->current();
  auto sends = st.protocol->confirm(c.who, c.result, c.detail, now, c.completed);
  if (!st.protocol->outcome_of(c.who))
    return;  // not asked yet: the protocol ignored it
  job.stop->outcomes[i] = c.result;
  job.stop->details[i] = c.detail;
  log(self, "participant_confirmed",
      {{"participant", std::string(msg::name_of(c.who))},
       {"outcome", std::string(msg::name_of(c.result))},
       {"detail", c.detail},
       {"completed", c.completed},
       {"after_ms", ms_between(st.stop_began, now)}},
      msg::name_of(c.who));
  if (phase_before == stop_protocol::phase::quiesce &&
      st.protocol->current() == stop_protocol::phase::volumes)
    log(self, "volumes_phase",
        {{"volumes", std::string(msg::name_of(c.completed ? msg::volume_action::keep
                                                            : job.stop->volumes))}});
  if (st.protocol->settled()) {
    settle(self);
    return;
  }
  if (auto err = persist(self))
    spdlog::warn("job {}: a participant's answer was not stored; it will be asked again",
                 job.id);
  send_stops(self, sends);
  arm_tick(self);
}

void on_tick(job_actor* self, std::uint64_t generation) {
  auto& st = self->state;
  if (generation != st.tick_generation || !st.protocol)
    return;
  st.tick_due = clock_point::max();
  auto sends = st.protocol->tick(self->clock().now());
  if (st.protocol->settled()) {
    settle(self);
    return;
  }
  send_stops(self, sends);
  arm_tick(self);
}

// -- running --------------------------------------------------------------------

/// The mover ended without being asked: a whole copy completes the job, anything else fails
/// it, resumable from the checkpoint. Either way the volume is detached and marked.
void on_mover_end(job_actor* self, bool completed, std::string error) {
  auto& st = self->state;
  auto& job = st.job;
  job.state = completed ? job_state::completed : job_state::failed;
  job.error = std::move(error);
  job.mover_pid = 0;
  job.volume_kept = true;
  (void)persist(self);
  log(self, completed ? "completed" : "failed", {{"error", job.error}});
  publish_state(self);
  tell(self, st.deps.poller, finish_atom::value, job.id);
  if (st.deps.volume) {
    self->request(st.deps.volume, defaults::jobs::attach_timeout, finish_atom::value,
                  job.volume_id, completed, checkpoint_ref(job.vma, job.id))
        .then([](caf::unit_t) {},
              [self](const caf::error& err) {
                log(self, "volume_not_finished", {{"error", message_of(err)}}, "volume");
              });
  }
}

void fail_start(job_actor* self, const std::string& why) {
  auto& job = self->state.job;
  if (job.state != job_state::starting)
    return;  // a stop took over; it settles the job
  on_mover_end(self, false, "start: " + why);
}

void on_started(job_actor* self, bool ok, std::int64_t pid, const std::string& error) {
  auto& st = self->state;
  auto& job = st.job;
  st.start_in_flight = false;
  if (!ok) {
    fail_start(self, error);
    return;
  }
  job.mover_pid = pid;
  if (job.state != job_state::starting) {
    // A stop came while the agent started the mover: its vma_process is asked at the next
    // tick (or now, if the protocol is waiting for nothing else).
    log(self, "mover_started", {{"pid", pid}, {"note", "a stop is already in progress"}});
    if (st.protocol)
      arm_tick(self);
    return;
  }
  job.state = job_state::replicating;
  (void)persist(self);  // a failure is tried again until it succeeds
  log(self, "replicating", {{"pid", pid}, {"target", job.target}, {"run", job.runs}});
  publish_state(self);
  tell(self, st.deps.poller, start_atom::value, job.id, job.vma);
}

/// Asks the agent to start the mover. The request blocks until the agent answers, so it runs
/// on a thread of its own; the answer comes back as (start_atom, ok, pid, error).
void request_mover(job_actor* self) {
  auto& st = self->state;
  auto& job = st.job;
  auto subject = st.deps.bus->subjects().vma_start(job.vma);
  if (!subject) {
    fail_start(self, "invalid agent id '" + job.vma + "'");
    return;
  }
  msg::start_mover m;
  m.hdr = st.deps.bus->header();
  m.job = job.id;
  m.source = job.source;
  m.target = job.target;
  m.checkpoint = job.id;
  m.resume = job.runs > 1;
  st.start_in_flight = true;
  self->home_system().spawn<caf::detached>(
      [bus = st.deps.bus, subject = *subject, payload = msg::encode(m),
       timeout = st.deps.start_timeout, job_actor_handle = caf::actor_cast<caf::actor>(self),
       vma = job.vma](caf::event_based_actor*) {
        auto answer = bus->transport().request(subject, payload, timeout);
        if (!answer) {
          caf::anon_send(job_actor_handle, start_atom::value, false, std::int64_t{0},
                         "agent " + vma + ": " + answer.error().message);
          return;
        }
        auto reply = msg::decode<msg::start_mover_reply>(answer->data);
        if (!reply) {
          caf::anon_send(job_actor_handle, start_atom::value, false, std::int64_t{0},
                         "agent " + vma + ": bad reply: " + reply.error().message);
          return;
        }
        caf::anon_send(job_actor_handle, start_atom::value, reply->ok, reply->pid,
                       reply->ok ? std::string() : "agent " + vma + ": " + reply->error);
      });
}

void start(job_actor* self) {
  auto& st = self->state;
  auto& job = st.job;
  if (job.state != job_state::queued)
    return;
  job.state = job_state::starting;
  job.error.clear();
  ++job.runs;
  if (auto err = persist(self)) {
    // Not started while `starting` cannot be stored; the store is tried again shortly.
    job.state = job_state::queued;
    --job.runs;
    self->delayed_send(self, std::chrono::seconds(1), start_atom::value);
    return;
  }
  log(self, "starting", {{"run", job.runs}, {"vma", job.vma}});
  publish_state(self);
  if (!st.deps.volume) {
    fail_start(self, "no volume actor");
    return;
  }
  self->request(st.deps.volume, defaults::jobs::attach_timeout, attach_atom::value,
                job.volume_id, job.source)
      .then(
          [self](const std::string& uri, std::uint64_t size) {
            auto& j = self->state.job;
            j.target = uri;
            j.size = size;
            j.volume_kept = true;
            if (j.state != job_state::starting)
              return;  // stopped while the volume was attached: the stop detaches it
            log(self, "volume_attached", {{"uri", uri}, {"size", size}}, "volume");
            request_mover(self);
          },
          [self](const caf::error& err) { fail_start(self, "volume: " + message_of(err)); });
}

caf::result<std::string> resume(job_actor* self) {
  auto& job = self->state.job;
  if (!job.resumable())
    return make_error(errc::conflict,
                      "job " + job.id + " is " + std::string(msg::name_of(job.state)) +
                          (job.volume_kept ? "" : " without a kept volume") +
                          ": nothing to resume");
  const auto before = job;
  job.state = job_state::queued;
  job.error.clear();
  job.stalled = false;
  if (auto err = persist(self)) {
    job = before;
    return err;
  }
  log(self, "resumed", {{"from_state", std::string(msg::name_of(before.state))},
                        {"bytes_done", before.progress.bytes_done}});
  publish_state(self);
  return reply_json(self);
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
  if (auto subject = st.deps.bus->subjects().job_stop(st.job.id))
    (void)st.deps.bus->publish(*subject, r);
  log(self, "stray_mover_stopped", {{"pid", m.pid}, {"stop_id", r.stop_id}});
}

void on_agent_account(job_actor* self, const msg::mover_info& m, bool listed) {
  auto& st = self->state;
  auto& job = st.job;
  const bool running = listed && m.state != "exited";
  if (job.state == job_state::stopping)
    return;  // the stop protocol asks the agent itself
  if (job.state != job_state::starting && job.state != job_state::replicating) {
    if (running)
      stop_stray_mover(self, m);
    return;
  }
  if (running) {
    if (job.state == job_state::starting || job.mover_pid != m.pid) {
      job.state = job_state::replicating;
      job.mover_pid = m.pid;
      (void)persist(self);
      publish_state(self);
    }
    log(self, "mover_adopted", {{"pid", m.pid}, {"bytes_done", m.bytes_done}}, "vma_process");
    tell(self, st.deps.poller, start_atom::value, job.id, job.vma);
    return;
  }
  if (st.start_in_flight)
    return;  // the agent has not seen the start yet
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
  if (job.state != job_state::starting && job.state != job_state::replicating)
    return;
  tell(self, st.deps.poller, start_atom::value, job.id, job.vma);
  auto subject = st.deps.bus->subjects().vma_status(job.vma);
  if (!subject)
    return;
  msg::vma_status_request q;
  q.hdr = st.deps.bus->header();
  self->home_system().spawn<caf::detached>(
      [bus = st.deps.bus, subject = *subject, payload = msg::encode(q),
       timeout = st.deps.start_timeout, handle = caf::actor_cast<caf::actor>(self),
       id = job.id](caf::event_based_actor*) {
        auto answer = bus->transport().request(subject, payload, timeout);
        if (!answer)
          return;  // the agent is away: the poller notices if it stays away
        auto status = msg::decode<msg::vma_status>(answer->data);
        if (!status)
          return;
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

caf::behavior job_behavior(job_actor* self, job_deps deps, job_record job,
                           std::uint64_t revision, bool recovering) {
  self->state.deps = std::move(deps);
  self->state.job = std::move(job);
  self->state.revision = revision;
  self->set_default_handler(caf::drop);
  if (recovering)
    recover(self);
  return {
      [self](start_atom) { start(self); },
      [self](start_atom, bool ok, std::int64_t pid, const std::string& error) {
        on_started(self, ok, pid, error);
      },
      [self](const msg::stop_request& r) -> caf::result<std::string> {
        return request_stop(self, r);
      },
      [self](resume_atom) -> caf::result<std::string> { return resume(self); },
      [self](get_atom) -> std::string { return reply_json(self); },
      [self](const bus::envelope& e) {
        auto c = msg::decode<msg::stop_confirm>(e.data);
        if (!c) {
          spdlog::warn("job {}: dropped a malformed confirmation on {}: {}",
                       self->state.job.id, e.subject, c.error().message);
          return;
        }
        if (c->job == self->state.job.id)
          on_confirm(self, *c);
      },
      [self](tick_atom, std::uint64_t generation) { on_tick(self, generation); },
      [self](retry_atom) { on_retry(self); },
      [self](snapshot_atom, const std::string&, const msg::progress& p) {
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
        const auto now = self->clock().now();
        if (flag_changed ||
            now - st.progress_persisted >= defaults::jobs::progress_persist_interval) {
          st.progress_persisted = now;
          (void)persist(self);
        }
      },
      [self](exited_atom, const std::string&, const msg::progress& p) {
        auto& j = self->state.job;
        if (j.state != job_state::replicating && j.state != job_state::starting)
          return;  // a stop in progress hears it from the vma_process
        if (p.exit_code == 0)
          j.progress.bytes_done = p.bytes_total ? p.bytes_total : p.bytes_done;
        on_mover_end(self, p.exit_code == 0,
                     p.exit_code == 0 ? "" : "mover exited: " + p.detail);
      },
      [self](lost_atom, const std::string&, const std::string& why) {
        auto& j = self->state.job;
        if (j.state != job_state::replicating && j.state != job_state::starting)
          return;
        // The mover may still be writing where its agent cannot be reached: the job fails,
        // and its volume is left as it is until the agent is heard from again.
        j.state = job_state::failed;
        j.error = "mover lost: " + why;
        (void)persist(self);
        log(self, "failed", {{"error", j.error}}, "poller");
        publish_state(self);
        tell(self, self->state.deps.poller, finish_atom::value, j.id);
      },
      [self](stalled_atom, const std::string&, std::uint64_t seconds) {
        auto& j = self->state.job;
        if (j.stalled || j.state != job_state::replicating)
          return;
        j.stalled = true;
        (void)persist(self);
        log(self, "stalled", {{"seconds_without_progress", seconds}}, "poller");
      },
      [self](status_atom, const msg::mover_info& m, bool listed) {
        on_agent_account(self, m, listed);
      },
  };
}

}  // namespace

caf::actor spawn_job_actor(caf::actor_system& system, job_deps deps, job_record job,
                           std::uint64_t revision, bool recovering) {
  return system.spawn(
      [deps = std::move(deps), job = std::move(job), revision,
       recovering](job_actor* self) mutable {
        return job_behavior(self, std::move(deps), std::move(job), revision, recovering);
      });
}

}  // namespace mk::actors
