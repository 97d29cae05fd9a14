#include "client/render.hpp"

#include <gtest/gtest.h>

#include "samples.hpp"

namespace mk::client {
namespace {

using nlohmann::json;

TEST(CtlRender, TableAlignsColumnsAndLeavesOutEmptyOnes) {
  auto text =
      render_table({"ID", "NOTE", "STATE"}, {{"r-1", "", "replicating"}, {"r-22", "", "stopped"}});
  EXPECT_EQ(text,
            "ID    STATE\n"
            "r-1   replicating\n"
            "r-22  stopped\n");
}

TEST(CtlRender, TableLinesCarryNoTrailingSpaces) {
  auto text = render_table({"A", "B"}, {{"x", "long value"}, {"yy", ""}});
  EXPECT_EQ(text,
            "A   B\n"
            "x   long value\n"
            "yy\n");
}

TEST(CtlRender, TableWidthCountsCodePointsNotBytes) {
  auto text = render_table({}, {{"Zürich", "a"}, {"Bern", "b"}});
  EXPECT_EQ(text,
            "Zürich  a\n"
            "Bern    b\n");
}

TEST(CtlRender, NoRowsNoTable) { EXPECT_EQ(render_table({"ID", "STATE"}, {}), ""); }

TEST(CtlRender, PairsWithoutValueAreLeftOut) {
  EXPECT_EQ(render_pairs({{"id", "r-1"}, {"error", ""}, {"state", "failed"}}),
            "id     r-1\n"
            "state  failed\n");
}

TEST(CtlRender, ClipCutsLongTextWithAnEllipsis) {
  EXPECT_EQ(clip("short", 10), "short");
  EXPECT_EQ(clip("exactly10!", 10), "exactly10!");
  EXPECT_EQ(clip("a much longer name", 10), "a much ...");
  EXPECT_EQ(clip("Zürich Zürich", 8), "Züric...");
  EXPECT_EQ(clip("abc", 2), "..");
}

TEST(CtlRender, Durations) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(45), "45s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(2 * 3600 + 14 * 60 + 30), "2h14m");
  EXPECT_EQ(format_duration(3 * 86400 + 4 * 3600), "3d04h");
  EXPECT_EQ(format_duration(-5), "0s");
}

TEST(CtlRender, Rates) {
  EXPECT_EQ(format_rate(0), "");
  EXPECT_EQ(format_rate(512), "512 B/s");
  EXPECT_EQ(format_rate(104857600), "100.0 MiB/s");
}

TEST(CtlRender, FieldsThatAreMissingNullOrOfAnotherKindNeverThrow) {
  json j = {{"s", "text"}, {"n", 42}, {"neg", -3}, {"b", true}, {"z", nullptr}};
  EXPECT_EQ(field_text(j, "s"), "text");
  EXPECT_EQ(field_text(j, "n"), "42");
  EXPECT_EQ(field_text(j, "b"), "true");
  EXPECT_EQ(field_text(j, "z"), "");
  EXPECT_EQ(field_text(j, "missing"), "");
  EXPECT_EQ(field_text(json::array(), "s"), "");
  EXPECT_EQ(field_u64(j, "n"), 42u);
  EXPECT_EQ(field_u64(j, "neg"), 0u);
  EXPECT_EQ(field_u64(j, "s"), 0u);
  EXPECT_TRUE(field(json(7), "s").is_null());
}

TEST(CtlRender, ProgressOfAReplicatingJob) {
  auto p = progress_of(samples::job());
  EXPECT_EQ(p.percent, "50.0%");
  EXPECT_EQ(p.bytes, "1.0 GiB / 2.0 GiB");
  EXPECT_EQ(p.rate, "100.0 MiB/s");
  EXPECT_EQ(p.eta, "eta 10s");
}

TEST(CtlRender, AStoppedJobShowsItsBytesButNoRate) {
  auto p = progress_of(samples::job("r-1", "stopped"));
  EXPECT_EQ(p.percent, "50.0%");
  EXPECT_EQ(p.rate, "");
  EXPECT_EQ(p.eta, "");
}

TEST(CtlRender, AJobWithoutProgressHasEmptyCells) {
  auto j = samples::job("r-1", "queued");
  j["progress"] = nullptr;
  auto p = progress_of(j);
  EXPECT_EQ(p.percent + p.bytes + p.rate + p.eta, "");
}

TEST(CtlRender, StopSummaryNamesWhatIsNotTheDefault) {
  auto s = samples::stop();
  EXPECT_EQ(stop_summary(s), "s-91ab user");
  s["mode"] = "force";
  s["volumes"] = "delete";
  s["reason"] = "maintenance";
  EXPECT_EQ(stop_summary(s), "s-91ab maintenance force delete");
  EXPECT_EQ(stop_summary(nullptr), "");
}

TEST(CtlRender, ParticipantsInTheProtocolsOrderThenOthers) {
  json parts = {{"volume", "ok"},
                {"extra", "ok"},
                {"poller", "ok"},
                {"vma_process", "exited"},
                {"scheduler", "ok"}};
  EXPECT_EQ(participant_order(parts),
            (std::vector<std::string>{"scheduler", "poller", "vma_process", "volume", "extra"}));
}

TEST(CtlRender, JobsTable) {
  auto stopped = samples::stopping("stopped", samples::stop(), "2026-11-28T22:01:00.000Z");
  stopped["id"] = "r-2";
  stopped["resumable"] = true;
  auto failed = samples::job("r-3", "failed");
  failed["error"] = "stop_unconfirmed: volume";
  failed["progress"] = nullptr;
  EXPECT_EQ(jobs_table(json::array({samples::job(), stopped, failed})),
            "ID          NAME           STATE        VMA    PROGRESS  BYTES              "
            "RATE         STOP         ERROR\n"
            "r-7f3a9c21  web-01 disk 0  replicating  local  50.0%     1.0 GiB / 2.0 GiB  "
            "100.0 MiB/s\n"
            "r-2         web-01 disk 0  stopped      local  50.0%     1.0 GiB / 2.0 GiB  "
            "             s-91ab user\n"
            "r-3         web-01 disk 0  failed       local" +
                std::string(57, ' ') + "stop_unconfirmed: volume\n");
}

TEST(CtlRender, JobsTableOfNothingUsefulIsEmpty) {
  EXPECT_EQ(jobs_table(json::array()), "");
  EXPECT_EQ(jobs_table(nullptr), "");
  EXPECT_NO_THROW(jobs_table(json::array({1, nullptr, "x"})));
}

TEST(CtlRender, JobRowOfAStopInProgressCountsConfirmations) {
  auto j = samples::stopping("stopping",
                             samples::stop("s-91ab", {{"scheduler", "ok"}, {"poller", "ok"}}),
                             "2026-11-28T22:00:01.000Z");
  auto row = job_row(j);
  ASSERT_EQ(row.size(), 7u);
  EXPECT_EQ(row[2], "stopping");
  EXPECT_EQ(row[6], "stop s-91ab user: 2/4 confirmed");
}

TEST(CtlRender, JobDetailShowsTheStopAndItsParticipantsInOrder) {
  auto stop = samples::stop("s-91ab", {{"vma_process", "killed"}, {"scheduler", "ok"}});
  stop["details"]["vma_process"] = "SIGKILL after the 30 s grace";
  auto text = job_detail(samples::stopping("stopping", stop, "2026-11-28T22:00:01.000Z"));
  EXPECT_NE(text.find("state           stopping\n"), std::string::npos) << text;
  EXPECT_NE(text.find("progress        50.0%  1.0 GiB / 2.0 GiB  100.0 MiB/s\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("volume          v-1c2d  attached  2.0 GiB  /srv/mk/volumes/v-1c2d.img\n"),
            std::string::npos)
      << text;
  auto scheduler = text.find("  scheduler     ok\n");
  auto poller = text.find("  poller        pending\n");
  auto vma = text.find("  vma_process   killed: SIGKILL after the 30 s grace\n");
  auto volume = text.find("  volume        pending\n");
  ASSERT_NE(scheduler, std::string::npos) << text;
  ASSERT_NE(vma, std::string::npos) << text;
  EXPECT_LT(scheduler, poller);
  EXPECT_LT(poller, vma);
  EXPECT_LT(vma, volume);
  EXPECT_EQ(text.find("error"), std::string::npos) << "a null error is left out";
}

TEST(CtlRender, JobDetailOfNothingDoesNotThrow) {
  EXPECT_NO_THROW(job_detail(nullptr));
  EXPECT_NO_THROW(job_detail(json::array()));
}

}  // namespace
}  // namespace mk::client
