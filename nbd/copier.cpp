#include "nbd/copier.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "config/defaults.hpp"
#include "nbd/copy_loop.hpp"
#include "nbd/endpoint.hpp"
#include "nbd/stop_signals.hpp"

namespace mk::nbd {

namespace {

result<> check_options(const copy_options& o) {
  auto bad = [](std::string what) { return fail(errc::usage, std::move(what)); };
  if (o.requests < 1 || o.requests > 1024) return bad("--requests must be between 1 and 1024");
  if (o.request_size < 4096 || o.request_size > defaults::copy::max_request_size ||
      o.request_size % 512 != 0)
    return bad("--request-size must be a multiple of 512 between 4 KiB and " +
               std::to_string(defaults::copy::max_request_size >> 20) + " MiB");
  if (o.connections < 1 || o.connections > 16) return bad("--connections must be between 1 and 16");
  if (!(o.drain_timeout_s > 0) || !(o.checkpoint_interval_s > 0) || !(o.io_timeout_s > 0))
    return bad("--drain-timeout, --checkpoint-interval and --io-timeout must be positive");
  if (o.resume && !o.checkpoint_path) return bad("--resume needs --checkpoint FILE");
  return {};
}

result<checkpoint> initial_checkpoint(const copy_options& o) {
  if (!o.checkpoint_path) return checkpoint{};
  const auto& path = *o.checkpoint_path;
  bool exists = std::filesystem::exists(path);
  if (o.resume && !exists)
    return fail(errc::usage, "checkpoint " + path, "does not exist: there is nothing to resume");
  if (!o.resume && exists)
    return fail(errc::usage, "checkpoint " + path,
                "already exists: pass --resume to continue that copy, or remove it to start over");
  if (!o.resume) return checkpoint{};
  return load_checkpoint(path);
}

}  // namespace

result<copy_report> run_copy(const copy_options& opts) {
  if (auto ok = check_options(opts); !ok) return std::unexpected(ok.error());
  auto src_spec = parse_endpoint(opts.source, role::source);
  if (!src_spec) return std::unexpected(src_spec.error());
  auto dst_spec = parse_endpoint(opts.target, role::target);
  if (!dst_spec) return std::unexpected(dst_spec.error());
  auto cp = initial_checkpoint(opts);
  if (!cp) return std::unexpected(cp.error());

  // Signals are caught from here on: a stop that arrives while connecting still ends cleanly.
  stop_signals signals;
  if (auto ok = signals.install(); !ok) return std::unexpected(ok.error());

  open_options open{.connections = opts.connections,
                    .io_timeout_s = opts.io_timeout_s,
                    .stop_fd = signals.fd(),
                    .source_size = 0};
  auto src = open_endpoint(*src_spec, role::source, open);
  if (!src) return std::unexpected(src.error());
  open.source_size = (*src)->size();
  auto dst = open_endpoint(*dst_spec, role::target, open);
  if (!dst) return std::unexpected(dst.error());

  if (opts.resume) {
    if (cp->source_size != (*src)->size() || cp->target_size != (*dst)->size())
      return fail(errc::usage, "checkpoint " + *opts.checkpoint_path,
                  "is for another disk: it records a source of " + std::to_string(cp->source_size) +
                      " bytes and a target of " + std::to_string(cp->target_size) +
                      " bytes, but the source has " + std::to_string((*src)->size()) +
                      " and the target " + std::to_string((*dst)->size()));
    if (cp->source != opts.source || cp->target != opts.target)
      spdlog::warn("resuming a checkpoint made for {} -> {}", cp->source, cp->target);
    spdlog::info("resuming: {} of {} bytes already done", cp->done.bytes(), cp->source_size);
  }
  cp->source = opts.source;
  cp->target = opts.target;
  cp->source_size = (*src)->size();
  cp->target_size = (*dst)->size();

  // Requests never exceed what either server accepts.
  copy_options effective = opts;
  for (auto* ep : {src->get(), dst->get()})
    if (ep->max_request() && ep->max_request() < effective.request_size)
      effective.request_size = ep->max_request();

  copy_loop loop(effective, **src, **dst, std::move(*cp), signals);
  return loop.run();
}

}  // namespace mk::nbd
