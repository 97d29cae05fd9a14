#pragma once

#include <caf/actor_system_config.hpp>

namespace mk::actors {

/// The CAF configuration every process of MigrateKit runs its actors with: the catalogue's
/// messages and the bus's envelope registered, so that actors can send them to each other.
class actor_config : public caf::actor_system_config {
 public:
  actor_config();
};

}  // namespace mk::actors
