#include "bus/transport.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>

namespace mk::bus {

void add_bus_types(caf::actor_system_config& cfg) { cfg.add_message_type<envelope>("mk_envelope"); }

subscription& subscription::operator=(subscription&& other) noexcept {
  if (this != &other) {
    reset();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

void subscription::reset() noexcept {
  if (auto state = std::move(impl_)) state->cancel();
}

result<> reply(transport& t, const envelope& request, std::span<const std::uint8_t> data) {
  if (request.reply.empty()) {
    return fail(errc::invalid, "reply to " + request.subject + ": the message was no request");
  }
  return t.publish(request.reply, data);
}

result<subscription> subscribe_actor(transport& t, std::string_view pattern,
                                     const caf::actor& dest) {
  return t.subscribe(pattern, [dest](envelope e) { caf::anon_send(dest, std::move(e)); });
}

}  // namespace mk::bus
