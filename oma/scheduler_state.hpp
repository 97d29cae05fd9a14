#pragma once

// The scheduler actor's state, shared by its two files: scheduler_actor.cpp (messages, timers,
// the stored list) and schedule_firing.cpp (what a schedule does to the jobs).

#include <caf/stateful_actor.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "actors/participant.hpp"
#include "messages/catalogue.hpp"
#include "models/schedule.hpp"
#include "oma/scheduler_actor.hpp"

namespace mk::actors {

struct trigger {
  std::string job;
  trigger_action action = trigger_action::start;
  std::int64_t at_unix_ms = 0;
};

/// A job that a window stopped and that was still stopping when the window opened: resumed
/// once its state says that this stop settled as `stopped`.
struct pending_resume {
  std::string schedule;
  std::string stop_id;
};

struct scheduler_state {
  std::shared_ptr<bus_link> bus;
  registry_hdl registry;
  scheduler_options opts;
  stop_answers answers{msg::participant::scheduler};
  std::vector<bus::subscription> subscriptions;
  std::map<std::string, trigger> triggers;
  std::uint64_t next_id = 0;
  std::map<std::string, schedule> schedules;
  bool started = false;              ///< the registry knows the jobs: schedules may act
  std::set<std::string> firing;      ///< one-shots whose action is under way
  std::set<std::string> reconciled;  ///< windows looked at since this actor started
  std::map<std::string, pending_resume> pending;  ///< job -> the window that resumes it
  std::uint64_t tick_generation = 0;
  static inline const char* name = "scheduler";
};

using scheduler_self = caf::stateful_actor<scheduler_state>*;

// scheduler_actor.cpp
/// Stores the schedule (if it still exists) and tells `changed`; a failure is logged.
void store_schedule(scheduler_self self, const std::string& id);

// schedule_firing.cpp
void fire_once(scheduler_self self, const std::string& id);
/// Stops the active jobs in the window's target and remembers them.
void close_window(scheduler_self self, const std::string& id);
/// Resumes the jobs of `s.stopped` whose current stop is still the window's own.
void open_window(scheduler_self self, const schedule& s);
/// A job's state changed: a pending resume, or a job queued while a window is closed.
void on_job_state(scheduler_self self, const msg::job_state_changed& c);

}  // namespace mk::actors
