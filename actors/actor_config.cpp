#include "actors/actor_config.hpp"

#include <caf/atom.hpp>

#include "bus/transport.hpp"
#include "messages/caf_types.hpp"

namespace mk::actors {

actor_config::actor_config() {
  msg::add_message_types(*this);
  bus::add_bus_types(*this);
  // One queue that idle workers wait on, not work stealing: a stealing worker that found no
  // work polls again every 50 us for a while, then every 10 ms, forever. With a hundred jobs
  // ticking, that polling was a tenth of the machine (perf, bench/stops idle) while the actors
  // themselves had little to do.
  set("scheduler.policy", caf::atom("sharing"));
}

}  // namespace mk::actors
