#include "bus/kept_server.hpp"

#include <spdlog/spdlog.h>

namespace mk::bus {

result<std::unique_ptr<kept_server>> kept_server::start(const nats_server_options& first,
                                                        options_source again,
                                                        std::chrono::milliseconds watch,
                                                        std::chrono::milliseconds retry) {
  auto server = nats_server::start(first);
  if (!server) return std::unexpected(std::move(server.error()));
  std::unique_ptr<kept_server> kept(new kept_server());
  kept->options_ = std::move(again);
  kept->watch_ = watch;
  kept->retry_ = retry;
  kept->port_ = (*server)->port();
  kept->url_ = (*server)->url();
  kept->server_ = std::move(*server);
  kept->thread_ = std::thread([k = kept.get()] { k->watch(); });
  return kept;
}

kept_server::~kept_server() { stop(); }

void kept_server::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::unique_ptr<nats_server> server;
  {
    std::lock_guard lock(mutex_);
    server = std::move(server_);
  }
  if (server) server->stop();
}

pid_t kept_server::pid() const {
  std::lock_guard lock(mutex_);
  return server_ ? server_->pid() : -1;
}

unsigned kept_server::restarts() const {
  std::lock_guard lock(mutex_);
  return restarts_;
}

void kept_server::watch() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, watch_, [&] { return stopping_; })) {
    if (server_ && server_->running()) continue;
    // Reaped (and its status logged) outside the lock: stop() may wait for it meanwhile.
    auto dead = std::move(server_);
    lock.unlock();
    if (dead) {
      spdlog::warn("nats-server {} ended by itself; starting it again on port {}", dead->pid(),
                   port_);
      dead->stop();
    }
    auto started = [&]() -> result<std::unique_ptr<nats_server>> {
      auto o = options_();
      if (!o) return std::unexpected(std::move(o.error()));
      o->port = port_;  // its clients and the agents' join files know it by this port
      return nats_server::start(*o);
    }();
    lock.lock();
    if (!started) {
      spdlog::error("nats-server could not be started again (tried again in {} ms): {}",
                    retry_.count(), started.error().message);
      // Waits `retry` rather than `watch` before the next try.
      if (wake_.wait_for(lock, retry_ - watch_, [&] { return stopping_; })) break;
      continue;
    }
    ++restarts_;
    server_ = std::move(*started);
    spdlog::info("nats-server {} started again on port {} (restart {})", server_->pid(), port_,
                 restarts_);
    if (stopping_) break;  // stop() stops it
  }
}

}  // namespace mk::bus
