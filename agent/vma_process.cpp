#include "agent/vma_process.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>
#include <cstring>
#include <fstream>

#include "actors/atoms.hpp"
#include "agent/mover_record.hpp"
#include "messages/caf_types.hpp"
#include "nbd/checkpoint.hpp"

namespace mk::actors {

namespace {

using process_self = caf::stateful_actor<vma_process_state>*;
using clock = vma_process_state::clock;

/// The last lines of the mover's stderr log (the log is appended across runs; its end is
/// this run's): what a failed copy said about its cause.
std::string stderr_tail(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(in.tellg(), 0));
  const auto take = std::min(size, defaults::vma::stderr_tail);
  in.seekg(static_cast<std::streamoff>(size - take));
  std::string text(take, '\0');
  in.read(text.data(), static_cast<std::streamsize>(take));
  text.resize(static_cast<std::size_t>(in.gcount()));
  // Cut a partial first line, and join the rest so the detail stays one line.
  if (take < size) {
    const auto nl = text.find('\n');
    text = nl == std::string::npos ? std::string() : text.substr(nl + 1);
  }
  std::string out;
  std::size_t from = 0;
  while (from < text.size()) {
    auto nl = text.find('\n', from);
    if (nl == std::string::npos) nl = text.size();
    if (nl > from) {
      if (!out.empty()) out += " | ";
      out.append(text, from, nl - from);
    }
    from = nl + 1;
  }
  return out;
}

std::string signal_name(int sig) {
  if (const char* abbrev = ::sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  return std::to_string(sig);
}

std::string seconds_text(std::chrono::milliseconds d) {
  return fmt::format("{:g}", static_cast<double>(d.count()) / 1000.0);
}

/// Whether the mover had finished the whole copy: exit 0, or, for an adopted mover whose exit
/// status is not ours to know, a checkpoint that says so.
bool completed(const vma::outcome& o, const checkpoint_view& cp) {
  if (o.exit_code) return *o.exit_code == 0;
  return !o.term_signal && cp.cp && cp.cp->state == nbd::copy_state::completed;
}

/// Whether the mover failed (rather than completing, or stopping when asked): then the end of
/// its stderr says why.
bool failed(const vma::outcome& o, const checkpoint_view& cp, bool stop_asked) {
  if (o.exit_code) return *o.exit_code != 0 && *o.exit_code != 3;
  if (o.term_signal) return !stop_asked;
  return cp.cp && cp.cp->state == nbd::copy_state::failed;
}

/// "exit 3, checkpoint stopped", "killed by SIGKILL after 30 s grace, checkpoint copying",
/// "exited before the stop: exit 0, checkpoint completed", ...
std::string describe(const vma::outcome& o, const checkpoint_view& cp,
                     const vma_process_state& st) {
  std::string text;
  if (o.what == vma::outcome::kind::killed) {
    text = st.forced ? "killed by SIGKILL (force stop)"
                     : "killed by SIGKILL after " + seconds_text(st.grace) + " s grace";
  } else if (o.exit_code) {
    text = "exit " + std::to_string(*o.exit_code);
  } else if (o.term_signal) {
    text = "killed by " + signal_name(*o.term_signal);
  } else {
    text = "exit status unknown (adopted)";
  }
  if (o.what == vma::outcome::kind::not_running) text = "exited before the stop: " + text;
  text += describe_checkpoint(cp);
  if (failed(o, cp, st.stopping.has_value())) {
    if (auto tail = stderr_tail(st.args.stderr_log); !tail.empty()) text += "; stderr: " + tail;
  }
  return text;
}

msg::outcome wire_outcome(vma::outcome::kind k) {
  switch (k) {
    case vma::outcome::kind::exited:
      return msg::outcome::exited;
    case vma::outcome::kind::killed:
      return msg::outcome::killed;
    case vma::outcome::kind::not_running:
      return msg::outcome::not_running;
  }
  return msg::outcome::failed;
}

/// A mover's state as its progress says it.
msg::progress_state progress_state_of(nbd::copy_state s) {
  switch (s) {
    case nbd::copy_state::copying:
      return msg::progress_state::copying;
    case nbd::copy_state::draining:
      return msg::progress_state::draining;
    case nbd::copy_state::stopped:
      return msg::progress_state::stopped;
    case nbd::copy_state::completed:
      return msg::progress_state::completed;
    case nbd::copy_state::failed:
      return msg::progress_state::failed;
  }
  return msg::progress_state::failed;
}

/// The mover's progress now: its last progress line, or for an adopted mover (no pipe) what
/// its checkpoint file records.
std::optional<msg::progress> current_progress(vma_process_state& st, clock::time_point now) {
  msg::progress p;
  p.job = st.args.job;
  if (!st.args.mover->adopted()) {
    auto line = st.args.mover->poll_progress();
    if (!line) return std::nullopt;
    p.state = progress_state_of(line->state);
    p.bytes_done = line->bytes_done;
    p.bytes_total = line->bytes_total;
    p.bytes_skipped = line->bytes_skipped;
    p.rate_bps = line->rate_bps;
    return p;
  }
  auto view = read_checkpoint_view(st.args.checkpoint);
  if (!view.cp) return std::nullopt;
  p.state = progress_state_of(view.cp->state);
  p.bytes_done = view.cp->done.bytes();
  p.bytes_total = view.cp->source_size;
  p.bytes_skipped = view.cp->bytes_skipped;
  // The checkpoint has no rate: the growth since the last look stands in for it.
  if (st.last && p.bytes_done > st.last->bytes_done) {
    const auto secs = std::chrono::duration<double>(now - st.last_sent).count();
    if (secs > 0)
      p.rate_bps = static_cast<std::uint64_t>(
          static_cast<double>(p.bytes_done - st.last->bytes_done) / secs);
  }
  return p;
}

/// Publishes the progress at most every `progress_interval`; a final one only if it says
/// something new.
void publish_progress(process_self self, bool final) {
  auto& st = self->state;
  const auto now = clock::now();
  if (!final && st.last && now - st.last_sent < st.args.progress_interval) return;
  auto p = current_progress(st, now);
  if (!p) return;
  if (final && st.last && st.last->state == p->state && st.last->bytes_done == p->bytes_done)
    return;
  // Nothing new (the mover wrote no line since, or its checkpoint did not move): every
  // message would be relayed, and stored in the OMA's read model, for nothing.
  if (!final && st.last && st.last->state == p->state && st.last->bytes_done == p->bytes_done &&
      st.last->bytes_skipped == p->bytes_skipped && st.last->rate_bps == p->rate_bps)
    return;
  if (auto subject = st.args.bus->subjects().mover_progress(st.args.vma, st.args.job))
    (void)st.args.bus->publish(*subject, *p);  // a failure is logged; the next one follows
  self->send(st.args.agent, *p);
  st.last = std::move(p);
  st.last_sent = now;
}

/// The mover has ended: confirm the stop, or report the exit; tell the agent; quit.
void finish(process_self self, const vma::outcome& o) {
  auto& st = self->state;
  if (st.done) return;
  st.done = true;
  publish_progress(self, true);
  const auto cp = read_checkpoint_view(st.args.checkpoint);
  const bool whole = completed(o, cp);
  const auto detail = describe(o, cp, st);

  msg::mover_info info;
  info.job = st.args.job;
  info.pid = st.args.mover->identity().pid;
  info.state = msg::mover_state::exited;
  // An adopted mover's exit status is not ours to know; a checkpoint that says completed is
  // written only right before exit 0, so the OMA is told 0 rather than "unknown" for it.
  info.exit_code = o.exit_code.value_or(whole ? 0 : -1);
  info.detail = detail;
  // The mover's own last line is the freshest; an adopted one has only its checkpoint.
  if (st.last)
    info.bytes_done = st.last->bytes_done;
  else if (cp.cp)
    info.bytes_done = cp.cp->done.bytes();

  // Published by the agent once it has recorded the end: a start that follows the
  // confirmation must find the mover ended, not running (docs/stop-protocol.md).
  msg::stop_confirm answer;
  msg::progress exited;
  if (st.stopping) {
    spdlog::info("job {}: mover {} stopped: {} ({})", st.args.job, info.pid, vma::to_string(o.what),
                 detail);
    answer = st.answers.remember(*st.stopping, wire_outcome(o.what), detail, whole);
  } else {
    spdlog::info("job {}: mover {} ended: {}", st.args.job, info.pid, detail);
    exited = exited_progress(info,
                             st.last ? st.last->bytes_total
                             : cp.cp ? cp.cp->source_size
                                     : 0,
                             st.last ? st.last->bytes_skipped
                             : cp.cp ? cp.cp->bytes_skipped
                                     : 0);
  }
  self->send(st.args.agent, exited_atom::value, std::move(info), std::move(answer), whole,
             std::move(exited));
  self->quit();
}

void arm_tick(process_self self) {
  auto& st = self->state;
  const bool told = st.exit_watched && st.output_watched;
  const auto every = st.stopping ? st.args.stop_tick_interval
                     : told      ? st.args.watched_tick_interval
                                 : st.args.tick_interval;
  self->delayed_send(self, every, tick_atom::value, st.tick_generation);
}

void on_tick(process_self self, std::uint64_t generation) {
  auto& st = self->state;
  if (st.done || generation != st.tick_generation) return;
  auto ended = st.args.mover->tick();
  if (!ended) {
    // Transient (a /proc read, an EINTR-like failure): the next tick looks again.
    spdlog::warn("job {}: mover {}: {}", st.args.job, st.args.mover->identity().pid,
                 ended.error().message);
  }
  publish_progress(self, false);
  if (ended && *ended) return finish(self, **ended);
  arm_tick(self);
}

/// The watch says the mover has ended: its end is collected now (should it not be reapable
/// yet, the next tick looks again).
void look_now(process_self self) {
  auto& st = self->state;
  if (st.done) return;
  st.exit_watched.reset();  // a watch calls once
  auto ended = st.args.mover->tick();
  if (!ended || !*ended) return;
  publish_progress(self, false);
  finish(self, **ended);
}

/// The mover wrote (the watch), or a line held back is due: published now, or held until
/// `progress_interval` has passed since the last publish. Read at once either way (a publish
/// reads the pipe): a mover whose pipe filled up would stop copying.
void on_output(process_self self) {
  auto& st = self->state;
  if (st.done) return;
  const auto now = clock::now();
  const auto due = st.last_sent + st.args.progress_interval;
  if (st.last && now < due) {
    (void)st.args.mover->poll_progress();
    if (!st.publish_held) {
      st.publish_held = true;
      self->delayed_send(self, due - now, output_atom::value);
    }
    return;
  }
  st.publish_held = false;
  publish_progress(self, false);
}

void signal_stop(process_self self, const msg::stop_request& req, bool force,
                 std::chrono::milliseconds grace);

void on_stop(process_self self, const msg::stop_request& req) {
  auto& st = self->state;
  if (st.done || req.job != st.args.job) return;
  if (const auto* a = st.answers.answered(req.job, req.stop_id)) {
    st.answers.repeat(*st.args.bus, *a);
    return;
  }
  const bool force = req.mode == msg::stop_mode::force;
  const bool same = st.stopping && st.stopping->stop_id == req.stop_id;
  // A re-sent request changes nothing, unless it escalates a graceful stop.
  if (same && (!force || st.forced)) return;
  const auto grace = req.grace_seconds > 0
                         ? std::chrono::milliseconds(std::chrono::seconds(req.grace_seconds))
                         : defaults::vma::grace;
  if (!st.stopping) st.grace = grace;  // the first stop's grace is the one that runs
  st.stopping = req;
  st.forced = st.forced || force;
  spdlog::info("job {}: stop {} ({}): {} to mover {}", req.job, req.stop_id, msg::name_of(req.mode),
               force ? "SIGKILL" : "SIGTERM", st.args.mover->identity().pid);
  if (!force && !st.args.mover->result_outcome() && !st.args.record.stopping) {
    // Written (awaited, on a lane) before the SIGTERM: an agent that restarts mid-drain must
    // not send another.
    st.args.record.stopping = mover_record::stop_sent{
        req.stop_id, unix_ms(),
        std::chrono::duration_cast<std::chrono::milliseconds>(st.grace).count()};
    await_blocking(
        self, *st.args.lanes, req.job,
        [movers_dir = st.args.movers_dir, rec = st.args.record] {
          return write_mover_record(movers_dir, rec, sys::survives::process_crash);
        },
        [self, req, force, grace](vma::result<> w) {
          if (!w) spdlog::warn("job {}: {}", req.job, w.error().message);
          signal_stop(self, req, force, grace);
        });
    return;
  }
  signal_stop(self, req, force, grace);
}

/// From now on the mover's end is told at once, not at the next tick (a stop waits for it).
void watch_exit(process_self self) {
  auto& st = self->state;
  if (!st.args.watch || st.exit_watched || st.args.mover->pidfd() < 0) return;
  auto w = st.args.watch->once(st.args.mover->pidfd(), [me = caf::actor_cast<caf::actor>(self)] {
    caf::anon_send(me, exited_atom::value);
  });
  if (w)
    st.exit_watched = *w;
  else
    spdlog::warn("job {}: {}; the mover's end is looked for at each tick", st.args.job,
                 w.error().message);
}

/// From now on the mover's progress lines are told as they come, not looked for at each tick.
void watch_output(process_self self) {
  auto& st = self->state;
  if (!st.args.watch || st.output_watched || st.args.mover->output_fd() < 0) return;
  auto w = st.args.watch->each(
      st.args.mover->output_fd(),
      [me = caf::actor_cast<caf::actor>(self)] { caf::anon_send(me, output_atom::value); });
  if (w)
    st.output_watched = *w;
  else
    spdlog::warn("job {}: {}; the mover's lines are looked for at each tick", st.args.job,
                 w.error().message);
}

/// Sends the mover its signal for the stop `req`, and looks for its end.
void signal_stop(process_self self, const msg::stop_request& req, bool force,
                 std::chrono::milliseconds grace) {
  auto& st = self->state;
  auto r = st.args.mover->request_stop(force, grace);
  if (!r) {
    spdlog::error("job {}: stop {}: {}", req.job, req.stop_id, r.error().message);
    st.answers.confirm(*st.args.bus, req, msg::outcome::failed, r.error().message);
    st.stopping.reset();
    return;
  }
  if (*r) return finish(self, **r);
  // The mover's end is now told by the watch, and looked for every stop_tick_interval.
  watch_exit(self);
  ++st.tick_generation;
  arm_tick(self);
}

}  // namespace

msg::progress exited_progress(const msg::mover_info& info, std::uint64_t bytes_total,
                              std::uint64_t bytes_skipped) {
  msg::progress p;
  p.job = info.job;
  p.state = msg::progress_state::exited;
  p.bytes_done = info.bytes_done;
  p.bytes_total = bytes_total;
  p.bytes_skipped = bytes_skipped;
  p.exit_code = info.exit_code;
  p.detail = info.detail;
  return p;
}

vma_process_state::~vma_process_state() {
  if (exit_watched) args.watch->cancel(*exit_watched);
  if (output_watched) args.watch->cancel(*output_watched);
  if (args.mover && !args.mover->result_outcome()) {
    const auto id = args.mover->detach();
    spdlog::info("job {}: mover {} left running, unsupervised", args.job, id.pid);
  }
}

caf::behavior vma_process(caf::stateful_actor<vma_process_state>* self, vma_process_args args) {
  self->state.args = std::move(args);
  self->state.answers.answer_for_agent(self->state.args.vma);
  // Without its agent nobody could hear from this actor: let the mover run on, for the next
  // agent to adopt.
  self->monitor(self->state.args.agent);
  self->set_down_handler([self](caf::down_msg& dm) {
    if (dm.source == self->state.args.agent) self->quit();
  });
  if (const auto& sent = self->state.args.record.stopping) {
    // An earlier agent began a graceful stop: carried on, its SIGTERM not sent again.
    auto& st = self->state;
    msg::stop_request req;
    req.job = st.args.job;
    req.stop_id = sent->stop_id;
    req.to = std::string(msg::name_of(msg::participant::vma_process));
    st.stopping = req;
    st.grace = std::chrono::milliseconds(sent->grace_ms);
    const auto elapsed =
        std::chrono::milliseconds(std::max<std::int64_t>(0, unix_ms() - sent->term_sent_at));
    const auto left = st.grace > elapsed ? st.grace - elapsed : std::chrono::milliseconds(0);
    st.args.mover->carry_on_stop(vma::mover_process::clock::now() + left);
    watch_exit(self);
    spdlog::info("job {}: stop {} carried on, SIGKILL in {} ms unless the mover ends", req.job,
                 req.stop_id, left.count());
  }
  watch_exit(self);
  watch_output(self);
  self->send(self, tick_atom::value, self->state.tick_generation);
  return {
      [self](tick_atom, std::uint64_t generation) { on_tick(self, generation); },
      [self](output_atom) { on_output(self); },
      [self](exited_atom) { look_now(self); },
      [self](const msg::stop_request& req) { on_stop(self, req); },
      [self](shutdown_atom) { self->quit(); },
  };
}

}  // namespace mk::actors
