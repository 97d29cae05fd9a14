#include "bus/node_watch.hpp"

#include <spdlog/spdlog.h>

#include "bus/home.hpp"
#include "bus/server_config.hpp"

namespace mk::bus {

result<std::unique_ptr<node_watch>> node_watch::start(options o) {
  std::unique_ptr<node_watch> w(new node_watch(std::move(o)));
  nats_options n;
  n.url = w->opts_.urls;
  n.ca_file = w->opts_.ca_file;
  n.name = "oma nodes";
  n.creds_file = w->opts_.system_creds;
  n.inbox_prefix = inbox_prefix("system");
  auto t = nats_transport::connect(n);
  if (!t) return fail(t.error().code, "watch the bus's nodes: " + t.error().message);
  w->transport_ = std::move(*t);
  w->thread_ = std::thread([raw = w.get()] { raw->run(); });
  auto sub = w->transport_->subscribe(
      "$SYS.SERVER.*.STATSZ", [raw = w.get()](const envelope& e) { raw->on_stats(e.subject); });
  if (!sub) return fail(sub.error().code, "watch the bus's nodes: " + sub.error().message);
  w->sub_ = std::move(*sub);
  return w;
}

node_watch::~node_watch() {
  sub_.reset();
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  transport_.reset();
}

std::uint64_t node_watch::pushes() const {
  std::lock_guard lock(mu_);
  return pushes_;
}

void node_watch::on_stats(const std::string& subject) {
  // $SYS.SERVER.<id>.STATSZ
  const auto first = subject.find('.', 5);
  const auto last = subject.rfind('.');
  if (first == std::string::npos || last <= first) return;
  const auto id = subject.substr(first + 1, last - first - 1);
  const auto now = std::chrono::steady_clock::now();
  bool push = false;
  {
    std::lock_guard lock(mu_);
    auto [it, fresh] = seen_.try_emplace(id, now);
    push = fresh || now - it->second > opts_.silence;
    it->second = now;
    if (push) due_ = true;
  }
  if (push) {
    spdlog::info("bus: node {} joined or came back: its account JWT is pushed again", id);
    cv_.notify_all();
  }
}

void node_watch::run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return due_ || quit_; });
    if (quit_) return;
    due_ = false;
    lock.unlock();
    auto r = push();
    lock.lock();
    if (r) {
      ++pushes_;
      continue;
    }
    spdlog::warn("{}; tried again in a second", r.error().message);
    // A failed push is due again, a second from now (unless the watch ends first).
    if (cv_.wait_for(lock, std::chrono::seconds(1), [this] { return quit_; })) return;
    due_ = true;
  }
}

result<> node_watch::push() {
  auto jwt = opts_.account_jwt();
  if (!jwt) return fail(jwt.error().code, "push the account JWT: " + jwt.error().message);
  return push_account_jwt(*transport_, *jwt);
}

}  // namespace mk::bus
