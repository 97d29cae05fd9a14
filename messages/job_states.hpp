#pragma once

// The sets of job states that the product reasons with (docs/states.md, "Sets of states"),
// defined once, beside the states themselves.

#include <string>
#include <vector>

#include "messages/enums.hpp"

namespace mk::msg {

/// What maintenance mode, a replication window, a batch stop without `state` and `up`'s
/// shutdown stop act on.
constexpr bool is_active(job_state s) {
  return s == job_state::queued || s == job_state::starting || s == job_state::replicating;
}

/// Where a mover may be running (its volume is attached).
constexpr bool may_run_mover(job_state s) {
  return s == job_state::starting || s == job_state::replicating || s == job_state::stopping;
}

/// Where a resume may continue the copy, if the volume was kept.
constexpr bool may_resume(job_state s) { return s == job_state::stopped || s == job_state::failed; }

/// The end of a stop.
constexpr bool is_settled(job_state s) {
  return s == job_state::stopped || s == job_state::failed || s == job_state::completed ||
         s == job_state::cancelled;
}

/// Nothing leaves them.
constexpr bool is_final(job_state s) {
  return s == job_state::completed || s == job_state::cancelled;
}

/// The same sets for a state as the API shows it (a name); false for what is no state.
inline bool in_set(bool (*set)(job_state), std::string_view name) {
  const auto s = parse_enum<job_state>(name);
  return s && set(*s);
}

/// The names of the states in a set, in the order of job_state.
inline std::vector<std::string> names_where(bool (*set)(job_state)) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < enum_names<job_state>::names.size(); ++i)
    if (set(static_cast<job_state>(i))) out.emplace_back(enum_names<job_state>::names[i]);
  return out;
}

}  // namespace mk::msg
