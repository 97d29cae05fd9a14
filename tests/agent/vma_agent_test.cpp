// The VMA agent against a real nats-server (the product's, with the vma role's permissions),
// real nbdkit sources slowed by the rate filter so that a stop lands mid-copy, and real
// `migratekit copy` movers. The test plays the OMA: it sends start, status and stop requests
// on the bus and watches progress, confirmations and hellos there.
// Here: mover records, starts, resumes, exits, restarts, status and bad requests; the stops
// are in vma_agent_stop_test.cpp.

#include "vma_agent_fixture.hpp"

namespace mk::actors {
namespace vma_agent_test {
namespace {

TEST(MoverRecord, RoundTripsAndRefusesNamesThatAreNotIds) {
  test::temp_dir dir;
  mover_record r;
  r.job = "r-1";
  r.id = {4242, 987654};
  r.checkpoint = "r-1";
  r.started_at = 1700000000000;
  ASSERT_TRUE(write_mover_record(dir.path(), r));
  auto back = read_mover_record(dir / "r-1.json");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->id, r.id);
  EXPECT_EQ(back->checkpoint, "r-1");
  EXPECT_FALSE(back->ended);

  r.ended = mover_end{3, "exit 3, checkpoint stopped", false, 1 << 20, 1700000001000};
  ASSERT_TRUE(write_mover_record(dir.path(), r));
  back = read_mover_record(dir / "r-1.json");
  ASSERT_TRUE(back && back->ended) << (back ? "" : back.error().message);
  EXPECT_EQ(back->ended->exit_code, 3);
  EXPECT_EQ(back->ended->detail, "exit 3, checkpoint stopped");
  EXPECT_EQ(back->ended->bytes_done, 1u << 20);
  EXPECT_FALSE(std::filesystem::exists(dir / "r-1.json.tmp"));

  const auto refused = [&](const std::string& file, const std::string& text) {
    std::ofstream(dir / file) << text;
    auto bad = read_mover_record(dir / file);
    EXPECT_FALSE(bad) << file << ": " << text;
  };
  refused("r-2.json",
          R"({"job":"r-2","pid":1,"start_time":1,"checkpoint":"../../etc/x","started_at":0})");
  refused("r-3.json", R"({"job":"r-9","pid":1,"start_time":1,"checkpoint":"r-3","started_at":0})");
  refused("r-4.json", R"({"job":"r-4","pid":"1","start_time":1,"checkpoint":"r-4"})");
  refused("r-5.json", "not json");
  // The folder reads as the one good record; the others are skipped.
  auto all = read_mover_records(dir.path());
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().job, "r-1");
  r.job = "../x";
  EXPECT_FALSE(write_mover_record(dir.path(), r));
}

TEST_F(VmaAgent, StartReportsProgressThenGracefulStopConfirmsExitedWithCheckpoint) {
  constexpr std::uint64_t size = 64 * MiB;
  auto src = slow_source("src", size);
  auto dst = memory("dst", size);
  start_agent();
  const auto reply = start(start_request("r-1", src.uri(), dst.uri()));
  ASSERT_TRUE(reply.ok) << reply.error;
  EXPECT_EQ(reply.job, "r-1");
  ASSERT_GT(reply.pid, 0);
  ASSERT_TRUE(progress_reaches("r-1", 4 * MiB)) << "no progress on the bus";
  // Relayed as the agent looks at its mover (every second), not only once.
  ASSERT_TRUE(eventually([&] { return log_.progress("r-1").size() >= 2; }, 5s));
  const auto seen = log_.progress("r-1");
  for (std::size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GE(seen[i].bytes_done, seen[i - 1].bytes_done);
    EXPECT_EQ(seen[i].bytes_total, size);
    EXPECT_EQ(seen[i].state, msg::progress_state::copying);
  }
  // Asked again (a lost reply): the same mover, nothing new started.
  const auto again = start(start_request("r-1", src.uri(), dst.uri()));
  EXPECT_TRUE(again.ok) << again.error;
  EXPECT_EQ(again.pid, reply.pid);
  EXPECT_TRUE(reply.launched);
  EXPECT_FALSE(again.launched) << "it ran already";

  const auto asked = std::chrono::steady_clock::now();
  send_stop("r-1", "s-1");
  const auto c = confirmation("s-1");
  ASSERT_TRUE(c) << "no confirmation";
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 25s) << "past the default grace (30 s)";
  EXPECT_EQ(c->job, "r-1");
  EXPECT_EQ(c->who, msg::participant::vma_process);
  EXPECT_EQ(c->result, msg::outcome::exited) << c->detail;
  EXPECT_NE(c->detail.find("exit 3"), std::string::npos) << c->detail;
  EXPECT_NE(c->detail.find("checkpoint stopped"), std::string::npos) << c->detail;
  EXPECT_FALSE(c->completed);
  EXPECT_FALSE(alive(static_cast<pid_t>(reply.pid)));

