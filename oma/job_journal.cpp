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

}  // namespace

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
  observe(self);
  return caf::none;
}

void on_retry(job_actor* self) {
  auto& st = self->state;
  st.retry_armed = false;
  if (st.removal_pending) {
    remove_record(self, "");
    return;
  }
  if (st.record_dirty) (void)persist(self);
  flush_log(self);
}

void observe(job_actor* self) {
  if (auto& o = self->state.deps.observer) o->job_changed(to_json(self->state.job));
}

void remove_record(job_actor* self, std::string_view why) {
  auto& st = self->state;
  if (!st.removal_pending) {
    st.removal_pending = true;
    log(self, "deleted", {{"why", why}, {"volume", st.job.volume_kept ? "kept" : "deleted"}});
  }
  flush_log(self);
  if (auto r = st.deps.store->erase(st.job.id); !r && r.error().code != bus::errc::not_found) {
    spdlog::error("job {}: the record was not removed (tried again in a second): {}", st.job.id,
                  r.error().message);
    arm_retry(self);
    return;
  }
  if (!st.unwritten_log.empty()) return;  // the retry already armed by flush_log comes back here
  if (auto& o = st.deps.observer) o->job_removed(st.job.id);
  spdlog::info("job {}: removed", st.job.id);
  self->quit();
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

std::string reply_json(job_actor* self) { return to_json(self->state.job).dump(); }

namespace {

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

}  // namespace

}  // namespace mk::actors::job_detail
