// The actors' typed replies as the API shows them: the only place they become JSON.
#include "api/replies.hpp"

#include <gtest/gtest.h>

namespace mk::api {
namespace {

using nlohmann::json;

TEST(replies, agents_merge_the_enrolled_and_the_heard_and_show_nulls_for_what_is_unknown) {
  actors::agent_status never;
  never.id = "vma-b";
  actors::agent_status heard{"local", true, 1795910400000, "esx-01.lab", "0.1.0", 2};
  actors::agent_record local{"local", "", "00", 1795910400000, true};
  actors::agent_record enrolled_only{"vma-c", "UABC", "00", 1795910400000, false};
  const auto shown = agents_json({heard, never}, {enrolled_only, local});
  ASSERT_EQ(shown["agents"].size(), 3u);
  EXPECT_EQ(shown["agents"][0], (json{{"id", "local"},
                                      {"enrolled", true},
                                      {"enrolled_at", "2026-11-29T00:00:00.000Z"},
                                      {"builtin", true},
                                      {"online", true},
                                      {"last_hello", "2026-11-29T00:00:00.000Z"},
                                      {"host", "esx-01.lab"},
                                      {"version", "0.1.0"},
                                      {"movers", 2}}));
  EXPECT_EQ(shown["agents"][1], (json{{"id", "vma-b"},
                                      {"enrolled", false},
                                      {"enrolled_at", nullptr},
                                      {"builtin", false},
                                      {"online", false},
                                      {"last_hello", nullptr},
                                      {"host", nullptr},
                                      {"version", nullptr},
                                      {"movers", 0}}));
  EXPECT_EQ(shown["agents"][2]["id"], "vma-c");
  EXPECT_EQ(shown["agents"][2]["enrolled"], true);
  EXPECT_EQ(shown["agents"][2]["online"], false);
  EXPECT_EQ(shown["agents"][2]["last_hello"], nullptr);
  EXPECT_FALSE(shown["agents"][2].contains("user")) << "the agent's key is not shown";
  EXPECT_FALSE(shown["agents"][2].contains("psk")) << "the agent's secret is not shown";
}

TEST(replies, a_graceful_plan_names_both_signals_and_what_a_resume_copies) {
  actors::stop_plan plan;
  plan.job = "r-1";
  plan.state = msg::job_state::replicating;
  plan.final_state = msg::job_state::stopped;
  plan.may_complete_first = true;
  plan.grace_seconds = 30;
  plan.vma_process = {"SIGTERM to the mover", 4242, "SIGTERM", "SIGKILL after 30 s"};
  plan.volume = {msg::volume_action::keep, "v-1", "flushed"};
  plan.bytes_kept = 10;
  plan.bytes_to_copy_on_resume = 90;
  const auto shown = plan_json(plan, "/var/lib/migratekit/volumes/v-1.img");
  EXPECT_EQ(shown["stop_in_progress"], nullptr);
  EXPECT_EQ(shown["final_state"], "stopped");
  EXPECT_EQ(shown["final_state_if_copy_finishes_first"], "completed");
  EXPECT_EQ(shown["mode"], "graceful");
  EXPECT_EQ(shown["volumes"], "keep");
  EXPECT_EQ(shown["participants"]["vma_process"], (json{{"action", "SIGTERM to the mover"},
                                                        {"pid", 4242},
                                                        {"signal", "SIGTERM"},
                                                        {"then", "SIGKILL after 30 s"}}));
  EXPECT_EQ(shown["participants"]["volume"],
            (json{{"action", "keep"},
                  {"id", "v-1"},
                  {"detail", "flushed"},
                  {"path", "/var/lib/migratekit/volumes/v-1.img"}}));
  EXPECT_EQ(shown["bytes_kept"], 10);
  EXPECT_EQ(shown["bytes_to_copy_on_resume"], 90);
}

TEST(replies, a_plan_without_a_mover_shows_nulls_and_a_delete_says_so_on_the_wire) {
  actors::stop_plan plan;
  plan.job = "r-1";
  plan.stop_in_progress = "s-1";
  plan.final_state = msg::job_state::cancelled;
  plan.volumes = msg::volume_action::remove;
  plan.vma_process.action = "no mover runs: reported not_running";
  plan.volume = {msg::volume_action::remove, "v-1", "detached and removed"};
  const auto shown = plan_json(plan, nullptr);
  EXPECT_EQ(shown["stop_in_progress"], "s-1");
  EXPECT_EQ(shown["final_state"], "cancelled");
  EXPECT_EQ(shown["final_state_if_copy_finishes_first"], nullptr);
  EXPECT_EQ(shown["volumes"], "delete");
  EXPECT_EQ(shown["participants"]["vma_process"]["pid"], nullptr);
  EXPECT_EQ(shown["participants"]["vma_process"]["signal"], nullptr);
  EXPECT_EQ(shown["participants"]["vma_process"]["then"], nullptr);
  EXPECT_EQ(shown["participants"]["volume"]["action"], "delete");
  EXPECT_EQ(shown["participants"]["volume"]["path"], nullptr);
  EXPECT_EQ(shown["bytes_to_copy_on_resume"], nullptr);
}

}  // namespace
}  // namespace mk::api