  auto cp = nbd::load_checkpoint(checkpoint_file("r-1").string());
  ASSERT_TRUE(cp) << cp.error().message;
  EXPECT_EQ(cp->state, nbd::copy_state::stopped);
  EXPECT_GE(cp->done.bytes(), 2 * MiB);
  EXPECT_LT(cp->done.bytes(), size);
  // The mover's last line is relayed; no `exited` progress, since a stop was asked.
  EXPECT_TRUE(eventually(
      [&] { return log_.progress("r-1").back().state == msg::progress_state::stopped; }, 2s));
  EXPECT_FALSE(exited("r-1", 500ms));

  const auto st = status();
  EXPECT_EQ(st.vma, agent_id);
  const auto m = find_mover(st.movers, "r-1");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->state, msg::mover_state::exited);
  EXPECT_EQ(m->exit_code, 3);
  EXPECT_EQ(m->pid, reply.pid);
  EXPECT_EQ(m->bytes_done, cp->done.bytes());

  // The exit status is kept where the next agent finds it.
  auto rec = read_mover_record(data_ / "movers" / "r-1.json");
  ASSERT_TRUE(rec) << rec.error().message;
  ASSERT_TRUE(rec->ended);
  EXPECT_EQ(rec->ended->exit_code, 3);
}

TEST_F(VmaAgent, ResumeContinuesFromTheCheckpointAndCompletes) {
  constexpr std::uint64_t size = 16 * MiB;
  auto src = slow_source("src", size, "64M");
  auto dst = memory("dst", size);
  start_agent();
  ASSERT_TRUE(start(start_request("r-2", src.uri(), dst.uri())).ok);
  ASSERT_TRUE(progress_reaches("r-2", 2 * MiB));
  send_stop("r-2", "s-2");
  const auto c = confirmation("s-2");
  ASSERT_TRUE(c);
  ASSERT_EQ(c->result, msg::outcome::exited) << c->detail;
  auto cp = nbd::load_checkpoint(checkpoint_file("r-2").string());
  ASSERT_TRUE(cp) << cp.error().message;
  const auto kept = cp->done.bytes();
  ASSERT_GT(kept, 0u);

  const auto before = log_.progress("r-2").size();
  const auto reply = start(start_request("r-2", src.uri(), dst.uri(), true));
  ASSERT_TRUE(reply.ok) << reply.error;
  EXPECT_TRUE(reply.launched);
  EXPECT_EQ(reply.checkpoint_bytes, kept) << "what the run takes from its checkpoint";
  const auto end = exited("r-2", 20s);
  ASSERT_TRUE(end) << "the resumed mover did not end";
  EXPECT_EQ(end->exit_code, 0) << end->detail;
  EXPECT_EQ(end->bytes_done, size);
  // The resumed copy began where the checkpoint ended, not at zero.
  const auto after = log_.progress("r-2");
  ASSERT_GT(after.size(), before);
  EXPECT_GE(after[before].bytes_done, kept);
  EXPECT_EQ(test::read_text(data_ / "logs" / "r-2.log").find("rror"), std::string::npos);
}

