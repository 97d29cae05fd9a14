#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "actors/actor_config.hpp"
#include "actors/blocking_lanes.hpp"
#include "actors/bus_link.hpp"
#include "bus/in_memory_transport.hpp"

namespace mk::actors {

/// Actors driven step by step: CAF's deterministic scheduler and virtual clock, the bus in
/// memory, and a link for each side that publishes on it (the OMA's and agent `local`'s).
class deterministic_actors : public ::testing::Test {
 protected:
  struct test_config : actor_config {
    test_config() { set("scheduler.policy", caf::atom("testing")); }
  };

  deterministic_actors()
      : system_(cfg_),
        sched_(dynamic_cast<caf::scheduler::test_coordinator&>(system_.scheduler())),
        transport_(std::make_shared<bus::in_memory_transport>()),
        oma_(std::make_shared<bus_link>(transport_, "mk", "oma")),
        agent_(std::make_shared<bus_link>(transport_, "mk", "vma:local")),
        lanes_(std::make_shared<blocking_lanes>(system_, 2, blocking_lanes::threads::scheduler)) {}

  ~deterministic_actors() override {
    lanes_->stop();
    consume();
  }

  /// Runs every message that is due, without moving the clock.
  void consume() {
    while (sched_.try_run_once()) {
    }
  }

  /// Moves the virtual clock in steps, each step's timers handled before the next, so that
  /// every timer sees its own time.
  void advance(std::chrono::milliseconds d,
               std::chrono::milliseconds step = std::chrono::milliseconds(100)) {
    for (auto t = std::chrono::milliseconds(0); t < d; t += step) {
      sched_.advance_time(std::min(step, d - t));
      consume();
    }
  }

  test_config cfg_;
  caf::actor_system system_;
  caf::scheduler::test_coordinator& sched_;
  std::shared_ptr<bus::in_memory_transport> transport_;
  std::shared_ptr<bus_link> oma_;
  std::shared_ptr<bus_link> agent_;
  std::vector<bus::subscription> subscriptions_;
  /// Blocking work runs on lanes that this scheduler steps through like any actor.
  std::shared_ptr<blocking_lanes> lanes_;
};

}  // namespace mk::actors
