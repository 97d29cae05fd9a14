#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "bus/transport.hpp"

namespace mk::bus {

/// The bus in memory, for deterministic unit tests of actor protocols: every participant
/// shares one instance. A publish calls the matching handlers before it returns, on the
/// publishing thread, in the order they subscribed; wildcards and request/reply behave as on
/// NATS (no responders fails at once, silence times out). Handlers may publish, subscribe and
/// request themselves; two threads publishing into each other's handlers could deadlock, so
/// drive it from one thread (a test's, or CAF's test coordinator). Nothing that runs for a
/// user uses it, nor does any integration test.
class in_memory_transport final : public transport {
 public:
  in_memory_transport() = default;
  ~in_memory_transport() override;
  in_memory_transport(const in_memory_transport&) = delete;
  in_memory_transport& operator=(const in_memory_transport&) = delete;

  result<> publish(std::string_view subject, std::span<const std::uint8_t> data) override;
  result<> publish_request(std::string_view subject, std::span<const std::uint8_t> data,
                           std::string_view reply) override;
  result<subscription> subscribe(std::string_view pattern, handler h) override;
  result<envelope> request(std::string_view subject, std::span<const std::uint8_t> data,
                           std::chrono::milliseconds timeout) override;
  result<> flush(std::chrono::milliseconds timeout) override;

 private:
  struct entry;

  // Delivers to every match; false when nobody matched.
  bool deliver(envelope e);

  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<entry>> subs_;
  std::uint64_t next_inbox_ = 0;
};

}  // namespace mk::bus
