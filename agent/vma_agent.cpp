#include "agent/vma_agent.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <caf/all.hpp>

#include "actors/atoms.hpp"
#include "actors/errors.hpp"
#include "agent/agent_identity.hpp"
#include "agent/mover/mover_process.hpp"
#include "agent/start_requests.hpp"
#include "agent/vma_process.hpp"
#include "messages/caf_types.hpp"
#include "messages/codec.hpp"

namespace mk::actors {

namespace {

namespace dv = defaults::vma;

std::filesystem::path sub(const vma_agent_options& o, std::string_view name) {
  return o.data_dir / name;
}

/// Publishes the `exited` progress of a mover that ended while no vma_process watched it.
void publish_exited(agent_self self, const msg::mover_info& info, std::uint64_t bytes_total,
                    std::uint64_t bytes_skipped) {
  auto& st = self->state;
  if (auto subject = st.bus->subjects().mover_progress(st.opts.id, info.job))
    (void)st.bus->publish(*subject, exited_progress(info, bytes_total, bytes_skipped));
}

}  // namespace

void watch_mover(agent_self self, const mover_record& rec,
                 std::shared_ptr<vma::mover_process> mover) {
  auto& st = self->state;
  vma_process_args args;
  args.bus = st.bus;
  args.vma = st.opts.id;
  args.agent = caf::actor_cast<caf::actor>(self);
  args.job = rec.job;
  args.mover = std::move(mover);
  args.checkpoint = st.checkpoint_path(rec.checkpoint);
  args.stderr_log = st.log_path(rec.job);
  args.tick_interval = st.opts.tick_interval;
  args.progress_interval = st.opts.progress_interval;
  args.record = rec;
  args.movers_dir = st.movers_dir();
  args.lanes = st.lanes;
  args.watch = st.watch;
  auto child = self->spawn(vma_process, std::move(args));
  self->monitor(child);
  vma_agent_state::running_mover r;
  r.actor = child;
  r.info.job = rec.job;
  r.info.pid = rec.id.pid;
  r.info.state = msg::mover_state::running;
  r.record = rec;
  st.running[rec.job] = std::move(r);
  st.ended.erase(rec.job);
}

namespace {

/// What became of a recorded mover, found out on a lane: it reads /proc and the checkpoint,
/// and writes the record.
struct recovered {
  mover_record rec;
  std::shared_ptr<vma::mover_process> adopted;  ///< it still runs
  bool forget = false;                          ///< ended past the retention: record removed
  bool ended_now = false;                       ///< found ended: announce its `exited`
  std::uint64_t source_size = 0;                ///< from its checkpoint, for that progress
  std::uint64_t bytes_skipped = 0;
};

recovered look_for(mover_record rec, const std::filesystem::path& checkpoint,
                   const std::filesystem::path& movers_dir, std::chrono::milliseconds retention) {
  recovered out;
  if (rec.ended) {
    const auto age = std::chrono::milliseconds(unix_ms() - rec.ended->ended_at);
    if (age > retention) {
      if (auto r = remove_mover_record(movers_dir, rec.job); !r)
        spdlog::warn("{}", r.error().message);
      out.forget = true;
    }
    out.rec = std::move(rec);
    return out;
  }
  auto adopted = vma::mover_process::adopt(rec.id, checkpoint);
  if (adopted) {
    spdlog::info("job {}: mover {} re-adopted", rec.job, rec.id.pid);
    out.adopted = std::make_shared<vma::mover_process>(std::move(*adopted));
    out.rec = std::move(rec);
    return out;
  }
  const auto view = read_checkpoint_view(checkpoint);
  mover_end end;
  end.detail = (adopted.error().code == vma::errc::not_running
                    ? std::string("ended while no agent watched it (exit status unknown)")
                    : "cannot be adopted: " + adopted.error().message) +
               describe_checkpoint(view);
  end.completed = view.cp && view.cp->state == nbd::copy_state::completed;
  // A completed checkpoint is written only right before exit 0 (see vma_process).
  if (end.completed) end.exit_code = 0;
  end.bytes_done = view.cp ? view.cp->done.bytes() : 0;
  end.ended_at = unix_ms();
  spdlog::info("job {}: mover {} {}", rec.job, rec.id.pid, end.detail);
  rec.ended = end;
  if (auto w = write_mover_record(movers_dir, rec); !w) spdlog::warn("{}", w.error().message);
  out.rec = std::move(rec);
  out.ended_now = true;
  out.source_size = view.cp ? view.cp->source_size : 0;
  out.bytes_skipped = view.cp ? view.cp->bytes_skipped : 0;
  return out;
}

/// A persisted mover, at start or after its vma_process went away without a word: adopted
/// again if it still runs, else remembered as ended (from its checkpoint, the exit status being
/// lost) and announced with an `exited` progress.
void apply(agent_self self, recovered r) {
  auto& st = self->state;
  if (r.forget) return;
  if (r.adopted) {
    watch_mover(self, r.rec, std::move(r.adopted));
    return;
  }
  const auto& end = *r.rec.ended;
  vma_agent_state::ended_mover e;
  e.info.job = r.rec.job;
  e.info.pid = r.rec.id.pid;
  e.info.state = msg::mover_state::exited;
  e.info.bytes_done = end.bytes_done;
  e.info.exit_code = end.exit_code;
  e.info.detail = end.detail;
  e.completed = end.completed;
  e.ended_at = end.ended_at;
  st.ended[r.rec.job] = std::move(e);
  if (r.ended_now) publish_exited(self, st.ended[r.rec.job].info, r.source_size, r.bytes_skipped);
}

/// Looks for the movers of `records` on a lane (awaited), then applies what it found and
/// calls `then`.
void recover(agent_self self, std::vector<mover_record> records, std::function<void()> then = {}) {
  auto& st = self->state;
  await_blocking(
      self, *st.lanes, "movers",
      [records = std::move(records), movers_dir = st.movers_dir(),
       checkpoints = sub(st.opts, dv::checkpoints_subdir),
       retention = st.opts.ended_retention]() mutable {
        std::vector<recovered> found;
        for (auto& rec : records) {
          const auto checkpoint = checkpoints / (rec.checkpoint + ".json");  // checkpoint_path
          found.push_back(look_for(std::move(rec), checkpoint, movers_dir, retention));
        }
        return found;
      },
      [self, then = std::move(then)](std::vector<recovered> found) {
        for (auto& r : found) apply(self, std::move(r));
        if (then) then();
      });
}

/// Every running mover, and the newest ended ones up to `max_ended_reported`.
std::vector<msg::mover_info> movers(const vma_agent_state& st) {
  std::vector<msg::mover_info> out;
  for (const auto& [job, r] : st.running) out.push_back(r.info);
  std::vector<const vma_agent_state::ended_mover*> ended;
  for (const auto& [job, e] : st.ended) ended.push_back(&e);
  const auto shown = std::min(ended.size(), st.opts.max_ended_reported);
  std::partial_sort(ended.begin(), ended.begin() + static_cast<std::ptrdiff_t>(shown), ended.end(),
                    [](const auto* a, const auto* b) { return a->ended_at > b->ended_at; });
  for (std::size_t i = 0; i < shown; ++i) out.push_back(ended[i]->info);
  return out;
}

void on_status(agent_self self, const bus::envelope& e) {
  auto& st = self->state;
  if (auto req = msg::decode<msg::vma_status_request>(e.data); !req) {
    spdlog::warn("{}: dropped a malformed status request: {}", st.bus->from(), req.error().message);
    return;
  }
  if (e.reply.empty()) return;
  msg::vma_status status;
  status.vma = st.opts.id;
  status.movers = movers(st);
  describe_host(status);
  (void)st.bus->reply(e, std::move(status));
}

/// A stop for a job whose mover this agent does not supervise (any more).
void answer_not_running(agent_self self, const msg::stop_request& req) {
  auto& st = self->state;
  auto it = st.ended.find(req.job);
  if (it == st.ended.end()) {
    st.answers.confirm(*st.bus, req, msg::outcome::not_running,
                       "no mover for this job on agent " + st.opts.id);
    return;
  }
  if (it->second.answer && it->second.answer->stop_id == req.stop_id) {
    st.answers.repeat(*st.bus, *it->second.answer);
    return;
  }
  st.answers.confirm(*st.bus, req, msg::outcome::not_running,
                     "exited earlier: " + it->second.info.detail, it->second.completed);
}

void on_stop(agent_self self, const bus::envelope& e) {
  auto& st = self->state;
  auto req = st.answers.accept(e);
  if (!req || req->vma != st.opts.id) return;
  if (const auto* a = st.answers.answered(req->job, req->stop_id)) {
    st.answers.repeat(*st.bus, *a);
    return;
  }
  auto it = st.running.find(req->job);
  if (it == st.running.end()) return answer_not_running(self, *req);
  const auto child = it->second.actor;
  self->request(child, dv::forward_timeout, *req)
      .then([] {},
            [self, child, req = *req](caf::error& err) {
              // The vma_process ended before it took the stop; its exited message came
              // first, so what it reported is known now. Still listed as running, it went
              // down without a word: the down handler recovers it and the job actor re-sends.
              if (err == caf::sec::request_timeout) return;
              auto again = self->state.running.find(req.job);
              if (again != self->state.running.end() && again->second.actor == child) return;
              answer_not_running(self, req);
            });
}

void on_envelope(agent_self self, const bus::envelope& e) {
  auto& st = self->state;
  if (e.subject == st.start_subject) {
    // Two requests share the start subject: a probe of the source, then the start itself.
    auto any = msg::decode_any(e.data);
    if (const auto* probe = any ? std::get_if<msg::probe_source>(&*any) : nullptr)
      return on_probe(self, e, *probe);
    return on_start(self, e, any ? std::get_if<msg::start_mover>(&*any) : nullptr);
  }
  if (e.subject == st.status_subject) return on_status(self, e);
  on_stop(self, e);
}

/// Records a mover's end, then publishes its vma_process's last word: in this order, whoever
/// hears the confirmation or the `exited` progress and starts the job again finds it ended.
void on_exited(agent_self self, const caf::actor& child, msg::mover_info& info,
               msg::stop_confirm& answer, bool completed, const msg::progress& exited) {
  auto& st = self->state;
  const auto publish = [self, answer, exited] {
    auto& s = self->state;
    if (!answer.stop_id.empty())
      s.answers.repeat(*s.bus, answer);
    else if (auto subject = s.bus->subjects().mover_progress(s.opts.id, exited.job))
      (void)s.bus->publish(*subject, exited);
  };
  auto it = st.running.find(info.job);
  if (it == st.running.end() || it->second.actor != child) return publish();
  auto rec = std::move(it->second.record);
  st.running.erase(it);
  mover_end end;
  end.exit_code = info.exit_code;
  end.detail = info.detail;
  end.completed = completed;
  end.bytes_done = info.bytes_done;
  end.ended_at = unix_ms();
  rec.ended = end;
  vma_agent_state::ended_mover e;
  e.info = std::move(info);
  if (!answer.stop_id.empty()) e.answer = answer;
  e.completed = completed;
  e.ended_at = end.ended_at;
  // The exit status is known only to this agent: kept, it survives a restart. Not fsync'd (a
  // confirmation waits for it): should the machine go down, the mover's checkpoint still
  // tells how it ended, as for any mover whose end nobody saw.
  await_blocking(
      self, *st.lanes, rec.job,
      [movers_dir = st.movers_dir(), rec] {
        return write_mover_record(movers_dir, rec, sys::survives::process_crash);
      },
      [self, job = rec.job, e = std::move(e), publish](vma::result<> w) mutable {
        if (!w) spdlog::warn("{}", w.error().message);
        self->state.ended[job] = std::move(e);
        publish();
      });
}

/// Forgets the ended movers past their retention, record and all: a long-running agent that
/// ran thousands of movers lists only those of the last days.
void prune_ended(agent_self self) {
  auto& st = self->state;
  const auto now = unix_ms();
  for (auto it = st.ended.begin(); it != st.ended.end();) {
    if (std::chrono::milliseconds(now - it->second.ended_at) <= st.opts.ended_retention) {
      ++it;
      continue;
    }
    st.lanes->post(it->first, [movers_dir = st.movers_dir(), job = it->first] {
      if (auto r = remove_mover_record(movers_dir, job); !r) spdlog::warn("{}", r.error().message);
    });
    it = st.ended.erase(it);
  }
}

void on_down(agent_self self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto it = std::find_if(st.running.begin(), st.running.end(),
                         [&](const auto& kv) { return kv.second.actor.address() == dm.source; });
  if (it == st.running.end()) return;
  // It ended without reporting its mover's end (it failed): the mover may still run.
  spdlog::error("job {}: vma_process ended unexpectedly ({}); looking for its mover again",
                it->first, caf::to_string(dm.reason));
  std::vector<mover_record> rec{std::move(it->second.record)};
  st.running.erase(it);
  recover(self, std::move(rec));
}

/// Every mover it runs and those that ended, to the OMA: at the start, and after each
/// reconnect to the bus (the OMA then reconciles at once what it could not see meanwhile).
void say_hello(agent_self self) {
  auto& s = self->state;
  if (s.hello_subject.empty()) return;  // not ready yet: the first hello comes with readiness
  msg::hello h;
  h.vma = s.opts.id;
  h.movers = movers(s);
  describe_host(h);
  (void)s.bus->publish(s.hello_subject, std::move(h));
}

caf::error fail_start(const std::string& message) {
  spdlog::error("{}", message);
  return make_error(errc::internal, message);
}

}  // namespace

std::filesystem::path vma_agent_state::movers_dir() const { return sub(opts, dv::movers_subdir); }

std::filesystem::path vma_agent_state::checkpoint_path(const std::string& checkpoint) const {
  return sub(opts, dv::checkpoints_subdir) / (checkpoint + ".json");
}

std::filesystem::path vma_agent_state::log_path(const std::string& job) const {
  return sub(opts, dv::logs_subdir) / (job + ".log");
}

caf::behavior vma_agent(caf::stateful_actor<vma_agent_state>* self, vma_agent_options opts,
                        std::shared_ptr<bus::transport> transport) {
  auto& st = self->state;
  st.opts = std::move(opts);
  const auto from = "vma:" + st.opts.id;
  st.bus = std::make_shared<const bus_link>(std::move(transport), st.opts.prefix, from);
  const auto start = st.bus->subjects().vma_start(st.opts.id);
  const auto status = st.bus->subjects().vma_status(st.opts.id);
  const auto hello = st.bus->subjects().vma_hello(st.opts.id);
  const auto stops = st.bus->subjects().agent_mover_stops(st.opts.id);
  if (!start || !status || !hello || !stops) {
    self->quit(fail_start("vma agent: not a valid id: \"" + st.opts.id + "\""));
    return {};
  }
  st.start_subject = *start;
  st.status_subject = *status;
  st.answers.answer_for_agent(st.opts.id);
  for (auto folder : {dv::movers_subdir, dv::checkpoints_subdir, dv::logs_subdir}) {
    std::error_code ec;
    const auto dir = sub(st.opts, folder);
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      self->quit(fail_start("vma agent: create " + dir.string() + ": " + ec.message()));
      return {};
    }
    ::chmod(dir.c_str(), 0700);  // pids, logs and checkpoints are the agent's own
  }

