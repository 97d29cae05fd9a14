#include "messages/caf_types.hpp"

#include <caf/all.hpp>

namespace mk::msg {

namespace {

template <class... Ts>
void add_all(caf::actor_system_config& cfg, std::variant<Ts...>*) {
  (cfg.add_message_type<Ts>(std::string(Ts::caf_name)), ...);
}

}  // namespace

void add_message_types(caf::actor_system_config& cfg) {
  add_all(cfg, static_cast<any_message*>(nullptr));
  cfg.add_message_type<mover_info>(std::string(mover_info::caf_name));
}

}  // namespace mk::msg