TEST_F(VmaAgent, ResumeWithoutCheckpointStartsAfreshAndAStaleOneIsRemoved) {
  constexpr std::uint64_t size = 1 * MiB;
  auto src = slow_source("src", size, "1G");
  auto dst1 = memory("dst1", size);
  auto dst2 = memory("dst2", size);
  start_agent();
  // resume=true but no checkpoint (a mover stopped before it connected writes none).
  const auto afresh = start(start_request("r-3", src.uri(), dst1.uri(), true));
  ASSERT_TRUE(afresh.ok) << afresh.error;
  EXPECT_TRUE(afresh.launched);
  EXPECT_EQ(afresh.checkpoint_bytes, 0u);
  const auto first = exited("r-3");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->exit_code, 0) << first->detail;

  // resume=false with a checkpoint left over: the mover would refuse it (exit 2).
  {
    std::ofstream stale(checkpoint_file("r-4"));
    stale << "{\"not\":\"a checkpoint\"}";
  }
  ASSERT_TRUE(start(start_request("r-4", src.uri(), dst2.uri())).ok);
  const auto second = exited("r-4");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->exit_code, 0) << second->detail;
}

TEST_F(VmaAgent, MoverThatCompletesReportsExitedZeroAndALaterStopSaysCompleted) {
  constexpr std::uint64_t size = 4 * MiB;
  auto src = slow_source("src", size, "1G");
  auto dst = memory("dst", size);
  start_agent();
  const auto reply = start(start_request("r-12", src.uri(), dst.uri()));
  ASSERT_TRUE(reply.ok) << reply.error;
  const auto end = exited("r-12");
  ASSERT_TRUE(end) << "no exited progress";
  EXPECT_EQ(end->exit_code, 0) << end->detail;
  EXPECT_EQ(end->bytes_done, size);
  EXPECT_EQ(end->bytes_total, size);
  EXPECT_NE(end->detail.find("exit 0, checkpoint completed"), std::string::npos) << end->detail;

  send_stop("r-12", "s-12");
  const auto c = confirmation("s-12", 5s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->result, msg::outcome::not_running);
  EXPECT_TRUE(c->completed) << "a stop that races with completion settles as completed";
  EXPECT_NE(c->detail.find("exited earlier: exit 0"), std::string::npos) << c->detail;
}

TEST_F(VmaAgent, MoverThatFailsReportsItsExitCodeAndStderr) {
  auto src = slow_source("src", 4 * MiB, "1G");
  auto dst = memory("dst", 1 * MiB);  // smaller than the source: the mover refuses (exit 2)
  start_agent();
  ASSERT_TRUE(start(start_request("r-13", src.uri(), dst.uri())).ok);
  const auto end = exited("r-13");
  ASSERT_TRUE(end) << "no exited progress";
  EXPECT_EQ(end->exit_code, 2) << end->detail;
  EXPECT_NE(end->detail.find("exit 2"), std::string::npos) << end->detail;
  EXPECT_NE(end->detail.find("stderr: "), std::string::npos) << end->detail;
  EXPECT_NE(end->detail.find("smaller"), std::string::npos) << end->detail;
  const auto st = status();
  const auto m = find_mover(st.movers, "r-13");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->state, msg::mover_state::exited);
  EXPECT_EQ(m->exit_code, 2);
}

