#include "api/event_stream.hpp"

namespace mk::api {

void event_stream::publish(std::string type, std::string data) {
  {
    std::lock_guard lock(mutex_);
    recent_.push_back({++seq_, std::move(type), std::move(data)});
    while (recent_.size() > capacity_) recent_.pop_front();
  }
  changed_.notify_all();
}

std::vector<event> event_stream::wait(std::uint64_t after,
                                      std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return closed_ || seq_ > after; });
  std::vector<event> out;
  if (closed_) return out;
  for (const auto& e : recent_)
    if (e.seq > after) out.push_back(e);
  return out;
}

std::uint64_t event_stream::last() const {
  std::lock_guard lock(mutex_);
  return seq_;
}

void event_stream::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  changed_.notify_all();
}

bool event_stream::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

}  // namespace mk::api
