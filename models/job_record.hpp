#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "config/expected.hpp"
#include "messages/enums.hpp"

namespace mk::actors {

/// A stop as the job keeps it: what was asked, by whom, and each participant's answer.
struct stop_record {
  std::string id;
  msg::stop_mode mode = msg::stop_mode::graceful;
  msg::volume_action volumes = msg::volume_action::keep;
  msg::stop_reason reason = msg::stop_reason::user;
  std::string comment;
  std::uint32_t grace_seconds = 0;  ///< 0: the default
  std::string requested_by;         ///< the `from` of the request: "api", "ctl", "oma", ...
  std::int64_t requested_at = 0;    ///< unix ms
  std::int64_t settled_at = 0;      ///< unix ms; 0 while in progress
  /// Per participant (msg::participant order): the outcome, nothing while pending.
  std::array<std::optional<msg::outcome>, 4> outcomes{};
  std::array<std::string, 4> details{};
};

/// The progress a job last reported.
struct progress_record {
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
  std::uint64_t bytes_skipped = 0;
  std::uint64_t rate_bps = 0;
  std::int64_t updated_at = 0;  ///< unix ms; 0 before the first report
};

/// One replication job: what the store keeps under its id, and what the REST API shows
/// (docs/api.md's job object, plus the few fields the control plane needs to carry on after a
/// restart).
struct job_record {
  std::string id;
  std::string name;
  std::string source;
  std::string vma;
  msg::job_state state = msg::job_state::queued;
  std::string error;         ///< empty: none
  std::string volume_id;     ///< volume_id_for(id)
  std::string target;        ///< where the mover writes while attached (the volume's NBD URI)
  std::uint64_t size = 0;    ///< the source's, once the volume exists
  bool volume_kept = false;  ///< a volume with the partial copy exists (stopped or failed)
  bool stalled = false;
  /// The job failed while its mover's end could not be confirmed (its agent was out of
  /// reach): the mover may still write, so the volume is neither kept nor touched until the
  /// agent is heard from again running no mover for the job.
  bool mover_unconfirmed = false;
  std::int64_t mover_pid = 0;
  std::uint32_t runs = 0;  ///< movers started so far: the first run and each resume
  /// A DELETE asked for the record to go once the job is cancelled.
  bool delete_requested = false;
  /// progress.bytes_done when the job was last resumed, until its new run reports progress:
  /// then the bytes the run copies again are logged (`resumed_from_checkpoint`). Stored, so
  /// that an OMA restart in between does not lose them.
  std::optional<std::uint64_t> bytes_done_at_resume;
  progress_record progress;
  std::optional<stop_record> stop;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;

  /// Whether a resume may continue the copy: stopped or failed, with the volume kept.
  bool resumable() const;
};

/// Whether the job state machine moves from `from` to `to`: the table of docs/states.md
/// ("Transitions"), in one place. The job actor makes every change of state through it.
/// `replicating` to itself is a mover adopted again with another pid.
bool transition_allowed(msg::job_state from, msg::job_state to);

/// RFC 3339 in UTC with milliseconds, as the API shows times (sys::format_rfc3339); "" for 0.
std::string rfc3339(std::int64_t unix_ms);
/// Unix milliseconds of an RFC 3339 time (any offset, any fraction, down to the millisecond);
/// nullopt if it is not one. sys::parse_rfc3339, for callers that need no reason.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

/// The job object (docs/api.md). `volume` is the volume's own JSON when known.
nlohmann::json to_json(const job_record& job, const nlohmann::json& volume = nullptr);

/// One JobLog entry for `job` as it is now: when (`ts`), what (`event`), which actor, the
/// job's state and stop id, and the step's details.
nlohmann::json journal_entry(const job_record& job, std::string_view event, std::string_view actor,
                             nlohmann::json detail);

/// Reads what to_json wrote (the store's bytes); names the field that is wrong.
expected<job_record, std::string> job_from_json(std::string_view text);

}  // namespace mk::actors