TEST_F(VmaAgent, RestartedAgentReadoptsTheMoverAndStopsIt) {
  constexpr std::uint64_t size = 64 * MiB;
  auto src = slow_source("src", size);
  auto dst = memory("dst", size);
  start_agent();
  const auto reply = start(start_request("r-14", src.uri(), dst.uri()));
  ASSERT_TRUE(reply.ok) << reply.error;
  const auto pid = static_cast<pid_t>(reply.pid);
  ASSERT_TRUE(progress_reaches("r-14", 1 * MiB));

  stop_agent();  // the actor system goes with it
  ASSERT_TRUE(alive(pid)) << "the agent's shutdown must leave its movers running";
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(alive(pid));

  start_agent();
  const auto hello = log_.hellos().back();
  EXPECT_EQ(hello.vma, agent_id);
  EXPECT_EQ(hello.hdr.from, "vma:local");
  const auto m = find_mover(hello.movers, "r-14");
  ASSERT_TRUE(m) << "the hello does not list the mover";
  EXPECT_EQ(m->state, msg::mover_state::running);
  EXPECT_EQ(m->pid, pid);
  // Adopted, it has no progress pipe: its checkpoint feeds the progress now.
  const auto seen = log_.progress("r-14").size();
  // The mover writes its checkpoint once a second: the first ones read may still say 0 bytes.
  ASSERT_TRUE(eventually(
      [&] {
        const auto p = log_.progress("r-14");
        return p.size() > seen + 1 && p.back().bytes_done > 0;
      },
      5s));
  EXPECT_EQ(log_.progress("r-14").back().bytes_total, size);
  // Asked again to start it, the agent answers with the adopted mover.
  const auto again = start(start_request("r-14", src.uri(), dst.uri()));
  EXPECT_TRUE(again.ok);
  EXPECT_EQ(again.pid, pid);

  send_stop("r-14", "s-14");
  const auto c = confirmation("s-14");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->result, msg::outcome::exited) << c->detail;
  // The mover is still this process's child (both agents ran here): its status is known.
  EXPECT_NE(c->detail.find("exit 3, checkpoint stopped"), std::string::npos) << c->detail;
  EXPECT_FALSE(alive(pid));
}

TEST_F(VmaAgent, RestartedAgentReportsAMoverThatEndedMeanwhile) {
  constexpr std::uint64_t size = 64 * MiB;
  auto copy = start_copy("r-15", size);
  ASSERT_FALSE(HasFailure());
  const auto& reply = copy.reply;
  stop_agent();
  // While no agent watches, the mover is stopped from elsewhere.
  ASSERT_EQ(::kill(static_cast<pid_t>(reply.pid), SIGTERM), 0);
  ASSERT_TRUE(eventually([&] { return !alive(static_cast<pid_t>(reply.pid)); }, 10s));

  start_agent();
  const auto hello = log_.hellos().back();
  const auto m = find_mover(hello.movers, "r-15");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->state, msg::mover_state::exited);
  EXPECT_EQ(m->exit_code, -1) << "the exit status went with the agent";
  EXPECT_NE(m->detail.find("checkpoint stopped"), std::string::npos) << m->detail;
  const auto end = exited("r-15", 5s);
  ASSERT_TRUE(end) << "the OMA learns of it by an exited progress too";
  EXPECT_EQ(end->exit_code, -1);
  send_stop("r-15", "s-15");
  const auto c = confirmation("s-15", 5s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->result, msg::outcome::not_running);
  ::waitpid(static_cast<pid_t>(reply.pid), nullptr, 0);  // our child: reap the zombie
}

TEST_F(VmaAgent, RestartedAgentTakesACompletedCheckpointForExitZero) {
  constexpr std::uint64_t size = 16 * MiB;
  auto src = slow_source("src", size, "64M");
  auto dst = memory("dst", size);
  start_agent();
  const auto reply = start(start_request("r-22", src.uri(), dst.uri()));
  ASSERT_TRUE(reply.ok) << reply.error;
  ASSERT_TRUE(progress_reaches("r-22", 1));
  stop_agent();
  // The copy completes while no agent watches: its exit status is lost with the agent.
  ASSERT_TRUE(eventually([&] { return !alive(static_cast<pid_t>(reply.pid)); }, 10s));

  start_agent();
  const auto hello = log_.hellos().back();
  const auto m = find_mover(hello.movers, "r-22");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->state, msg::mover_state::exited);
  EXPECT_EQ(m->exit_code, 0) << m->detail;
  EXPECT_EQ(m->bytes_done, size);
  EXPECT_NE(m->detail.find("checkpoint completed"), std::string::npos) << m->detail;
  const auto end = exited("r-22", 5s);
  ASSERT_TRUE(end);
  EXPECT_EQ(end->exit_code, 0) << end->detail;
  send_stop("r-22", "s-22");
  const auto c = confirmation("s-22", 5s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->result, msg::outcome::not_running);
  EXPECT_TRUE(c->completed);
  ::waitpid(static_cast<pid_t>(reply.pid), nullptr, 0);  // our child: reap the zombie
}

