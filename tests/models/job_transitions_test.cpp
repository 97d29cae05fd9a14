// The job state machine's table (docs/states.md, "Transitions"), checked pair by pair: every
// one of the 64 moves is either in the documented table or refused.
#include <gtest/gtest.h>

#include <set>
#include <utility>

#include "messages/enums.hpp"
#include "models/job_record.hpp"

namespace mk::actors {
namespace {

using enum msg::job_state;

TEST(job_transitions, exactly_the_documented_moves_are_allowed) {
  const std::set<std::pair<msg::job_state, msg::job_state>> documented = {
      {queued, starting},         {starting, replicating},
      {replicating, replicating},  // a mover adopted again
      {starting, completed},      {replicating, completed},
      {stopping, completed},      {starting, failed},
      {replicating, failed},      {stopping, failed},
      {queued, stopping},         {starting, stopping},
      {replicating, stopping},    {failed, stopping},
      {stopped, stopping},  // a stop with volumes delete
      {stopping, stopped},        {stopping, cancelled},
      {stopped, queued},          {failed, queued},  // resumes
  };
  const msg::job_state all[] = {queued,  starting,  replicating, stopping,
                                stopped, cancelled, failed,      completed};
  for (auto from : all)
    for (auto to : all)
      EXPECT_EQ(transition_allowed(from, to), documented.contains({from, to}))
          << msg::name_of(from) << " -> " << msg::name_of(to);
}

TEST(job_transitions, final_states_go_nowhere) {
  for (auto to : {queued, starting, replicating, stopping, stopped, cancelled, failed, completed}) {
    EXPECT_FALSE(transition_allowed(cancelled, to));
    EXPECT_FALSE(transition_allowed(completed, to));
  }
}

}  // namespace
}  // namespace mk::actors
