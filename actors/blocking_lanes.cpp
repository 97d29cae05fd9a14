// The lanes: each an actor that runs the tasks it is given, one after the other.
#include "actors/blocking_lanes.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <functional>

#include "actors/atoms.hpp"

namespace mk::actors {

namespace {

caf::behavior lane_behavior(caf::event_based_actor* self) {
  return {
      [self](shutdown_atom) { self->quit(); },
      [](blocking_task& task) {
        // Errors are values in this code base; an exception here is a library's, caught at
        // the border so that one task cannot end the lane and every task behind it.
        try {
          task.run();
        } catch (const std::exception& e) {
          spdlog::error("a blocking task failed: {}", e.what());
        }
      },
  };
}

}  // namespace

blocking_lanes::blocking_lanes(caf::actor_system& system, std::size_t count, threads where) {
  const auto n = std::max<std::size_t>(count, 1);  // at least one lane
  lanes_.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    lanes_.push_back(where == threads::own ? system.spawn<caf::detached>(lane_behavior)
                                           : system.spawn(lane_behavior));
}

blocking_lanes::~blocking_lanes() { stop(); }

const caf::actor& blocking_lanes::lane(std::string_view key) const {
  return lanes_[std::hash<std::string_view>{}(key) % lanes_.size()];
}

void blocking_lanes::post(std::string_view key, std::function<void()> work) const {
  caf::anon_send(lane(key), blocking_task{std::move(work)});
}

void blocking_lanes::stop() {
  // A message in line, not an exit (handled before the tasks queued ahead of it).
  for (auto& l : lanes_)
    if (l) caf::anon_send(l, shutdown_atom::value);
}

}  // namespace mk::actors
