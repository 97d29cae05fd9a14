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

std::uint64_t node_watch::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

void node_watch::on_stats(const std::string& subject) {
  // $SYS.SERVER.<id>.STATSZ
  const auto first = subject.find('.', 5);
  const auto last = subject.rfind('.');
  if (first == std::string::npos || last <= first) return;
  const auto id = subject.substr(first + 1, last - first - 1);
  const auto now = clock::now();
  bool back = false;
  {
    std::lock_guard lock(mu_);
    auto [it, fresh] = nodes_.try_emplace(id);
    auto& n = it->second;
    back = fresh || now - n.heard > opts_.silence;
    n.heard = now;
    if (back) {
      n.back = now;
      n.next = step::push;
      n.due = now;
    }
  }
  if (back) {
    spdlog::info("bus: node {} joined or came back: its account JWT is pushed again", id);
    cv_.notify_all();
  }
}

void node_watch::run() {
  std::unique_lock lock(mu_);
  while (!quit_) {
    auto now = clock::now();
    std::set<std::string> to_push, to_look;
    auto wake = clock::time_point::max();
    for (auto& [id, n] : nodes_) {
      if (n.next == step::none) continue;
      if (now - n.heard > opts_.silence) {  // gone again: taken up when it is back
        n.next = step::none;
        continue;
      }
      if (n.due > now)
        wake = std::min(wake, n.due);
      else
        (n.next == step::push ? to_push : to_look).insert(id);
    }
    if (to_push.empty() && to_look.empty()) {
      if (wake == clock::time_point::max())
        cv_.wait(lock);
      else
        cv_.wait_until(lock, wake);
      continue;
    }
    lock.unlock();
    auto confirmed = to_push.empty() ? result<std::set<std::string>>{} : push(to_push);
    if (!confirmed) spdlog::warn("{}; pushed again in a while", confirmed.error().message);
    std::map<std::string, result<std::optional<bool>>> found;
    if (!to_look.empty()) {
      auto jwt = opts_.account_jwt();
      for (const auto& id : to_look)
        found.emplace(id, jwt ? node_holds_revocations(*transport_, id, *jwt, opts_.confirm_wait)
                              : fail(jwt.error().code, jwt.error().message));
    }
    lock.lock();
    now = clock::now();
    for (const auto& id : to_push) {
      auto& n = nodes_[id];
      if (n.next != step::push) continue;  // came back meanwhile: due again anyway
      if (confirmed && confirmed->contains(id)) {
        ++pushes_;
        n.pushed = now;
        n.next = step::look;
      }
      n.due = now + opts_.retry;
    }
    for (const auto& [id, runs] : found) after_look(id, nodes_[id], runs, now);
  }
}

void node_watch::after_look(const std::string& id, node& n, const result<std::optional<bool>>& runs,
                            clock::time_point now) {
  if (n.next != step::look) return;  // came back meanwhile
  n.due = now + opts_.retry;
  if (!runs) {
    spdlog::warn("bus: {}; looked at again in a while", runs.error().message);
  } else if (!runs->has_value()) {
    // Not loaded there: its first client loads the JWT pushed; a node with the account's
    // streams loads it soon after its start, so look again for a while.
    if (now - n.back > opts_.settle) n.next = step::none;
  } else if (**runs) {
    ++current_;
    n.next = step::none;
    spdlog::info("bus: node {} runs the account with every revocation", id);
  } else {
    // Stored the push while it loaded its old JWT: the same JWT again would change nothing
    // there. One signed in a later second does.
    spdlog::warn("bus: node {} runs an account JWT older than the one it stored; pushed again", id);
    n.next = step::push;
    n.due = std::max(now, n.pushed + std::chrono::milliseconds(1100));
  }
}

result<std::set<std::string>> node_watch::push(const std::set<std::string>& ids) {
  auto jwt = opts_.account_jwt();
  if (!jwt) return fail(jwt.error().code, "push the account JWT: " + jwt.error().message);
  auto answers = push_account_jwt_to(*transport_, *jwt, ids, opts_.confirm_wait);
  if (!answers) return std::unexpected(std::move(answers.error()));
  std::set<std::string> confirmed;
  for (const auto& id : ids) {
    const auto it = answers->find(id);
    if (it == answers->end()) {
      spdlog::warn("bus: node {} did not confirm the account JWT; pushed again in a while", id);
    } else if (it->second.empty()) {
      confirmed.insert(id);
    } else {
      spdlog::warn("bus: node {} refused the account JWT: {}", id, it->second);
    }
  }
  return confirmed;
}

}  // namespace mk::bus
