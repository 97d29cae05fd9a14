// The job state machine's table (docs/states.md, "Transitions"), checked pair by pair: every
// one of the 64 moves is either in the documented table or refused; and the sets of states.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "messages/enums.hpp"
#include "messages/job_states.hpp"
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

TEST(job_state_sets, are_those_of_the_table_in_docs) {
  using names = std::vector<std::string>;
  EXPECT_EQ(msg::names_where(msg::is_active), (names{"queued", "starting", "replicating"}));
  EXPECT_EQ(msg::names_where(msg::may_run_mover), (names{"starting", "replicating", "stopping"}));
  EXPECT_EQ(msg::names_where(msg::may_resume), (names{"stopped", "failed"}));
  EXPECT_EQ(msg::names_where(msg::is_settled),
            (names{"stopped", "cancelled", "failed", "completed"}));
  EXPECT_EQ(msg::names_where(msg::is_final), (names{"cancelled", "completed"}));
  EXPECT_TRUE(msg::in_set(msg::is_active, "queued"));
  EXPECT_FALSE(msg::in_set(msg::is_active, "Queued")) << "not a state";
  EXPECT_FALSE(msg::in_set(msg::is_active, ""));
}

TEST(job_state_sets, a_final_state_is_settled_and_left_by_no_move) {
  for (std::size_t i = 0; i < 8; ++i) {
    const auto s = static_cast<msg::job_state>(i);
    if (!msg::is_final(s)) continue;
    EXPECT_TRUE(msg::is_settled(s));
    for (std::size_t j = 0; j < 8; ++j)
      EXPECT_FALSE(transition_allowed(s, static_cast<msg::job_state>(j)));
  }
}

}  // namespace
}  // namespace mk::actors
