#pragma once

#include <string>
#include <string_view>

/// The ids the control plane makes (docs/api.md: `^[a-z0-9][a-z0-9-]{0,62}$`), and the one
/// rule that ties a job to its volume, so that every actor finds a job's volume without asking.
namespace mk::actors {

/// "r-" and 8 random hex digits.
std::string new_job_id();
/// "s-" and 8 random hex digits.
std::string new_stop_id();
/// "m-" and 8 random hex digits: one maintenance, from on to off.
std::string new_maintenance_id();
/// "sc-" and 8 random hex digits: one schedule.
std::string new_schedule_id();
/// The volume of job "r-XXXX" is "v-XXXX"; any other valid job id gets "v-" in front, cut to
/// 63 characters.
std::string volume_id_for(std::string_view job);
/// The reference a kept volume records for its mover's checkpoint: "vma:<vma>/<job>" (the
/// checkpoint file itself lives on that agent, under its data folder).
std::string checkpoint_ref(std::string_view vma, std::string_view job);

}  // namespace mk::actors
