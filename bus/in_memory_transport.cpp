#include "bus/in_memory_transport.hpp"

#include <algorithm>
#include <condition_variable>
#include <optional>
#include <string>

#include "bus/subjects.hpp"

namespace mk::bus {

/// One subscription. The recursive mutex serialises its handler, lets a handler publish to
/// a subject it listens to itself, and lets cancel() wait for a handler running elsewhere.
struct in_memory_transport::entry final : subscription::impl {
  std::string pattern;
  transport::handler handler;
  std::recursive_mutex calling;
  bool cancelled = false;  ///< guarded by calling
  in_memory_transport* owner = nullptr;

  void cancel() noexcept override {
    std::lock_guard call_lock(calling);
    if (cancelled) return;
    cancelled = true;
    std::lock_guard lock(owner->mutex_);
    std::erase_if(owner->subs_, [this](const auto& e) { return e.get() == this; });
  }
};

in_memory_transport::~in_memory_transport() {
  std::vector<std::shared_ptr<entry>> subs;
  {
    std::lock_guard lock(mutex_);
    subs = subs_;
  }
  for (auto& e : subs) e->cancel();
}

bool in_memory_transport::deliver(envelope e) {
  std::vector<std::shared_ptr<entry>> matches;
  {
    std::lock_guard lock(mutex_);
    for (const auto& s : subs_) {
      if (subject_matches(s->pattern, e.subject)) matches.push_back(s);
    }
  }
  for (const auto& s : matches) {
    std::lock_guard call_lock(s->calling);
    if (!s->cancelled) s->handler(e);
  }
  return !matches.empty();
}

result<> in_memory_transport::publish(std::string_view subject,
                                      std::span<const std::uint8_t> data) {
  if (!valid_subject(subject, false)) {
    return fail(errc::invalid, "publish: bad subject \"" + std::string(subject) + "\"");
  }
  deliver({std::string(subject), {data.begin(), data.end()}, {}});
  return {};
}

result<> in_memory_transport::publish_request(std::string_view subject,
                                              std::span<const std::uint8_t> data,
                                              std::string_view reply) {
  if (!valid_subject(subject, false) || !valid_subject(reply, false)) {
    return fail(errc::invalid, "publish: bad subject \"" + std::string(subject) + "\" or reply \"" +
                                   std::string(reply) + "\"");
  }
  deliver({std::string(subject), {data.begin(), data.end()}, std::string(reply)});
  return {};
}

result<subscription> in_memory_transport::subscribe(std::string_view pattern, handler h) {
  if (!valid_subject(pattern, true)) {
    return fail(errc::invalid, "subscribe: bad subject \"" + std::string(pattern) + "\"");
  }
  auto e = std::make_shared<entry>();
  e->pattern = pattern;
  e->handler = std::move(h);
  e->owner = this;
  std::lock_guard lock(mutex_);
  subs_.push_back(e);
  return subscription(std::move(e));
}

result<envelope> in_memory_transport::request(std::string_view subject,
                                              std::span<const std::uint8_t> data,
                                              std::chrono::milliseconds timeout) {
  const std::string subj(subject);
  if (!valid_subject(subj, false)) {
    return fail(errc::invalid, "request: bad subject \"" + subj + "\"");
  }
  std::string inbox;
  {
    std::lock_guard lock(mutex_);
    inbox = "_INBOX." + std::to_string(++next_inbox_);
  }
  // The reply may come inline, from the responder's handler, or later from another thread.
  struct waiter {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<envelope> reply;
  };
  auto w = std::make_shared<waiter>();
  auto inbox_sub = subscribe(inbox, [w](envelope e) {
    std::lock_guard lock(w->mutex);
    if (!w->reply) w->reply = std::move(e);
    w->cv.notify_all();
  });
  if (!inbox_sub) return std::unexpected(std::move(inbox_sub.error()));
  if (!deliver({subj, {data.begin(), data.end()}, inbox})) {
    return fail(errc::no_responders, "request " + subj + ": no responders");
  }
  std::unique_lock lock(w->mutex);
  if (!w->cv.wait_for(lock, timeout, [&w] { return w->reply.has_value(); })) {
    return fail(errc::timeout,
                "request " + subj + ": no reply in " + std::to_string(timeout.count()) + " ms");
  }
  return std::move(*w->reply);
}

result<> in_memory_transport::flush(std::chrono::milliseconds) { return {}; }

}  // namespace mk::bus
