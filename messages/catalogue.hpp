#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "messages/enums.hpp"
#include "messages/field.hpp"

/// The one catalogue of the messages on the bus (docs/bus.md). On the wire each is one
/// MessagePack map with string keys: `v`, `type`, `id`, `ts`, `from` (the header below), then the
/// body's fields, named as in the REST JSON. Empty strings and zero numbers in optional fields
/// mean "not given".
namespace mk::msg {

/// Every message carries these; `v` and `type` are written by the codec.
struct header {
  std::string id;       ///< message id, unique per sender
  std::int64_t ts = 0;  ///< unix milliseconds
  std::string from;     ///< sender: "oma", "vma:local", "ctl", ...
};

/// mk.job.<job>.stop (job actor to participants) and mk.control.stop (outside to the OMA).
struct stop_request {
  static constexpr std::string_view type = "stop";
  static constexpr std::string_view caf_name = "mk_stop_request";
  header hdr;
  std::string job;
  std::string stop_id;  ///< empty on mk.control.stop: the job actor assigns it
  stop_mode mode = stop_mode::graceful;
  volume_action volumes = volume_action::keep;
  stop_reason reason = stop_reason::user;
  std::string comment;
  std::uint32_t grace_seconds = 0;  ///< 0: the default grace period
  /// The participant asked (a name of `participant`): the job actor addresses each one, since
  /// the volume may act only in the second phase. Empty on mk.control.stop.
  std::string to;
  std::string vma;  ///< the job's agent, so that exactly one agent answers for its mover
  static auto fields(auto& x) {
    return std::tuple{req("job", x.job),
                      opt("stop_id", x.stop_id),
                      opt("mode", x.mode),
                      opt("volumes", x.volumes),
                      opt("reason", x.reason),
                      opt("comment", x.comment),
                      opt("grace_seconds", x.grace_seconds),
                      opt("to", x.to),
                      opt("vma", x.vma)};
  }
};

/// mk.job.<job>.stopped: a participant's confirmation.
struct stop_confirm {
  static constexpr std::string_view type = "stopped";
  static constexpr std::string_view caf_name = "mk_stop_confirm";
  header hdr;
  std::string job;
  std::string stop_id;
  participant who = participant::scheduler;
  outcome result = outcome::ok;
  std::string detail;
  /// From the vma_process: the mover had finished the whole copy (exit 0) before the stop
  /// reached it, so the stop settles as `completed`.
  bool completed = false;
  static auto fields(auto& x) {
    return std::tuple{req("job", x.job),         req("stop_id", x.stop_id),
                      req("participant", x.who), req("outcome", x.result),
                      opt("detail", x.detail),   opt("completed", x.completed)};
  }
};

/// mk.job.<job>.progress: the mover's progress, relayed by its VMA agent.
struct progress {
  static constexpr std::string_view type = "progress";
  static constexpr std::string_view caf_name = "mk_progress";
  header hdr;
  std::string job;
  progress_state state = progress_state::copying;
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
  std::uint64_t bytes_skipped = 0;
  std::uint64_t rate_bps = 0;
  std::int64_t exit_code = -1;  ///< with `exited`: the exit status; -1 killed or unknown
  std::string detail;           ///< with `exited`: "exit 1: <the mover's error>", ...
  static auto fields(auto& x) {
    return std::tuple{req("job", x.job),
                      opt("state", x.state),
                      req("bytes_done", x.bytes_done),
                      req("bytes_total", x.bytes_total),
                      opt("bytes_skipped", x.bytes_skipped),
                      opt("rate_bps", x.rate_bps),
                      opt("exit_code", x.exit_code),
                      opt("detail", x.detail)};
  }
};

/// mk.job.<job>.state: a job's state changed.
struct job_state_changed {
  static constexpr std::string_view type = "state";
  static constexpr std::string_view caf_name = "mk_job_state";
  header hdr;
  std::string job;
  job_state state = job_state::queued;
  std::string stop_id;
  std::string error;
  static auto fields(auto& x) {
    return std::tuple{req("job", x.job), req("state", x.state), opt("stop_id", x.stop_id),
                      opt("error", x.error)};
  }
};

/// mk.vma.<vma>.start (request): run a mover for a job.
struct start_mover {
  static constexpr std::string_view type = "start";
  static constexpr std::string_view caf_name = "mk_start_mover";
  header hdr;
  std::string job;
  std::string source;
  std::string target;
  std::string checkpoint;
  bool resume = false;
  static auto fields(auto& x) {
    return std::tuple{req("job", x.job), req("source", x.source), req("target", x.target),
                      req("checkpoint", x.checkpoint), opt("resume", x.resume)};
  }
};

/// The reply to start_mover.
struct start_mover_reply {
  static constexpr std::string_view type = "started";
  static constexpr std::string_view caf_name = "mk_start_mover_reply";
  header hdr;
  std::string job;
  bool ok = false;
  std::int64_t pid = 0;
  std::string error;
  /// This request started the mover (false: it ran already, the answer to a repeated request).
  bool launched = false;
  /// With `launched`: the bytes the run takes from its checkpoint, 0 when it starts afresh.
  std::uint64_t checkpoint_bytes = 0;
  static auto fields(auto& x) {
    return std::tuple{req("job", x.job),           req("ok", x.ok),
                      opt("pid", x.pid),           opt("error", x.error),
                      opt("launched", x.launched), opt("checkpoint_bytes", x.checkpoint_bytes)};
  }
};

/// mk.vma.<vma>.start (request), before the job's volume is made: the size of the source as
/// the agent that will read it sees it. The OMA never opens a source itself (docs/bus.md).
struct probe_source {
  static constexpr std::string_view type = "probe";
  static constexpr std::string_view caf_name = "mk_probe_source";
  header hdr;
  std::string job;
  std::string source;
  static auto fields(auto& x) { return std::tuple{req("job", x.job), req("source", x.source)}; }
};

/// The reply to probe_source: the source's size in bytes, or why it cannot be read.
struct probe_reply {
  static constexpr std::string_view type = "probed";
  static constexpr std::string_view caf_name = "mk_probe_reply";
  header hdr;
  std::string job;
  bool ok = false;
  std::uint64_t size = 0;
  std::string error;
  static auto fields(auto& x) {
    return std::tuple{req("job", x.job), req("ok", x.ok), opt("size", x.size),
                      opt("error", x.error)};
  }
};

/// One mover as its agent sees it.
struct mover_info {
  static constexpr std::string_view caf_name = "mk_mover_info";
  std::string job;
  std::int64_t pid = 0;
  mover_state state = mover_state::running;
  std::uint64_t bytes_done = 0;
  std::int64_t exit_code = -1;  ///< once exited: its status; -1 killed or unknown
  std::string detail;
  static auto fields(auto& x) {
    return std::tuple{req("job", x.job),
                      req("pid", x.pid),
                      opt("state", x.state),
                      opt("bytes_done", x.bytes_done),
                      opt("exit_code", x.exit_code),
                      opt("detail", x.detail)};
  }
};

/// mk.vma.<vma>.status (request): which movers do you run?
struct vma_status_request {
  static constexpr std::string_view type = "status";
  static constexpr std::string_view caf_name = "mk_vma_status_request";
  header hdr;
  static auto fields(auto&) { return std::tuple{}; }
};

/// An agent's account of the movers it runs; the body of two messages below. `host` and
/// `version` say where it runs and what it is (GET /agents shows them); older agents leave
/// them out.
struct agent_report {
  header hdr;
  std::string vma;
  std::vector<mover_info> movers;
  std::string host;
  std::string version;
  static auto fields(auto& x) {
    return std::tuple{req("vma", x.vma), req("movers", x.movers), opt("host", x.host),
                      opt("version", x.version)};
  }
};

/// The reply to vma_status_request.
struct vma_status : agent_report {
  static constexpr std::string_view type = "status_reply";
  static constexpr std::string_view caf_name = "mk_vma_status";
};

/// mk.vma.<vma>.hello: an agent (re)connected; the OMA reconciles its movers.
struct hello : agent_report {
  static constexpr std::string_view type = "hello";
  static constexpr std::string_view caf_name = "mk_hello";
};

/// mk.maintenance: maintenance mode switched (docs/operations.md).
struct maintenance {
  static constexpr std::string_view type = "maintenance";
  static constexpr std::string_view caf_name = "mk_maintenance";
  header hdr;
  bool enabled = false;
  std::string reason;
  std::string scope = "all";  ///< "all" or "vma:ID"
  bool resume_after = false;
  std::uint32_t max_parallel = 0;  ///< 0: the default
  static auto fields(auto& x) {
    return std::tuple{req("enabled", x.enabled), opt("reason", x.reason), opt("scope", x.scope),
                      opt("resume_after", x.resume_after), opt("max_parallel", x.max_parallel)};
  }
};

/// mk.control.replicate (request, from ctl or the API): a new replication job.
struct replicate_request {
  static constexpr std::string_view type = "replicate";
  static constexpr std::string_view caf_name = "mk_replicate_request";
  header hdr;
  std::string name;
  std::string source;
  std::string vma;
  static auto fields(auto& x) {
    return std::tuple{req("name", x.name), req("source", x.source), req("vma", x.vma)};
  }
};

/// mk.control.resume (request): a stopped or failed job goes back to `queued`.
struct resume_request {
  static constexpr std::string_view type = "resume";
  static constexpr std::string_view caf_name = "mk_resume_request";
  header hdr;
  std::string job;
  static auto fields(auto& x) { return std::tuple{req("job", x.job)}; }
};

/// The reply to a control request: the job and its state, or an error with the code that the
/// REST API uses (`invalid`, `not_found`, `conflict`, `unavailable`, `internal`).
struct control_reply {
  static constexpr std::string_view type = "control_reply";
  static constexpr std::string_view caf_name = "mk_control_reply";
  header hdr;
  bool ok = false;
  std::string job;
  std::string state;
  std::string stop_id;
  std::string code;
  std::string error;
  static auto fields(auto& x) {
    return std::tuple{req("ok", x.ok),           opt("job", x.job),   opt("state", x.state),
                      opt("stop_id", x.stop_id), opt("code", x.code), opt("error", x.error)};
  }
};

/// Any message of the catalogue, as decode_any() returns it.
using any_message =
    std::variant<stop_request, stop_confirm, progress, job_state_changed, start_mover,
                 start_mover_reply, probe_source, probe_reply, vma_status_request, vma_status,
                 hello, maintenance, replicate_request, resume_request, control_reply>;

}  // namespace mk::msg
