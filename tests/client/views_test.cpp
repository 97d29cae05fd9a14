#include "client/views.hpp"

#include <gtest/gtest.h>

namespace mk::client {
namespace {

using nlohmann::json;

TEST(CtlViews, CompactValues) {
  EXPECT_EQ(compact("text"), "text");
  EXPECT_EQ(compact(nullptr), "");
  EXPECT_EQ(compact(3), "3");
  EXPECT_EQ(compact(json::array({"r-1", "r-2"})), "r-1, r-2");
  EXPECT_EQ(compact({{"signal", "SIGTERM"}, {"pid", 12}}), "pid=12, signal=SIGTERM");
  EXPECT_EQ(compact({{"a", {{"b", 1}}}}), "a={\"b\":1}");
}

TEST(CtlViews, KeyValuesFlattenNestedObjects) {
  json analytics = {{"stops", 12},
                    {"by_reason", {{"user", 10}, {"maintenance", 2}}},
                    {"duration_s", {{"p50", 1.5}, {"max", 31}}},
                    {"reasons_seen", {"user", "maintenance"}},
                    {"none", nullptr}};
  EXPECT_EQ(key_values(analytics),
            "by_reason.maintenance  2\n"
            "by_reason.user         10\n"
            "duration_s.max         31\n"
            "duration_s.p50         1.5\n"
            "reasons_seen           user, maintenance\n"
            "stops                  12\n");
}

TEST(CtlViews, KeyValuesNumberArraysOfObjects) {
  json j = {{"windows", json::array({{{"from", "22:00"}}, {{"from", "23:00"}}})}};
  EXPECT_EQ(key_values(j),
            "windows[0].from  22:00\n"
            "windows[1].from  23:00\n");
}

TEST(CtlViews, LogTable) {
  json log = {{"entries",
               {{{"ts", "2026-11-28T22:00:01.000Z"},
                 {"event", "stop_requested"},
                 {"actor", "api"},
                 {"job", "r-1"},
                 {"state", "stopping"},
                 {"stop_id", "s-1"},
                 {"detail", {{"mode", "graceful"}, {"volumes", "keep"}}}},
                {{"ts", "2026-11-28T22:00:02.000Z"},
                 {"event", "confirmed"},
                 {"actor", "vma_process"},
                 {"job", "r-1"},
                 {"state", "stopping"},
                 {"stop_id", "s-1"},
                 {"detail", {{"outcome", "exited"}}}}}}};
  EXPECT_EQ(log_table(log),
            "TIME                      EVENT           ACTOR        STATE     STOP  DETAIL\n"
            "2026-11-28T22:00:01.000Z  stop_requested  api          stopping  s-1   "
            "mode=graceful, volumes=keep\n"
            "2026-11-28T22:00:02.000Z  confirmed       vma_process  stopping  s-1   "
            "outcome=exited\n");
  EXPECT_EQ(log_table({{"entries", json::array()}}), "");
  EXPECT_EQ(log_table(nullptr), "");
}

TEST(CtlViews, PlanSaysWhatEachParticipantWouldDo) {
  json plan = {
      {"job", "r-1"},
      {"state", "replicating"},
      {"stop_in_progress", nullptr},
      {"final_state", "stopped"},
      {"final_state_if_copy_finishes_first", "completed"},
      {"mode", "graceful"},
      {"volumes", "keep"},
      {"grace_seconds", 30},
      {"participants",
       {{"scheduler", {{"action", "drops the job's pending triggers"}}},
        {"poller", {{"action", "takes a final progress snapshot and stops polling"}}},
        {"vma_process",
         {{"action", "SIGTERM to the mover"},
          {"pid", 1234},
          {"signal", "SIGTERM"},
          {"then", "SIGKILL after 30 s"}}},
        {"volume",
         {{"action", "keep"}, {"id", "v-1"}, {"path", nullptr}, {"detail", "marked partial"}}}}},
      {"bytes_kept", 1073741824},
      {"bytes_to_copy_on_resume", 1073741824}};
  EXPECT_EQ(plan_text(plan),
            "Dry run, nothing changed: r-1 (replicating) would end stopped, or completed if its "
            "copy finishes first\n"
            "mode           graceful\n"
            "volumes        keep\n"
            "grace          30s\n"
            "  scheduler    drops the job's pending triggers\n"
            "  poller       takes a final progress snapshot and stops polling\n"
            "  vma_process  SIGTERM to the mover (pid 1234, signal SIGTERM, then SIGKILL after "
            "30 s)\n"
            "  volume       keep (marked partial, id v-1)\n"
            "kept           1.0 GiB on the volume, not copied again by a resume\n"
            "resume copies  1.0 GiB\n");
}

TEST(CtlViews, BatchOutcome) {
  json outcome = {
      {"accepted", {"r-1", "r-2"}},
      {"rejected",
       {{{"id", "r-3"}, {"error", {{"code", "conflict"}, {"message", "r-3 is completed"}}}}}}};
  EXPECT_EQ(batch_text(outcome),
            "accepted: r-1, r-2\n"
            "rejected:\n"
            "  r-3  conflict: r-3 is completed\n");
  EXPECT_EQ(batch_text({{"accepted", json::array()}, {"rejected", json::array()}}),
            "accepted: none\n");
}

TEST(CtlViews, Schedules) {
  json answer = {{"schedules",
                  {{{"id", "sc-1"},
                    {"kind", "once"},
                    {"action", "stop"},
                    {"target", {{"job", "r-1"}}},
                    {"at", "2026-11-28T22:00:00.000Z"},
                    {"state", "fired"},
                    {"fired_at", "2026-11-28T22:00:00.002Z"},
                    {"result", {{"jobs", {"r-1"}}, {"detail", "asked 1 job to stop"}}}},
                   {{"id", "sc-2"},
                    {"kind", "window"},
                    {"target", {{"all", true}}},
                    {"window", {{"from", "22:00"}, {"to", "06:00"}}},
                    {"open", false},
                    {"next_change_at", "2026-11-29T22:00:00.000Z"},
                    {"stopped", {"r-1", "r-2"}}},
                   {{"id", "sc-3"},
                    {"kind", "once"},
                    {"action", "maintenance_on"},
                    {"target", {{"vma", "local"}}},
                    {"at", "2026-12-01T00:00:00.000Z"},
                    {"state", "pending"},
                    {"fired_at", nullptr}}}}};
  EXPECT_EQ(schedules_table(answer),
            "ID    WHAT            TARGET     WHEN                      STATUS\n"
            "sc-1  stop            job r-1    2026-11-28T22:00:00.000Z  fired "
            "2026-11-28T22:00:00.002Z: asked 1 job to stop\n"
            "sc-2  window          all        daily 22:00-06:00 UTC     closed until "
            "2026-11-29T22:00:00.000Z, 2 stopped\n"
            "sc-3  maintenance_on  vma local  2026-12-01T00:00:00.000Z  pending\n");
  EXPECT_EQ(schedules_table({{"something", "else"}}), "something  else\n");
}

}  // namespace
}  // namespace mk::client
