#include "actors/actor_config.hpp"

#include "bus/transport.hpp"
#include "messages/caf_types.hpp"

namespace mk::actors {

actor_config::actor_config() {
  msg::add_message_types(*this);
  bus::add_bus_types(*this);
}

}  // namespace mk::actors