  st.lanes = std::make_shared<blocking_lanes>(self->home_system(), defaults::blocking::store_lanes);
  if (auto w = sys::fd_watch::make())
    st.watch = std::move(*w);
  else
    spdlog::warn("vma {}: {}; movers' lines and ends are seen at the next tick", st.opts.id,
                 w.error().message);
  // Movers first, so that the hello and the first answers know them. Read and looked for on
  // a lane, awaited: nothing else is handled before the agent is ready.
  await_blocking(
      self, *st.lanes, "movers",
      [movers_dir = st.movers_dir()] { return read_mover_records(movers_dir); },
      [self, start = *start, status = *status, hello = *hello, stops = *stops,
       from](vma::result<std::vector<mover_record>> records) {
        if (!records) {
          self->quit(fail_start("vma agent: " + records.error().message));
          return;
        }
        recover(self, std::move(*records), [self, start, status, hello, stops, from] {
          auto& s = self->state;
          const auto me = caf::actor_cast<caf::actor>(self);
          for (const auto& pattern : {start, status, stops}) {
            auto subscribed = bus::subscribe_actor(s.bus->transport(), pattern, me);
            if (!subscribed) {
              self->quit(fail_start("vma agent: subscribe " + pattern + ": " +
                                    subscribed.error().message));
              return;
            }
            s.subs.push_back(std::move(*subscribed));
          }
          s.hello_subject = hello;
          say_hello(self);
          spdlog::info("{}: ready, {} mover(s) running, {} ended", from, s.running.size(),
                       s.ended.size());
        });
      });

  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  self->delayed_send(self, st.opts.ended_prune_interval, tick_atom::value);
  return {
      [self](tick_atom) {
        prune_ended(self);
        self->delayed_send(self, self->state.opts.ended_prune_interval, tick_atom::value);
      },
      [self](const bus::envelope& e) { on_envelope(self, e); },
      [self](hello_atom) {
        self->delayed_send(self, dv::hello_after_reconnect, hello_atom::value, true);
      },
      [self](hello_atom, bool) { say_hello(self); },
      [self](const msg::progress& p) {
        auto it = self->state.running.find(p.job);
        if (it != self->state.running.end() &&
            it->second.actor == caf::actor_cast<caf::actor>(self->current_sender()))
          it->second.info.bytes_done = p.bytes_done;
      },
      [self](exited_atom, msg::mover_info& info, msg::stop_confirm& answer, bool completed,
             const msg::progress& exited) {
        on_exited(self, caf::actor_cast<caf::actor>(self->current_sender()), info, answer,
                  completed, exited);
      },
      [self](shutdown_atom) {
        // Requests stop first; then the vma_process actors let their movers run on.
        self->state.subs.clear();
        for (auto& [job, r] : self->state.running) self->send(r.actor, shutdown_atom::value);
        spdlog::info("{}: shut down; {} mover(s) left running for the next agent",
                     self->state.bus->from(), self->state.running.size());
        self->quit();
      },
  };
}

}  // namespace mk::actors
