#include "cmd/daemon.hpp"

#include <pthread.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <ctime>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "config/defaults.hpp"

namespace mk::cmd {

namespace {

sigset_t stop_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

void block_stop_signals() {
  const auto set = stop_set();
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_stop_signal(const std::atomic<bool>& done) {
  // Short slices, so that `done` is seen soon after it turns.
  while (!done.load()) {
    if (const int sig = take_stop_signal(defaults::nodes::signal_poll); sig > 0) return sig;
  }
  return 0;
}

int take_stop_signal(std::chrono::milliseconds timeout) {
  const auto set = stop_set();
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  const timespec wait{static_cast<time_t>(ns / 1'000'000'000),
                      static_cast<long>(ns % 1'000'000'000)};
  const int sig = ::sigtimedwait(&set, nullptr, &wait);
  return sig > 0 ? sig : 0;
}

const char* stop_signal_name(int sig) { return sig == SIGINT ? "SIGINT" : "SIGTERM"; }

void end_process(int code) {
  spdlog::shutdown();
  std::fflush(nullptr);
#if defined(__SANITIZE_ADDRESS__)
  __lsan_do_leak_check();
#endif
  ::_exit(code);
}

void use_daemon_logger(const std::string& subcommand) {
  auto logger = spdlog::stderr_color_mt("migratekit-" + subcommand);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e migratekit " + subcommand + ": %^%l%$: %v");
  logger->set_level(spdlog::default_logger()->level());
  spdlog::set_default_logger(logger);
}

}  // namespace mk::cmd
