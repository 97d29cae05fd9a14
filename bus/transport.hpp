#pragma once

#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bus/error.hpp"

namespace mk::bus {

/// One message as the bus carries it: a subject and opaque bytes (the MessagePack of
/// messages/). `reply` is set on requests: answering one is publishing to it.
struct envelope {
  std::string subject;
  std::vector<std::uint8_t> data;
  std::string reply;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, envelope& x) {
  return f(caf::meta::type_name("mk_envelope"), x.subject, x.data, x.reply);
}

/// Registers the bus's CAF message types (`envelope`) in an actor system's configuration.
void add_bus_types(caf::actor_system_config& cfg);

/// Interest in a subject. Destroying or resetting the handle ends it, and once that returns
/// the handler is not running and never runs again, so what it captured may go. Do not end
/// a subscription from inside its own handler.
class subscription {
 public:
  /// What a transport does to end one of its subscriptions; called at most once.
  class impl {
   public:
    virtual ~impl() = default;
    virtual void cancel() noexcept = 0;
  };

  subscription() = default;
  explicit subscription(std::shared_ptr<impl> state) : impl_(std::move(state)) {}
  ~subscription() { reset(); }
  subscription(subscription&&) noexcept = default;
  subscription& operator=(subscription&& other) noexcept;
  subscription(const subscription&) = delete;
  subscription& operator=(const subscription&) = delete;

  /// Ends the subscription now; nothing happens if it already ended.
  void reset() noexcept;
  explicit operator bool() const { return impl_ != nullptr; }

 private:
  std::shared_ptr<impl> impl_;
};

/// The one bus interface: subjects and bytes. NATS carries it for everything that runs
/// (nats_transport); memory carries it in deterministic unit tests (in_memory_transport).
/// Delivery is at most once: protocols on top retry and are idempotent (docs/stop-protocol.md).
/// Every member may be called from any thread.
class transport {
 public:
  using handler = std::function<void(envelope)>;

  virtual ~transport() = default;

  /// Sends `data` on `subject` (no wildcards). Success means accepted for sending: while
  /// disconnected it is buffered, and a subject the server denies is refused later, as an
  /// asynchronous error, not here.
  virtual result<> publish(std::string_view subject, std::span<const std::uint8_t> data) = 0;

  /// The same with `reply` as the subject to answer to, for a request that several answer
  /// (each node of the bus answers a claims update): the caller listens on `reply` first.
  virtual result<> publish_request(std::string_view subject, std::span<const std::uint8_t> data,
                                   std::string_view reply) = 0;

  /// Calls `handler` with each message whose subject matches `pattern` (`*` one token, `>` the
  /// rest), one message at a time and in the order of arrival.
  virtual result<subscription> subscribe(std::string_view pattern, handler h) = 0;

  /// Publishes with a private reply subject and waits up to `timeout` for the first reply.
  /// Nobody subscribed to `subject` is errc::no_responders, at once; silence is errc::timeout.
  virtual result<envelope> request(std::string_view subject, std::span<const std::uint8_t> data,
                                   std::chrono::milliseconds timeout) = 0;

  /// Waits until the server has seen everything published so far, up to `timeout`.
  virtual result<> flush(std::chrono::milliseconds timeout) = 0;
};

/// Answers a request: publishes `data` to its reply subject. A message that was not a
/// request (no reply subject) is errc::invalid.
result<> reply(transport& t, const envelope& request, std::span<const std::uint8_t> data);

/// Delivers each message matching `pattern` to `dest` as an `envelope` (`caf::anon_send`).
/// The subscription holds a strong reference to the actor until it ends.
result<subscription> subscribe_actor(transport& t, std::string_view pattern,
                                     const caf::actor& dest);

}  // namespace mk::bus