// The OMA never opens a source: the agent that will read it tells its size (docs/bus.md).
TEST_F(VmaAgent, AProbeAnswersTheSizeOfASourceAsTheAgentReadsIt) {
  auto src = memory("src", 3 * MiB);
  start_agent();
  const auto nbd = probe("r-30", src.uri());
  ASSERT_TRUE(nbd.ok) << nbd.error;
  EXPECT_EQ(nbd.job, "r-30");
  EXPECT_EQ(nbd.size, 3 * MiB);
  test::write_sparse_file(sources_ / "disk.img", 5 * MiB, {{0, 1 * MiB}});
  const auto file = probe("r-31", (sources_ / "disk.img").string());
  ASSERT_TRUE(file.ok) << file.error;
  EXPECT_EQ(file.size, 5 * MiB);

  const auto outside = probe("r-32", "/etc/passwd");
  EXPECT_FALSE(outside.ok);
  EXPECT_NE(outside.error.find("outside the source roots"), std::string::npos) << outside.error;
  const auto bad_job = probe("Bad_Job", src.uri());
  EXPECT_FALSE(bad_job.ok);
  EXPECT_NE(bad_job.error.find("job: not a valid id"), std::string::npos) << bad_job.error;
  const auto nobody = probe("r-33", "nbd+unix:///?socket=" + (dir_ / "none.sock").string());
  EXPECT_FALSE(nobody.ok);
  EXPECT_NE(nobody.error.find("none.sock"), std::string::npos) << nobody.error;
  EXPECT_FALSE(std::filesystem::exists(data_ / "movers" / "r-30.json")) << "a probe starts nothing";
}

TEST_F(VmaAgent, AProbeOfASourceThatDoesNotAnswerFailsInTime) {
  auto src = memory("src", 1 * MiB);
  src.proc().signal(SIGSTOP);  // frozen: connects, never answers the handshake
  adjust_options = [](vma_agent_options& o) { o.probe_timeout = 2s; };
  start_agent();
  const auto started = std::chrono::steady_clock::now();
  const auto frozen = probe("r-34", src.uri());
  src.proc().signal(SIGCONT);
  EXPECT_FALSE(frozen.ok);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s + 5s);
  EXPECT_NE(frozen.error.find("source"), std::string::npos) << frozen.error;
  // The agent still answers: the probe ran on a lane, not on the agent's thread.
  EXPECT_EQ(status().vma, "local");
}

TEST_F(VmaAgent, BadStartRequestsAreRefusedWithAClearError) {
  auto dst = memory("dst", 1 * MiB);
  start_agent();
  const auto refused = [&](msg::start_mover m, const std::string& words) {
    const auto r = start(m);
    EXPECT_FALSE(r.ok) << m.job << " " << m.source << " " << m.target;
    EXPECT_NE(r.error.find(words), std::string::npos) << r.error;
  };
  refused(start_request("Bad_Job", "nbd://127.0.0.1/x", dst.uri()), "job: not a valid id");
  auto m = start_request("r-16", "nbd://127.0.0.1/x", dst.uri());
  m.checkpoint = "../../etc/cp";
  refused(m, "checkpoint: a name");
  refused(start_request("r-16", "/etc/passwd", dst.uri()), "outside the source roots");
  refused(start_request("r-16", "disk.img", dst.uri()), "not an NBD URI");
  refused(start_request("r-16", "http://example.com/disk", dst.uri()), "not an NBD URI");
  refused(start_request("r-16", "nbd://127.0.0.1/x", (dir_ / "t.img").string()),
          "target " + (dir_ / "t.img").string() + ": not an NBD URI");
  // A link under a root that points outside it is outside.
  std::filesystem::create_symlink("/etc/passwd", sources_ / "link");
  refused(start_request("r-16", (sources_ / "link").string(), dst.uri()), "outside");
  refused(start_request("r-16", (sources_ / ".." / "agent").string(), dst.uri()), "outside");
  refused(start_request("r-16", (sources_ / "missing.img").string(), dst.uri()), "no such file");
  EXPECT_FALSE(std::filesystem::exists(data_ / "movers" / "r-16.json"));

  // A file under a root is a valid source.
  test::write_sparse_file(sources_ / "disk.img", 1 * MiB, {{0, 1 * MiB}});
  const auto ok = start(start_request("r-17", (sources_ / "disk.img").string(), dst.uri()));
  ASSERT_TRUE(ok.ok) << ok.error;
  const auto end = exited("r-17");
  ASSERT_TRUE(end);
  EXPECT_EQ(end->exit_code, 0) << end->detail;
}

