#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mk::msg {

/// Ids of jobs, agents, stops and schedules: `^[a-z0-9][a-z0-9-]{0,62}$` (docs/api.md).
/// Nothing else may become part of a subject or a file name.
bool valid_id(std::string_view id);

/// The subject prefix: one token, `^[a-z0-9][a-z0-9_-]{0,31}$`, as it also names buckets
/// (`<prefix>_jobs`) and the log stream, where dots are not allowed.
bool valid_prefix(std::string_view prefix);

/// The subjects of docs/bus.md under a configurable prefix ("mk"). A function that takes
/// an id answers nothing for an invalid one, so a bad id can never reach the bus.
class subjects {
 public:
  explicit subjects(std::string prefix);

  std::optional<std::string> job_stop(std::string_view job) const;
  std::optional<std::string> job_stopped(std::string_view job) const;
  std::optional<std::string> job_state(std::string_view job) const;
  /// A job's mover, under its agent's own subjects (`<prefix>.vma.<vma>.job.<job>.`), so that
  /// nats-server lets only that agent speak for it: the stop the mover is asked, its answer,
  /// its progress.
  std::optional<std::string> mover_stop(std::string_view vma, std::string_view job) const;
  std::optional<std::string> mover_stopped(std::string_view vma, std::string_view job) const;
  std::optional<std::string> mover_progress(std::string_view vma, std::string_view job) const;
  std::optional<std::string> vma_start(std::string_view vma) const;
  std::optional<std::string> vma_status(std::string_view vma) const;
  std::optional<std::string> vma_hello(std::string_view vma) const;
  std::string maintenance() const;
  std::string control_stop() const;
  std::string control_replicate() const;
  std::string control_resume() const;

  /// Wildcards for subscribers: every job's stop requests (to the OMA's participants), stop
  /// confirmations (from them), states; every hello; every mover's answer and progress, of
  /// any agent; the stops of one agent's movers.
  std::string all_stops() const;
  std::string all_stopped() const;
  std::string all_states() const;
  std::string all_hellos() const;
  std::string all_movers_stopped() const;
  std::string all_movers_progress() const;
  std::optional<std::string> agent_mover_stops(std::string_view vma) const;

  /// The agent whose subjects `subject` is under (`<prefix>.vma.<vma>.`), if it is one.
  std::optional<std::string> agent_of(std::string_view subject) const;

  const std::string& prefix() const { return prefix_; }

 private:
  std::optional<std::string> job(std::string_view id, std::string_view what) const;
  std::optional<std::string> vma(std::string_view id, std::string_view what) const;
  std::optional<std::string> mover(std::string_view vma, std::string_view job,
                                   std::string_view what) const;

  std::string prefix_;
};

}  // namespace mk::msg
