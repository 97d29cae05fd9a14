// The job actor's writes: its record in the store, its JobLog, its state on the bus; and the
// retries of those that failed while the store was away.
#include <spdlog/spdlog.h>

#include "actors/atoms.hpp"
#include "actors/errors.hpp"
#include "oma/job_actor_state.hpp"

namespace mk::actors::job_detail {

using nlohmann::json;

namespace {

void arm_retry(job_actor* self) {
  auto& st = self->state;
  if (st.retry_armed) return;
  st.retry_armed = true;
  self->delayed_send(self, defaults::jobs::store_retry, retry_atom::value);
}

void flush_log(job_actor* self);
void finish_removal(job_actor* self);

/// The write itself, on a store lane. The job actor is its record's only writer, so a
/// conflict can only be its own write that succeeded on the server while the answer was
/// lost: then the latest revision is taken and the write made again.
bus::result<std::uint64_t> write_record(job_store& store, const std::string& id,
                                        const std::string& text, std::uint64_t revision) {
  auto r = store.update(id, text, revision);
  if (!r && r.error().code == bus::errc::conflict) {
    if (auto latest = store.load(id)) r = store.update(id, text, latest->revision);
  }
  return r;
}

}  // namespace

/// Writes the record on the job's store lane and awaits it. A failure leaves the record as it
/// was, and the write is tried again every second; `then` hears it and must not report the
/// step as done.
void persist(job_actor* self, std::function<void(caf::error)> then) {
  auto& st = self->state;
  st.job.updated_at = unix_ms();
  await_blocking(
      self, *st.deps.store_lanes, st.job.id,
      [store = st.deps.store, id = st.job.id, text = to_json(st.job).dump(),
       revision = st.revision] { return write_record(*store, id, text, revision); },
      [self, then = std::move(then)](bus::result<std::uint64_t> r) {
        auto& js = self->state;
        caf::error err;
        if (!r) {
          spdlog::error("job {}: the record was not written (tried again in a second): {}",
                        js.job.id, r.error().message);
          js.record_dirty = true;
          arm_retry(self);
          err = make_error(errc::internal, "job " + js.job.id + ": store: " + r.error().message);
        } else {
          js.revision = *r;
          js.record_dirty = false;
          observe(self);
        }
        if (then) then(std::move(err));
      });
}

bool move_to(job_actor* self, msg::job_state to) {
  auto& job = self->state.job;
  if (!transition_allowed(job.state, to)) {
    spdlog::error("job {}: {} -> {} is not a transition of the job's state machine; not made",
                  job.id, msg::name_of(job.state), msg::name_of(to));
    return false;
  }
  job.state = to;
  return true;
}

void on_retry(job_actor* self) {
  auto& st = self->state;
  st.retry_armed = false;
  if (st.record_dirty && st.removal == removal_step::none) persist(self);
  flush_log(self);
  if (st.removal != removal_step::none) finish_removal(self);
}

void observe(job_actor* self) {
  if (auto& o = self->state.deps.observer) o->job_changed(self->state.job);
}

void remove_record(job_actor* self, std::string_view why, std::function<void()> removed) {
  auto& st = self->state;
  if (removed) st.on_removed = std::move(removed);
  if (st.removal != removal_step::none) return;
  st.removal = removal_step::flushing;
  log(self, "deleted", {{"why", why}, {"volume", st.job.volume_kept ? "kept" : "deleted"}});
  finish_removal(self);
}

/// One JobLog entry: when, what, which actor, and the details of the step.
void log(job_actor* self, std::string_view event, json detail, std::string_view actor) {
  auto& st = self->state;
  const auto entry = journal_entry(st.job, event, actor, std::move(detail));
  st.unwritten_log.push_back(entry.dump());
  // Told now: an entry that waits for the store is written once it is back, in order.
  if (auto& o = st.deps.observer) o->job_logged(entry);
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

namespace {

/// Appends the JobLog entries not yet written, oldest first, in one task on the job's store
/// lane; stops at the first failure (the rest waits for the retry). One batch at a time.
void flush_log(job_actor* self) {
  auto& st = self->state;
  if (st.log_in_flight || st.unwritten_log.empty()) return;
  st.log_in_flight = true;
  std::vector<std::string> batch(st.unwritten_log.begin(), st.unwritten_log.end());
  struct outcome {
    std::size_t written = 0;
    std::string error;
  };
  await_blocking(
      self, *st.deps.store_lanes, st.job.id,
      [store = st.deps.store, id = st.job.id, batch = std::move(batch)] {
        outcome out;
        for (const auto& entry : batch) {
          if (auto r = store->append_log(id, entry); !r) {
            out.error = r.error().message;
            break;
          }
          ++out.written;
        }
        return out;
      },
      [self](outcome out) {
        auto& js = self->state;
        js.log_in_flight = false;
        js.unwritten_log.erase(js.unwritten_log.begin(),
                               js.unwritten_log.begin() + static_cast<std::ptrdiff_t>(out.written));
        if (!out.error.empty()) {
          spdlog::warn("job {}: {} JobLog entries wait for the store: {}", js.job.id,
                       js.unwritten_log.size(), out.error);
          arm_retry(self);
          return;
        }
        if (!js.unwritten_log.empty())
          flush_log(self);  // logged while the batch was written
        else if (js.removal != removal_step::none)
          finish_removal(self);
      });
}

/// A removal ends once the JobLog is written and the record erased; the actor then ends.
void finish_removal(job_actor* self) {
  auto& st = self->state;
  if (st.log_in_flight || !st.unwritten_log.empty() || st.removal != removal_step::flushing) return;
  st.removal = removal_step::erasing;
  await_blocking(
      self, *st.deps.store_lanes, st.job.id,
      [store = st.deps.store, id = st.job.id] { return store->erase(id); },
      [self](bus::result<> r) {
        auto& js = self->state;
        if (!r && r.error().code != bus::errc::not_found) {
          js.removal = removal_step::flushing;
          spdlog::error("job {}: the record was not removed (tried again in a second): {}",
                        js.job.id, r.error().message);
          arm_retry(self);
          return;
        }
        if (auto& o = js.deps.observer) o->job_removed(js.job.id);
        spdlog::info("job {}: removed", js.job.id);
        if (js.on_removed) js.on_removed();
        self->quit();
      });
}

}  // namespace

}  // namespace mk::actors::job_detail
