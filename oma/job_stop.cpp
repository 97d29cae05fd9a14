// The job actor's side of the stop protocol (docs/stop-protocol.md): a stop request checked and
// stored before anyone acts, the participants asked and asked again, their answers, the
// deadlines, and the settlement.
#include <spdlog/spdlog.h>

#include "actors/atoms.hpp"
#include "actors/errors.hpp"
#include "models/ids.hpp"
#include "oma/job_actor_state.hpp"

namespace mk::actors::job_detail {

using msg::job_state;
using msg::participant;
using nlohmann::json;

namespace {

std::string vma_sender(const job_record& job) { return "vma:" + job.vma; }

std::int64_t ms_between(clock_point from, clock_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

stop_protocol::timing timing_for(const job_actor_state& st, const stop_record& stop) {
  auto t = st.deps.timing;
  if (stop.grace_seconds > 0) t.grace = std::chrono::seconds(stop.grace_seconds);
  return t;
}

void send_stops(job_actor* self, const std::vector<stop_protocol::send_stop>& sends) {
  auto& st = self->state;
  const auto& stop = *st.job.stop;
  const auto& subjects = st.deps.bus->subjects();
  for (const auto& s : sends) {
    if (s.to == participant::vma_process && st.starting == start_step::asking_agent)
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
    // The mover's stop goes to its agent only; the OMA's participants hear theirs on the job's.
    auto subject = s.to == participant::vma_process ? subjects.mover_stop(st.job.vma, st.job.id)
                                                    : subjects.job_stop(st.job.id);
    if (subject) (void)st.deps.bus->publish(*subject, r);
  }
}

/// The settlement: the final state is written, logged and announced, and the volume of a
/// copy that completed is marked complete.
void announce_settlement(job_actor* self, std::int64_t took);

void settle(job_actor* self) {
  auto& st = self->state;
  auto& job = st.job;
  auto& stop = *job.stop;
  const auto result = *st.protocol->settled();
  const auto vma_done = stop.outcomes[static_cast<std::size_t>(participant::vma_process)];
  const auto volume_done = stop.outcomes[static_cast<std::size_t>(participant::volume)];
  if (!move_to(self, result.state)) return;
  job.error = result.error;
  stop.settled_at = unix_ms();
  if (vma_done) job.mover_pid = 0;
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
      job.volume_kept =
          vma_done && volume_done == msg::outcome::ok && stop.volumes == msg::volume_action::keep;
      job.mover_unconfirmed = !vma_done;
      break;
  }
  const auto took = ms_between(st.stop_began, self->clock().now());
  st.protocol.reset();
  st.tick_due = clock_point::max();
  ++st.tick_generation;
  persist(self, [self, took](caf::error err) {
    if (err)
      spdlog::error("job {}: settled as {} but not stored", self->state.job.id,
                    msg::name_of(self->state.job.state));
    announce_settlement(self, took);
  });
}

/// The settlement is stored: the JobLog, the bus, the volume of a completed copy, and the
/// DELETE that waited for it.
void announce_settlement(job_actor* self, std::int64_t took) {
  auto& job = self->state.job;
  auto& stop = *job.stop;
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
  if (job.state == job_state::completed) finish_volume(self, true);
  if (job.delete_requested) {
    if (job.state == job_state::cancelled) {
      remove_record(self, "deleted by " + stop.requested_by);
    } else {
      // The copy finished (or the stop failed) first: the volume holds data the operator may
      // still want, so the record that points to it stays. A new DELETE acts on it.
      job.delete_requested = false;
      persist(self, [self](caf::error) {
        log(self, "delete_not_done",
            {{"final_state", std::string(msg::name_of(self->state.job.state))}});
      });
    }
  }
}

}  // namespace

void arm_tick(job_actor* self) {
  auto& st = self->state;
  if (!st.protocol) return;
  const auto due = st.protocol->next_deadline();
  if (due == clock_point::max() || due >= st.tick_due) return;
  st.tick_due = due;
  const auto now = self->clock().now();
  const auto delay = due > now ? due - now : caf::actor_clock::duration_type{0};
  self->delayed_send(self, delay, tick_atom::value, ++st.tick_generation);
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

caf::error stop_refusal(const job_record& job, const msg::stop_request& req) {
  const bool keep = req.volumes == msg::volume_action::keep;
  if (job.state == job_state::completed || job.state == job_state::cancelled ||
      (job.state == job_state::stopped && keep))
    return make_error(
        errc::conflict,
        "job " + job.id + " is " + std::string(msg::name_of(job.state)) + ": nothing to stop");
  return caf::none;
}

caf::result<job_record> request_delete(job_actor* self, const msg::stop_request& req) {
  auto& st = self->state;
  auto& job = st.job;
  if (job.state == job_state::completed || job.state == job_state::cancelled) {
    // Nothing runs and nothing is left to clean up: a completed copy's volume is the
    // migrated disk, and it stays where it is.
    // Answered once the record is gone: a client that reads after the answer finds no job.
    auto rp = self->make_response_promise<job_record>();
    remove_record(self, "deleted by " + req.hdr.from,
                  [rp, last = self->state.job]() mutable { rp.deliver(last); });
    return rp;
  }
  if (job.state == job_state::stopping && job.stop && job.stop->volumes == msg::volume_action::keep)
    return make_error(errc::conflict, "job " + job.id +
                                          " is stopping with its volume kept; delete it "
                                          "once the stop has settled");
  if (job.delete_requested) return self->state.job;
  if (job.state == job_state::stopping) {
    job.delete_requested = true;
    auto rp = self->make_response_promise<job_record>();
    persist(self, [self, rp, from = req.hdr.from](caf::error err) mutable {
      if (err) {
        self->state.job.delete_requested = false;
        rp.deliver(std::move(err));
        return;
      }
      log(self, "delete_requested", {{"requested_by", from}});
      rp.deliver(self->state.job);
    });
    return rp;
  }
  auto stop = req;
  stop.volumes = msg::volume_action::remove;
  return request_stop(self, stop, true);
}

/// A new stop: checked against the state, written as `stopping` before anyone acts.
caf::result<job_record> request_stop(job_actor* self, const msg::stop_request& req, bool deleting) {
  auto& st = self->state;
  auto& job = st.job;
  if (job.state == job_state::stopping && job.stop) {
    // Idempotent: the stop in progress; `force` escalates it.
    if (req.mode == msg::stop_mode::force && job.stop->mode != msg::stop_mode::force &&
        st.protocol) {
      job.stop->mode = msg::stop_mode::force;
      auto rp = self->make_response_promise<job_record>();
      persist(self, [self, rp, from = req.hdr.from](caf::error err) mutable {
        if (err) {
          rp.deliver(std::move(err));
          return;
        }
        auto& s = self->state;
        log(self, "stop_escalated", {{"requested_by", from}, {"mode", "force"}});
        if (s.protocol) {
          send_stops(self, s.protocol->escalate(self->clock().now()));
          arm_tick(self);
        }
        rp.deliver(self->state.job);
      });
      return rp;
    }
    return self->state.job;
  }
  if (auto err = stop_refusal(job, req)) return err;
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
  if (!move_to(self, job_state::stopping))
    return make_error(errc::conflict, "job " + job.id + " is " +
                                          std::string(msg::name_of(job.state)) + ": no stop");
  job.stop = stop;
  job.stalled = false;
  if (deleting) job.delete_requested = true;
  auto rp = self->make_response_promise<job_record>();
  persist(self, [self, rp, before, stop](caf::error err) mutable {
    if (err) {
      self->state.job = before;
      rp.deliver(std::move(err));
      return;
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
    rp.deliver(self->state.job);
  });
  return rp;
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
  if (job.stop->outcomes[i]) return;  // a repeat
  const auto now = self->clock().now();
  const auto phase_before = st.protocol->current();
  auto sends = st.protocol->confirm(c.who, c.result, c.detail, now, c.completed);
  if (!st.protocol->outcome_of(c.who)) return;  // not asked yet: the protocol ignored it
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
        {{"volumes",
          std::string(msg::name_of(c.completed ? msg::volume_action::keep : job.stop->volumes))}});
  if (st.protocol->settled()) {
    settle(self);
    return;
  }
  // The next phase need not wait for the answer to be stored: what allows it (the mover has
  // ended) is a fact already, and a job actor that restarts before the write asks again.
  send_stops(self, sends);
  arm_tick(self);
  persist(self, [self](caf::error err) {
    if (err)
      spdlog::warn("job {}: a participant's answer was not stored; it will be asked again",
                   self->state.job.id);
  });
}

void on_tick(job_actor* self, std::uint64_t generation) {
  auto& st = self->state;
  if (generation != st.tick_generation || !st.protocol) return;
  st.tick_due = clock_point::max();
  auto sends = st.protocol->tick(self->clock().now());
  if (st.protocol->settled()) {
    settle(self);
    return;
  }
  send_stops(self, sends);
  arm_tick(self);
}

}  // namespace mk::actors::job_detail
