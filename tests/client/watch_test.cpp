#include "client/watch.hpp"

#include <gtest/gtest.h>

#include "config/defaults.hpp"
#include "samples.hpp"

namespace mk::client {
namespace {

using nlohmann::json;
using strings = std::vector<std::string>;

json at(json job, const std::string& updated_at) {
  job["updated_at"] = updated_at;
  return job;
}

TEST(CtlBoard, AStopWaitEndsAsAskedOnStoppedAndReportsEachConfirmation) {
  job_board board({"r-7f3a9c21"}, stop_goal(false));
  EXPECT_EQ(board.update(samples::job()), strings{"r-7f3a9c21 web-01 disk 0: replicating"});
  EXPECT_FALSE(board.ended());

  auto s = samples::stop();
  EXPECT_EQ(board.update(samples::stopping("stopping", s, "2026-11-28T22:00:01.000Z")),
            strings{"r-7f3a9c21: replicating -> stopping (stop s-91ab user)"});
  s["participants"]["scheduler"] = "ok";
  s["participants"]["poller"] = "ok";
  EXPECT_EQ(board.update(samples::stopping("stopping", s, "2026-11-28T22:00:01.000Z")),
            (strings{"r-7f3a9c21: scheduler confirmed ok", "r-7f3a9c21: poller confirmed ok"}));
  s["participants"]["vma_process"] = "exited";
  s["details"]["vma_process"] = "drained, exit 3";
  EXPECT_EQ(board.update(samples::stopping("stopping", s, "2026-11-28T22:00:02.000Z")),
            strings{"r-7f3a9c21: vma_process confirmed exited (drained, exit 3)"});
  EXPECT_FALSE(board.ended());

  s["participants"]["volume"] = "ok";
  auto stopped = samples::stopping("stopped", s, "2026-11-28T22:00:03.000Z");
  stopped["resumable"] = true;
  EXPECT_EQ(board.update(stopped),
            (strings{"r-7f3a9c21: volume confirmed ok",
                     "r-7f3a9c21: stopping -> stopped, volume kept, resumable"}));
  EXPECT_TRUE(board.ended());
  EXPECT_TRUE(board.as_asked());
  EXPECT_TRUE(board.misses().empty());
}

TEST(CtlBoard, ACopyThatFinishesFirstEndsTheWaitButNotAsAsked) {
  job_board board({"r-7f3a9c21"}, stop_goal(false));
  board.update(samples::stopping("stopping", samples::stop(), "2026-11-28T22:00:01.000Z"));
  board.update(samples::stopping("completed", samples::stop(), "2026-11-28T22:00:02.000Z"));
  EXPECT_TRUE(board.ended());
  EXPECT_FALSE(board.as_asked());
  EXPECT_EQ(board.misses(), strings{"r-7f3a9c21 completed"});
}

TEST(CtlBoard, AStopWithDeleteIsAsAskedWhenCancelledNotWhenStopped) {
  job_board cancelled({"r-7f3a9c21"}, stop_goal(true));
  cancelled.update(samples::job("r-7f3a9c21", "cancelled"));
  EXPECT_TRUE(cancelled.ended());
  EXPECT_TRUE(cancelled.as_asked());

  job_board stopped({"r-7f3a9c21"}, stop_goal(true));
  stopped.update(samples::job("r-7f3a9c21", "stopped"));
  EXPECT_TRUE(stopped.ended());
  EXPECT_FALSE(stopped.as_asked());
}

TEST(CtlBoard, ADeleteEndsAsAskedWhenTheRecordIsRemoved) {
  job_board board({"r-1"}, delete_goal());
  board.update(samples::job("r-1", "stopping"));
  EXPECT_FALSE(board.ended());
  EXPECT_EQ(board.remove("r-1"), strings{"r-1: record removed (its JobLog stays)"});
  EXPECT_TRUE(board.remove("r-1").empty()) << "said once";
  EXPECT_TRUE(board.ended());
  EXPECT_TRUE(board.as_asked());
}

TEST(CtlBoard, ARemovalSeenBeforeTheSettlementSaysTheStateFromTheJobLog) {
  job_board board({"r-1"}, delete_goal());
  board.update(samples::job("r-1", "stopping"));
  const json log = {{"entries",
                     {{{"event", "stop_requested"}, {"state", "stopping"}},
                      {{"event", "stop_settled"}, {"state", "cancelled"}},
                      {{"event", "deleted"}, {"state", "cancelled"}}}}};
  EXPECT_EQ(board.remove("r-1", log),
            (strings{"r-1: stopping -> cancelled, volume deleted (from its JobLog)",
                     "r-1: record removed (its JobLog stays)"}));
  EXPECT_TRUE(board.as_asked());

  job_board seen({"r-2"}, delete_goal());
  seen.update(samples::job("r-2", "cancelled"));
  EXPECT_EQ(seen.remove("r-2", log), strings{"r-2: record removed (its JobLog stays)"})
      << "a state already shown is not said again";

  job_board unread({"r-3"}, delete_goal());
  unread.update(samples::job("r-3", "stopping"));
  EXPECT_EQ(unread.remove("r-3", json::object()), strings{"r-3: record removed (its JobLog stays)"})
      << "a JobLog that could not be read leaves out what it would tell";
}

TEST(CtlBoard, AResumeWaitsForCompletion) {
  job_board board({"r-1"}, resume_goal());
  board.update(samples::job("r-1", "queued"));
  board.update(at(samples::job("r-1", "replicating"), "2026-11-28T22:00:05.000Z"));
  EXPECT_FALSE(board.ended());
  auto failed = at(samples::job("r-1", "failed"), "2026-11-28T22:00:06.000Z");
  failed["error"] = "mover exited 1";
  EXPECT_EQ(board.update(failed), strings{"r-1: replicating -> failed: mover exited 1"});
  EXPECT_TRUE(board.ended());
  EXPECT_FALSE(board.as_asked());
}

TEST(CtlBoard, EveryJobOfABatchMustEnd) {
  job_board board({"r-1", "r-2"}, stop_goal(false));
  board.update(samples::job("r-1", "stopped"));
  EXPECT_FALSE(board.ended()) << "r-2 not seen yet";
  board.update(samples::job("r-2", "stopped"));
  EXPECT_TRUE(board.ended());
  EXPECT_TRUE(board.as_asked());
}

TEST(CtlBoard, AnOlderObjectThanTheOneHeldIsIgnored) {
  job_board board({"r-1"}, stop_goal(false));
  board.update(at(samples::job("r-1", "stopped"), "2026-11-28T22:00:03.000Z"));
  EXPECT_TRUE(
      board.update(at(samples::job("r-1", "stopping"), "2026-11-28T22:00:01.000Z")).empty());
  EXPECT_TRUE(board.ended());
  EXPECT_EQ(board.rows(false)[0][2], "stopped");
}

TEST(CtlBoard, JobsNotFollowedAreIgnored) {
  job_board board({"r-1"}, stop_goal(false));
  EXPECT_TRUE(board.update(samples::job("r-9", "stopped")).empty());
  EXPECT_TRUE(board.remove("r-9").empty());
  EXPECT_FALSE(board.follows("r-9"));
  EXPECT_TRUE(board.update(json("not a job")).empty());
  EXPECT_FALSE(board.ended());
}

TEST(CtlBoard, WatchingEveryJobNeverEnds) {
  job_board board({}, std::nullopt);
  EXPECT_TRUE(board.follows("anything"));
  board.update(samples::job("r-1", "completed"));
  board.update(samples::job("r-2", "replicating"));
  EXPECT_FALSE(board.ended());
  auto moving = board.rows(true);
  ASSERT_EQ(moving.size(), 1u);
  EXPECT_EQ(moving[0][0], "r-2");
  EXPECT_EQ(board.rows(false).size(), 2u);
}

TEST(CtlBoard, AJobNotSeenYetHasARowThatSaysSo) {
  job_board board({"r-1"}, stop_goal(false));
  auto rows = board.rows(false);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (table_row{"r-1", "", "", "", "", "", "(waiting for its state)"}));
  EXPECT_TRUE(board.rows(true).empty());
}

TEST(CtlBoard, ASecondStopReportsItsConfirmationsAgain) {
  job_board board({"r-7f3a9c21"}, std::nullopt);
  auto first = samples::stop("s-1", {{"scheduler", "ok"}});
  board.update(samples::stopping("stopping", first, "2026-11-28T22:00:01.000Z"));
  board.update(samples::stopping("stopped", first, "2026-11-28T22:00:02.000Z"));
  auto second = samples::stop("s-2", {{"scheduler", "ok"}});
  EXPECT_EQ(board.update(samples::stopping("stopping", second, "2026-11-28T22:00:03.000Z")),
            (strings{"r-7f3a9c21: stopped -> stopping (stop s-2 user)",
                     "r-7f3a9c21: scheduler confirmed ok"}));
}

TEST(CtlBoard, AStallIsToldOnce) {
  job_board board({}, std::nullopt);
  board.update(samples::job("r-1"));
  auto stalled = samples::job("r-1");
  stalled["stalled"] = true;
  EXPECT_EQ(board.update(stalled), strings{"r-1: stalled, its copy has not moved for a while"});
  EXPECT_TRUE(board.update(stalled).empty());
}

// -- the display ---------------------------------------------------------------------------

using clock = live_display::clock;

TEST(CtlDisplay, OnATerminalTheBlockIsRewrittenInPlaceUnderTheNotices) {
  job_board board({"r-1", "r-2"}, stop_goal(false));
  board.update(samples::job("r-1"));
  live_display display(true, 200, 50);
  auto t = clock::now();
  auto first = display.frame({"r-1 web-01 disk 0: replicating"}, board, t, "22:00:00");
  EXPECT_EQ(first.find("\x1b["), std::string::npos) << "nothing to move back over yet";
  EXPECT_TRUE(first.starts_with("22:00:00 r-1 web-01 disk 0: replicating\n")) << first;
  EXPECT_NE(first.find("r-1  web-01 disk 0  replicating  50.0%"), std::string::npos) << first;
  EXPECT_NE(first.find("\nr-2" + std::string(69, ' ') + "(waiting for its state)\n"),
            std::string::npos)
      << first;

  board.update(samples::job("r-2", "stopped"));
  auto second = display.frame({"r-2 web-01 disk 0: stopped"}, board, t, "22:00:01");
  EXPECT_TRUE(second.starts_with("\x1b[2A\r\x1b[J22:00:01 r-2 web-01 disk 0: stopped\n")) << second;
}

TEST(CtlDisplay, RedrawsWithoutNewsWaitForTheInterval) {
  job_board board({"r-1"}, std::nullopt);
  board.update(samples::job("r-1"));
  live_display display(true, 200, 50);
  auto t = clock::now();
  EXPECT_FALSE(display.frame({}, board, t, "").empty());
  EXPECT_TRUE(display.frame({}, board, t + std::chrono::milliseconds(10), "").empty());
  EXPECT_FALSE(display.frame({"news"}, board, t + std::chrono::milliseconds(20), "").empty());
  EXPECT_FALSE(display.frame({}, board, t + std::chrono::milliseconds(30), "", true).empty())
      << "the last frame is always drawn";
  EXPECT_FALSE(display.frame({}, board, t + defaults::ctl::redraw_interval * 2, "").empty());
}

TEST(CtlDisplay, TheBlockFitsTheTerminal) {
  job_board board({}, std::nullopt);
  for (int i = 0; i < 10; ++i) board.update(samples::job("r-" + std::to_string(i)));
  live_display display(true, 30, 6);
  auto text = display.frame({}, board, clock::now(), "");
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4);
  EXPECT_NE(text.find("... and 7 more\n"), std::string::npos) << text;
  std::size_t start = 0;
  for (auto end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
    EXPECT_LE(text_width(std::string_view(text).substr(start, end - start)), 29u);
    start = end + 1;
  }
}

