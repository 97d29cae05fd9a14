// The start subject of an agent (mk.vma.<id>.start): a probe of a source's size and a start
// of a mover, each checked first, then done on a lane (they connect, fork and fsync); the
// agent actor (vma_agent.cpp) hands them over.
#include "agent/start_requests.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <caf/all.hpp>

#include "agent/mover/mover_process.hpp"
#include "messages/caf_types.hpp"
#include "nbd/endpoint.hpp"

namespace mk::actors {

namespace {

bool is_nbd_uri(std::string_view s) {
  constexpr std::array<std::string_view, 6> schemes = {
      "nbd://", "nbds://", "nbd+unix://", "nbds+unix://", "nbd+vsock://", "nbds+vsock://"};
  return std::any_of(schemes.begin(), schemes.end(),
                     [s](std::string_view scheme) { return s.starts_with(scheme); });
}

/// Whether `path` names something strictly inside `root`, after resolving symbolic links
/// (a link under a root that points elsewhere is outside).
bool inside(const std::filesystem::path& path, const std::filesystem::path& root) {
  std::error_code ec;
  const auto p = std::filesystem::weakly_canonical(path, ec);
  if (ec) return false;
  const auto r = std::filesystem::weakly_canonical(root, ec);
  if (ec) return false;
  const auto rel = p.lexically_relative(r);
  return !rel.empty() && rel != "." && *rel.begin() != "..";
}

std::string check_source(const std::string& source, const vma_agent_options& opts) {
  if (is_nbd_uri(source)) return {};
  const std::filesystem::path p(source);
  if (!p.is_absolute())
    return "source " + source +
           ": not an NBD URI (nbd://, nbd+unix://, nbds://, ...) nor an absolute path";
  std::string roots;
  for (const auto& root : opts.source_roots) {
    if (inside(p, root)) {
      std::error_code ec;
      if (!std::filesystem::exists(p, ec)) return "source " + source + ": no such file";
      return {};
    }
    roots += (roots.empty() ? "" : ", ") + root.string();
  }
  if (roots.empty()) return "source " + source + ": local paths are refused (no source root)";
  return "source " + source + ": outside the source roots (" + roots + ")";
}

void reply_start(agent_self self, const bus::envelope& e, msg::start_mover_reply r) {
  if (e.reply.empty()) {
    spdlog::warn("{}: a start for job {} without a reply subject", self->state.bus->from(), r.job);
    return;
  }
  (void)self->state.bus->reply(e, std::move(r));
}

struct launched {
  mover_record rec;
  std::shared_ptr<vma::mover_process> mover;
  bool resume = false;
  std::uint64_t checkpoint_bytes = 0;  ///< what a resumed run takes from its checkpoint
};

/// Starts the job's mover and records it, on a lane (it forks, and fsyncs the record); the
/// mover, or why not.
expected<launched, std::string> launch(const msg::start_mover& req, vma::mover_spec spec,
                                       const std::filesystem::path& movers_dir) {
  std::error_code ec;
  const bool have_checkpoint = std::filesystem::exists(spec.checkpoint, ec);
  // A stale checkpoint would make a fresh mover refuse to start (exit 2); without one a
  // resume starts afresh (a mover stopped before it connected writes none).
  if (!req.resume && have_checkpoint && !std::filesystem::remove(spec.checkpoint, ec) && ec)
    return unexpected("remove stale checkpoint " + spec.checkpoint.string() + ": " + ec.message());
  spec.resume = req.resume && have_checkpoint;
  launched out;
  if (spec.resume) {
    // Read before the mover runs: the OMA logs what the new run copies a second time.
    const auto view = read_checkpoint_view(spec.checkpoint);
    if (view.cp) out.checkpoint_bytes = view.cp->done.bytes();
  }
  auto mover = vma::mover_process::start(spec);
  if (!mover) return unexpected(mover.error().message);
  out.rec.job = req.job;
  out.rec.id = mover->identity();
  out.rec.checkpoint = req.checkpoint;
  out.rec.started_at = unix_ms();
  // Unrecorded, a mover would be lost to the next agent: better not run it at all (the
  // handle's destructor kills and reaps it).
  if (auto w = write_mover_record(movers_dir, out.rec); !w) return unexpected(w.error().message);
  out.resume = spec.resume;
  out.mover = std::make_shared<vma::mover_process>(std::move(*mover));
  return out;
}

/// Starts the job's mover (awaited on a lane), watches it, and answers the start request.
void start_mover(agent_self self, const bus::envelope& e, const msg::start_mover& req,
                 msg::start_mover_reply r) {
  auto& st = self->state;
  vma::mover_spec spec;
  spec.binary = st.opts.binary;
  spec.source = req.source;
  spec.target = req.target;
  // A volume served to this agent over TLS-PSK (nbds://AGENT@HOST:PORT/): the key is this
  // agent's own, from its join file; the OMA never names a key file.
  if (spec.target.starts_with("nbds://") && spec.target.find('?') == std::string::npos)
    spec.target += "?tls-psk-file=" + (st.opts.data_dir / "volumes.psk").string();
  spec.checkpoint = st.checkpoint_path(req.checkpoint);
  spec.stderr_log = st.log_path(req.job);
  spec.extra_args = st.opts.mover_args;
  await_blocking(
      self, *st.lanes, req.job,
      [req, spec = std::move(spec), movers_dir = st.movers_dir()] {
        return launch(req, spec, movers_dir);
      },
      [self, e, req, r = std::move(r)](expected<launched, std::string> started) mutable {
        if (started) {
          spdlog::info("job {}: mover {} started{}: {} -> {}", req.job, started->rec.id.pid,
                       started->resume ? " (resume)" : "", req.source, req.target);
          watch_mover(self, started->rec, std::move(started->mover));
          r.ok = true;
          r.pid = started->rec.id.pid;
          r.launched = true;
          r.checkpoint_bytes = started->checkpoint_bytes;
        } else {
          r.error = "job " + req.job + ": " + started.error();
          spdlog::error("{}: {}", self->state.bus->from(), r.error);
        }
        reply_start(self, e, std::move(r));
      });
}

/// The size of a source, asked on a lane (it connects to the source): what the OMA makes the
/// job's volume from.
}  // namespace

void on_probe(agent_self self, const bus::envelope& e, const msg::probe_source& req) {
  auto& st = self->state;
  msg::probe_reply r;
  r.job = req.job;
  const auto answer = [self, e](msg::probe_reply reply) {
    if (!reply.ok) spdlog::warn("{}: probe refused: {}", self->state.bus->from(), reply.error);
    if (!e.reply.empty()) (void)self->state.bus->reply(e, std::move(reply));
  };
  if (!msg::valid_id(req.job)) {
    r.error = "job: not a valid id: \"" + req.job + "\"";
    return answer(std::move(r));
  }
  if (auto why = check_source(req.source, st.opts); !why.empty()) {
    r.error = std::move(why);
    return answer(std::move(r));
  }
  const double timeout_s = std::chrono::duration<double>(st.opts.probe_timeout).count();
  await_blocking(
      self, *st.lanes, req.job,
      [source = req.source, timeout_s] { return nbd::source_size(source, timeout_s); },
      [answer, r = std::move(r)](nbd::result<std::uint64_t> size) mutable {
        if (size) {
          r.ok = true;
          r.size = *size;
        } else {
          r.error = size.error().message;
        }
        answer(std::move(r));
      });
}

void on_start(agent_self self, const bus::envelope& e, const msg::start_mover* req) {
  msg::start_mover_reply r;
  if (!req) {
    r.error = "malformed start request: not a start or a probe";
    spdlog::warn("{}: {}", self->state.bus->from(), r.error);
    return reply_start(self, e, std::move(r));
  }
  r.job = req->job;
  if (auto why = check_start(*req, self->state.opts); !why.empty()) {
    r.error = std::move(why);
    spdlog::warn("{}: start refused: {}", self->state.bus->from(), r.error);
    return reply_start(self, e, std::move(r));
  }
  auto& running = self->state.running;
  if (auto it = running.find(req->job); it != running.end()) {
    // Asked again (a lost reply, an OMA restart): the mover that runs is the answer.
    r.ok = true;
    r.pid = it->second.info.pid;
    return reply_start(self, e, std::move(r));
  }
  start_mover(self, e, *req, std::move(r));
}

std::string check_start(const msg::start_mover& req, const vma_agent_options& opts) {
  if (!msg::valid_id(req.job)) return "job: not a valid id: \"" + req.job + "\"";
  if (!msg::valid_id(req.checkpoint))
    return "checkpoint: a name (an id), not a path: \"" + req.checkpoint + "\"";
  if (auto why = check_source(req.source, opts); !why.empty()) return why;
  if (!is_nbd_uri(req.target))
    return "target " + req.target + ": not an NBD URI (nbd://, nbd+unix://, nbds://, ...)";
  if (req.target.find("tls-psk-file") != std::string::npos)
    return "target " + req.target + ": names a key file; the agent uses its own";
  return {};
}

}  // namespace mk::actors