TEST_F(VmaAgent, StatusListsRunningAndEndedMovers) {
  auto slow = slow_source("slow", 64 * MiB);
  auto fast = slow_source("fast", 1 * MiB, "1G");
  auto dst1 = memory("dst1", 64 * MiB);
  auto dst2 = memory("dst2", 1 * MiB);
  auto slow2 = slow_source("slow2", 64 * MiB);
  auto dst3 = memory("dst3", 64 * MiB);
  start_agent();
  EXPECT_TRUE(status().movers.empty());
  const auto running = start(start_request("r-18", slow.uri(), dst1.uri()));
  ASSERT_TRUE(running.ok) << running.error;
  ASSERT_TRUE(start(start_request("r-19", fast.uri(), dst2.uri())).ok);
  ASSERT_TRUE(exited("r-19"));
  ASSERT_TRUE(progress_reaches("r-18", 1 * MiB));
  // The agent learns the bytes from the same progress it publishes.
  ASSERT_TRUE(eventually(
      [&] {
        const auto m = find_mover(status().movers, "r-18");
        return m && m->bytes_done >= 1 * MiB;
      },
      5s));
  const auto st = status();
  EXPECT_EQ(st.vma, agent_id);
  EXPECT_EQ(st.hdr.from, "vma:local");
  ASSERT_EQ(st.movers.size(), 2u);
  const auto r = find_mover(st.movers, "r-18");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, msg::mover_state::running);
  EXPECT_EQ(r->pid, running.pid);
  const auto e = find_mover(st.movers, "r-19");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, msg::mover_state::exited);
  EXPECT_EQ(e->exit_code, 0);
  EXPECT_EQ(e->bytes_done, 1 * MiB);

  // Started again, a job is no longer listed as ended.
  ASSERT_TRUE(start(start_request("r-19", slow2.uri(), dst3.uri())).ok);
  const auto again = find_mover(status().movers, "r-19");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->state, msg::mover_state::running);
  EXPECT_EQ(again->exit_code, -1);
  send_stop("r-18", "s-18", msg::stop_mode::force);
  send_stop("r-19", "s-19", msg::stop_mode::force);
  ASSERT_TRUE(confirmation("s-18", 5s));
  ASSERT_TRUE(confirmation("s-19", 5s));
}

