// A stop's dry run (POST /replications/{id}/stop?dry_run=true): the stop checked as a real one
// would be, and what each participant would do, read from the job's record. Nothing changes.
#include "messages/job_states.hpp"
#include "models/ids.hpp"
#include "oma/job_actor_state.hpp"

namespace mk::actors::job_detail {

using msg::job_state;
using nlohmann::json;

caf::result<std::string> plan_stop(job_actor* self, const msg::stop_request& req) {
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

  json vma_process;
  if (!mover) {
    vma_process = {{"action", "no mover runs: reported not_running"},
                   {"pid", nullptr},
                   {"signal", nullptr},
                   {"then", nullptr}};
  } else if (mode == msg::stop_mode::force) {
    vma_process = {{"action", "SIGKILL to the mover at once"},
                   {"pid", job.mover_pid},
                   {"signal", "SIGKILL"},
                   {"then", nullptr}};
  } else {
    vma_process = {{"action",
                    "SIGTERM to the mover: it drains its requests in flight and "
                    "writes its checkpoint"},
                   {"pid", job.mover_pid},
                   {"signal", "SIGTERM"},
                   {"then", "SIGKILL after " + std::to_string(grace_s) + " s"}};
  }
  json volume = {{"action", keep ? "keep" : "delete"},
                 {"id", job.volume_id},
                 {"detail", keep ? "flushed, detached and marked partial with checkpoint " +
                                       checkpoint_ref(job.vma, job.id)
                                 : "detached and removed, once no mover runs"}};
  const auto kept = keep ? job.progress.bytes_done : 0;
  const auto total = job.progress.bytes_total ? job.progress.bytes_total : job.size;
  json plan = {
      {"job", job.id},
      {"state", std::string(msg::name_of(job.state))},
      {"stop_in_progress", in_progress ? json(job.stop->id) : json(nullptr)},
      {"final_state", keep ? "stopped" : "cancelled"},
      {"final_state_if_copy_finishes_first", mover ? json("completed") : json(nullptr)},
      {"mode", std::string(msg::name_of(mode))},
      {"volumes", std::string(msg::name_of(volumes))},
      {"grace_seconds", grace_s},
      {"participants",
       {{"scheduler", {{"action", "drops the job's pending triggers"}}},
        {"poller", {{"action", "takes a final progress snapshot and stops polling"}}},
        {"vma_process", vma_process},
        {"volume", volume}}},
      {"bytes_kept", kept},
      {"bytes_to_copy_on_resume", keep && total >= kept ? json(total - kept) : json(nullptr)}};
  return plan.dump();
}

}  // namespace mk::actors::job_detail
