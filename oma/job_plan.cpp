// A stop's dry run (POST /replications/{id}/stop?dry_run=true): the stop checked as a real one
// would be, and what each participant would do, read from the job's record. Nothing changes.
#include "messages/job_states.hpp"
#include "models/ids.hpp"
#include "oma/job_actor_state.hpp"

namespace mk::actors::job_detail {

using msg::job_state;
caf::result<stop_plan> plan_stop(job_actor* self, const msg::stop_request& req) {
  const auto& st = self->state;
  const auto& job = st.job;
  // A stop in progress is what a repeated request would get: plan from its options.
  const bool in_progress = job.state == job_state::stopping && job.stop;
  if (!in_progress)
    if (auto err = stop_refusal(job, req)) return err;
  auto mode = in_progress ? job.stop->mode : req.mode;
  if (in_progress && req.mode == msg::stop_mode::force)
    mode = msg::stop_mode::force;  // a force request escalates the stop in progress
  const auto volumes = in_progress ? job.stop->volumes : req.volumes;
  const auto grace_s =
      std::chrono::ceil<std::chrono::seconds>(
          (in_progress ? job.stop->grace_seconds : req.grace_seconds) > 0
              ? std::chrono::seconds(in_progress ? job.stop->grace_seconds : req.grace_seconds)
              : std::chrono::duration_cast<std::chrono::seconds>(st.deps.timing.grace))
          .count();
  const bool keep = volumes == msg::volume_action::keep;
  const bool mover = job.mover_pid > 0 && msg::may_run_mover(job.state);

  stop_plan plan;
  plan.job = job.id;
  plan.state = job.state;
  if (in_progress) plan.stop_in_progress = job.stop->id;
  plan.final_state = keep ? job_state::stopped : job_state::cancelled;
  plan.may_complete_first = mover;
  plan.mode = mode;
  plan.volumes = volumes;
  plan.grace_seconds = static_cast<std::uint64_t>(grace_s);
  auto& vp = plan.vma_process;
  if (!mover) {
    vp.action = "no mover runs: reported not_running";
  } else if (mode == msg::stop_mode::force) {
    vp = {"SIGKILL to the mover at once", job.mover_pid, "SIGKILL", ""};
  } else {
    vp = {"SIGTERM to the mover: it drains its requests in flight and writes its checkpoint",
          job.mover_pid, "SIGTERM", "SIGKILL after " + std::to_string(grace_s) + " s"};
  }
  plan.volume = {volumes, job.volume_id,
                 keep ? "flushed, detached and marked partial with checkpoint " +
                            checkpoint_ref(job.vma, job.id)
                      : "detached and removed, once no mover runs"};
  plan.bytes_kept = keep ? job.progress.bytes_done : 0;
  const auto total = job.progress.bytes_total ? job.progress.bytes_total : job.size;
  if (keep && total >= plan.bytes_kept) plan.bytes_to_copy_on_resume = total - plan.bytes_kept;
  return plan;
}

}  // namespace mk::actors::job_detail
