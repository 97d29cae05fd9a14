#pragma once

// Blocking work off the scheduler's threads, in one way. A store write, a request to an agent
// that waits for its answer, an fsync: each would hold one of the few threads that run every
// actor of the process, and fifty jobs writing at once held them all (a maintenance stop's
// answer then took over 10 s). Such work runs instead as a task on a lane: a thread of its
// own, one of a fixed few. The same key always gets the same lane, so one job's writes are
// made in the order they were asked for.

#include <caf/all.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <vector>

namespace mk::actors {

/// One piece of blocking work. It only travels between the actors of one process.
struct blocking_task {
  std::function<void()> run;
};

}  // namespace mk::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mk::actors::blocking_task)

namespace mk::actors {

class blocking_lanes {
 public:
  /// `own`: each lane is a thread of its own (a running process). `scheduler`: the lanes are
  /// ordinary actors, for CAF's deterministic test scheduler, which then runs the work in its
  /// steps like any message.
  enum class threads { own, scheduler };

  blocking_lanes(caf::actor_system& system, std::size_t count, threads where = threads::own);
  ~blocking_lanes();
  blocking_lanes(const blocking_lanes&) = delete;
  blocking_lanes& operator=(const blocking_lanes&) = delete;

  /// The lane of `key`: always the same one for the same key.
  const caf::actor& lane(std::string_view key) const;

  /// Runs `work` on the lane of `key` and forgets it: `work` reports back by sending messages.
  void post(std::string_view key, std::function<void()> work) const;

  /// Ends the lanes once the work already given to them is done.
  void stop();

 private:
  std::vector<caf::actor> lanes_;
};

/// Whether an actor handles other messages while its blocking work runs.
enum class meanwhile {
  waits,   ///< no (CAF's `await`): nothing changes under the code that asked
  goes_on  ///< yes (CAF's `then`): work for different keys runs at once, on several lanes
};

/// Runs `work` on the lane of `key` and hands its result to `then` on `self`'s own thread; no
/// scheduler thread waits meanwhile. If the lane is gone (the process ends), `then` is not
/// called.
template <meanwhile M, class Self, class Work, class Then>
void on_lane(Self* self, const blocking_lanes& lanes, std::string_view key, Work work, Then then) {
  using result_type = std::invoke_result_t<Work&>;
  auto slot = std::make_shared<std::optional<result_type>>();
  auto handle = self->request(
      lanes.lane(key), caf::infinite,
      blocking_task{[slot, work = std::move(work)]() mutable { slot->emplace(work()); }});
  auto done = [slot, then = std::move(then)]() mutable {
    if (*slot) then(std::move(**slot));
  };
  // Only when the lanes end before the work is done: the process is ending.
  auto gone = [](const caf::error&) {};
  if constexpr (M == meanwhile::waits)
    std::move(handle).await(std::move(done), std::move(gone));
  else
    std::move(handle).then(std::move(done), std::move(gone));
}

/// on_lane, with `self` handling no other message meanwhile: the calling code reads as a
/// synchronous call would, and no state changes under it.
template <class Self, class Work, class Then>
void await_blocking(Self* self, const blocking_lanes& lanes, std::string_view key, Work work,
                    Then then) {
  on_lane<meanwhile::waits>(self, lanes, key, std::move(work), std::move(then));
}

}  // namespace mk::actors
