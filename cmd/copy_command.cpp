#include "cmd/copy_command.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <memory>

#include "config/defaults.hpp"
#include "nbd/copier.hpp"

namespace mk::cmd {

namespace {

namespace d = defaults::copy;

/// `migratekit copy`'s exit status.
namespace copy_exit {
constexpr int completed = 0, error = 1, usage = 2, stopped = 3;
}

struct copy_args {
  nbd::copy_options opts{.source = {},
                         .target = {},
                         .checkpoint_path = {},
                         .resume = false,
                         .requests = d::requests,
                         .request_size = d::request_size,
                         .connections = d::connections(),
                         .progress = nbd::progress_mode::none,
                         .drain_timeout_s = d::drain_timeout_s,
                         .checkpoint_interval_s = d::checkpoint_interval_s,
                         .checkpoint_bytes = d::checkpoint_bytes,
                         .io_timeout_s = d::io_timeout_s};
  std::string checkpoint;
  std::string progress;
};

nbd::progress_mode progress_mode(const CLI::Option* opt, const std::string& value) {
  if (opt->count() == 0) return nbd::progress_mode::none;
  if (value == "json") return nbd::progress_mode::json;
  if (value == "bar") return nbd::progress_mode::bar;
  // Plain --progress: a bar for a person at a terminal, JSON lines for a program.
  return isatty(STDERR_FILENO) ? nbd::progress_mode::bar : nbd::progress_mode::json;
}

int run(copy_args& a, const CLI::Option* progress_opt) {
  a.opts.progress = progress_mode(progress_opt, a.progress);
  if (!a.checkpoint.empty()) a.opts.checkpoint_path = a.checkpoint;
  auto report = nbd::run_copy(a.opts);
  if (!report) {
    const auto& e = report.error();
    if (e.code == nbd::errc::stopped) {
      spdlog::info("stopped before the copy began: {}", e.message);
      return copy_exit::stopped;
    }
    spdlog::error("{}", e.message);
    return e.code == nbd::errc::usage ? copy_exit::usage : copy_exit::error;
  }
  switch (report->state) {
    case nbd::copy_state::completed:
      spdlog::info("completed: {} bytes, {} skipped as holes or zeroes", report->bytes_total,
                   report->bytes_skipped);
      return copy_exit::completed;
    case nbd::copy_state::stopped:
      if (report->err) spdlog::warn("{}", report->err->message);
      spdlog::info("stopped at {} of {} bytes; checkpoint saved", report->bytes_done,
                   report->bytes_total);
      return copy_exit::stopped;
    default:
      spdlog::error("{}", report->err ? report->err->message : "failed");
      return copy_exit::error;
  }
}

}  // namespace

void add_copy_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<copy_args>();
  auto& o = args->opts;
  auto* cmd = app.add_subcommand("copy", "Copy a disk over NBD, stopping gracefully on SIGTERM");
  cmd->footer(
      "SOURCE and TARGET: nbd://host[:port]/export, nbd+unix:///export?socket=PATH,\n"
      "or a local file or block device (a missing target file is created).\n"
      "Exit status: 0 completed, 1 error, 2 bad usage, 3 stopped with its checkpoint saved.\n"
      "The first SIGTERM or SIGINT drains, flushes and checkpoints; a second aborts.");
  cmd->add_option("SOURCE", o.source, "The disk to copy")->required();
  cmd->add_option("TARGET", o.target, "Where to copy it")->required();
  cmd->add_option("--checkpoint", args->checkpoint, "Durable record of the work done")
      ->envname("MIGRATEKIT_CHECKPOINT");
  cmd->add_flag("--resume", o.resume, "Continue the copy recorded in --checkpoint");
  cmd->add_option("--requests", o.requests, "Requests in flight")
      ->envname("MIGRATEKIT_REQUESTS")
      ->capture_default_str();
  cmd->add_option("--request-size", o.request_size, "Bytes per request (suffixes K, M)")
      ->transform(CLI::AsSizeValue(false))
      ->envname("MIGRATEKIT_REQUEST_SIZE")
      ->capture_default_str();
  cmd->add_option("--connections", o.connections,
                  "Connections per endpoint, where the server offers multi-conn (one thread each)")
      ->envname("MIGRATEKIT_CONNECTIONS")
      ->capture_default_str();
  auto* progress = cmd->add_option("--progress", args->progress,
                                   "Show progress: a bar on a terminal, or JSON lines on stdout")
                       ->expected(0, 1)
                       ->check(CLI::IsMember({"bar", "json", ""}));
  cmd->add_option("--drain-timeout", o.drain_timeout_s,
                  "Seconds a stop waits for writes in flight and the final flush")
      ->envname("MIGRATEKIT_DRAIN_TIMEOUT")
      ->capture_default_str();
  cmd->add_option("--checkpoint-interval", o.checkpoint_interval_s,
                  "Longest time between durable checkpoints (the work a crash can lose)")
      ->envname("MIGRATEKIT_CHECKPOINT_INTERVAL")
      ->capture_default_str();
  cmd->add_option("--checkpoint-bytes", o.checkpoint_bytes,
                  "A checkpoint sooner once this much was written since the last (at most one "
                  "a second)")
      ->transform(CLI::AsSizeValue(false))
      ->envname("MIGRATEKIT_CHECKPOINT_BYTES")
      ->capture_default_str();
  cmd->add_option("--io-timeout", o.io_timeout_s,
                  "Seconds without a reply before an endpoint counts as hung")
      ->envname("MIGRATEKIT_IO_TIMEOUT")
      ->capture_default_str();
  cmd->callback([args, progress, &exit_code] {
    spdlog::default_logger()->set_pattern("migratekit copy: %^%l%$: %v");
    exit_code = run(*args, progress);
  });
}

}  // namespace mk::cmd
