#include "cmd/daemon.hpp"

#include <pthread.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <ctime>

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
  const auto set = stop_set();
  // Short slices, so that `done` is seen soon after it turns.
  const timespec slice{0, 200'000'000};
  while (!done.load()) {
    const int sig = ::sigtimedwait(&set, nullptr, &slice);
    if (sig > 0)
      return sig;
  }
  return 0;
}

void use_daemon_logger(const std::string& subcommand) {
  auto logger = spdlog::stderr_color_mt("migratekit-" + subcommand);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e migratekit " + subcommand + ": %^%l%$: %v");
  logger->set_level(spdlog::default_logger()->level());
  spdlog::set_default_logger(logger);
}

}  // namespace mk::cmd