TEST(CtlDisplay, WithNothingMovingItSaysSo) {
  job_board board({}, std::nullopt);
  live_display display(true, 80, 24);
  EXPECT_EQ(display.frame({}, board, clock::now(), ""), "(no job is moving; waiting for events)\n");
}

TEST(CtlDisplay, ElsewherePlainLinesAndProgressAtMostEveryInterval) {
  job_board board({"r-1"}, stop_goal(false));
  board.update(samples::job("r-1"));
  live_display display(false, 0, 0);
  auto t = clock::now();
  auto first = display.frame({"r-1 web-01 disk 0: replicating"}, board, t, "22:00:00");
  EXPECT_EQ(first,
            "22:00:00 r-1 web-01 disk 0: replicating\n"
            "22:00:00 r-1  web-01 disk 0  replicating  50.0%  1.0 GiB / 2.0 GiB  100.0 MiB/s  "
            "eta 10s\n");
  EXPECT_EQ(display.frame({}, board, t + std::chrono::seconds(1), "22:00:01"), "");
  EXPECT_EQ(
      display.frame({"r-1: poller confirmed ok"}, board, t + std::chrono::seconds(2), "22:00:02"),
      "22:00:02 r-1: poller confirmed ok\n");
  EXPECT_NE(display.frame({}, board, t + defaults::ctl::plain_progress_interval, "22:00:05"), "");
  board.update(at(samples::job("r-1", "stopped"), "2026-11-28T22:00:09.000Z"));
  EXPECT_EQ(display.frame({}, board, t + defaults::ctl::plain_progress_interval * 3, "22:00:15"),
            "")
      << "a job at rest has no progress to tell";
}

}  // namespace
}  // namespace mk::client
