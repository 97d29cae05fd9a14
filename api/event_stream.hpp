#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace mk::api {

/// One Server-Sent Event: `id: seq`, `event: type`, `data: data`.
struct event {
  std::uint64_t seq = 0;
  std::string type;
  std::string data;
};

/// The OMA's live events, numbered, with the latest `capacity` kept so that a client that
/// reconnects with Last-Event-ID misses nothing recent. Each /events connection waits on it
/// from its own thread. Thread-safe.
class event_stream {
 public:
  explicit event_stream(std::size_t capacity = 4096) : capacity_(capacity) {}

  void publish(std::string type, std::string data);
  /// The events after `after` (waiting up to `timeout` for one); empty on a timeout or once
  /// closed.
  std::vector<event> wait(std::uint64_t after, std::chrono::milliseconds timeout) const;
  /// The newest event's number (0: none yet).
  std::uint64_t last() const;
  /// Ends every wait, now and later: the server is stopping.
  void close();
  bool closed() const;

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::deque<event> recent_;
  std::uint64_t seq_ = 0;
  bool closed_ = false;
};

}  // namespace mk::api