// A long-running agent forgets ended movers past their retention, record and all, and its
// replies list only the newest of them (issue 13: 205 of them after 200 fault-suite rounds).
TEST_F(VmaAgent, EndedMoversArePrunedWhileItRunsAndRepliesListTheNewest) {
  adjust_options = [](vma_agent_options& o) {
    o.ended_retention = 8s;
    o.ended_prune_interval = 100ms;
    o.max_ended_reported = 2;
  };
  std::vector<nbdkit_server> servers;
  start_agent();
  for (const auto* job : {"r-30", "r-31", "r-32"}) {
    servers.push_back(slow_source(std::string("src-") + job, 1 * MiB, "1G"));
    servers.push_back(memory(std::string("dst-") + job, 1 * MiB));
    const auto& src = servers[servers.size() - 2];
    ASSERT_TRUE(start(start_request(job, src.uri(), servers.back().uri())).ok);
    ASSERT_TRUE(exited(job));
    std::this_thread::sleep_for(20ms);  // distinct end times, so "newest" means one order
  }
  const auto listed = status().movers;
  ASSERT_EQ(listed.size(), 2u) << "at most max_ended_reported ended movers in a reply";
  EXPECT_TRUE(find_mover(listed, "r-31") && find_mover(listed, "r-32")) << "the newest two";
  EXPECT_TRUE(std::filesystem::exists(data_ / "movers" / "r-30.json"))
      << "only the reply is bounded: the record stays for its retention";

  // Still running, the agent forgets them once their retention has passed.
  ASSERT_TRUE(eventually([&] { return status().movers.empty(); }, 20s))
      << "ended movers still listed past their retention";
  EXPECT_TRUE(eventually([&] { return std::filesystem::is_empty(data_ / "movers"); }, 5s));
}

// The real `migratekit vma` process: killed with SIGKILL mid-copy, started again on the same
// data folder, it re-adopts the mover that kept running, and stops it when asked.
TEST_F(VmaAgent, RealAgentProcessKilledAndRestartedReadoptsItsMover) {
  constexpr std::uint64_t size = 64 * MiB;
  auto src = slow_source("src", size);
  auto dst = memory("dst", size);
  const auto run_agent = [&](const std::string& log) {
    return test::process::spawn({MK_MIGRATEKIT_PATH, "vma", "--nats", server_->url(), "--creds",
                                 agent_creds(agent_id).string(), "--id", agent_id, "--data",
                                 data_.string(), "--mover-arg=--requests", "--mover-arg=4"},
                                {.stdout_path = dir_ / log, .stderr_path = dir_ / log});
  };
  auto agent = run_agent("vma1.log");
  ASSERT_TRUE(eventually([&] { return !log_.hellos().empty(); }, 10s))
      << test::read_text(dir_ / "vma1.log");
  const auto reply = start(start_request("r-20", src.uri(), dst.uri()));
  ASSERT_TRUE(reply.ok) << reply.error;
  const auto pid = static_cast<pid_t>(reply.pid);
  ASSERT_TRUE(progress_reaches("r-20", 1 * MiB)) << test::read_text(dir_ / "vma1.log");

  agent.kill();
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(alive(pid)) << "the mover must outlive its agent";

  const auto hellos = log_.hellos().size();
  agent = run_agent("vma2.log");
  ASSERT_TRUE(eventually([&] { return log_.hellos().size() > hellos; }, 10s))
      << test::read_text(dir_ / "vma2.log");
  const auto hello = log_.hellos().back();
  const auto m = find_mover(hello.movers, "r-20");
  ASSERT_TRUE(m) << test::read_text(dir_ / "vma2.log");
  EXPECT_EQ(m->state, msg::mover_state::running);
  EXPECT_EQ(m->pid, pid);

  send_stop("r-20", "s-20");
  const auto c = confirmation("s-20");
  ASSERT_TRUE(c) << test::read_text(dir_ / "vma2.log");
  EXPECT_EQ(c->result, msg::outcome::exited) << c->detail;
  // No longer the agent's child: the checkpoint tells how it ended.
  EXPECT_NE(c->detail.find("exit status unknown (adopted), checkpoint stopped"), std::string::npos)
      << c->detail;
  EXPECT_TRUE(eventually([&] { return !alive(pid); }, 2s));

  agent.signal(SIGTERM);
  const auto status = agent.wait_for(10s);
  ASSERT_TRUE(status) << "the agent did not end on SIGTERM";
  EXPECT_EQ(*status, test::exit_status::exited(0)) << test::read_text(dir_ / "vma2.log");
}

}  // namespace
}  // namespace vma_agent_test
}  // namespace mk::actors
