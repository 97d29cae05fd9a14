// The VMA agent against a real nats-server (the product's, with the vma role's permissions),
// real nbdkit sources slowed by the rate filter so that a stop lands mid-copy, and real
// `migratekit copy` movers. The test plays the OMA: it sends start, status and stop requests
// on the bus and watches progress, confirmations and hellos there.

#include "actors/vma_agent.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <caf/all.hpp>
#include <csignal>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "actors/actor_config.hpp"
#include "actors/atoms.hpp"
#include "bus/nats_fixture.hpp"
#include "messages/codec.hpp"
#include "nbd/checkpoint.hpp"
#include "support/files.hpp"
#include "support/nbdkit.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "vma/proc_identity.hpp"

namespace mk::actors {
namespace {

using namespace std::chrono_literals;
using test::eventually;
using test::nbdkit_server;

constexpr std::uint64_t MiB = 1 << 20;
constexpr const char* agent_id = "local";  // the vma user of the fixture's server speaks for it

/// What the "OMA" saw on the bus, in order of arrival.
class bus_log {
 public:
  void watch(bus::transport& t) {
    add<msg::progress>(t, "mk.job.*.progress", progress_);
    add<msg::stop_confirm>(t, "mk.job.*.stopped", confirms_);
    add<msg::hello>(t, "mk.vma.*.hello", hellos_);
  }
  void stop() { subs_.clear(); }

  std::vector<msg::progress> progress(const std::string& job) const {
    std::lock_guard lock(mu_);
    std::vector<msg::progress> out;
    for (const auto& p : progress_)
      if (p.job == job) out.push_back(p);
    return out;
  }
  std::vector<msg::stop_confirm> confirms(const std::string& stop_id) const {
    std::lock_guard lock(mu_);
    std::vector<msg::stop_confirm> out;
    for (const auto& c : confirms_)
      if (c.stop_id == stop_id) out.push_back(c);
    return out;
  }
  std::vector<msg::hello> hellos() const {
    std::lock_guard lock(mu_);
    return hellos_;
  }

 private:
  template <class T>
  void add(bus::transport& t, const std::string& pattern, std::vector<T>& into) {
    auto s = t.subscribe(pattern, [this, &into](bus::envelope e) {
      auto m = msg::decode<T>(e.data);
      ASSERT_TRUE(m) << e.subject << ": " << m.error().message;
      std::lock_guard lock(mu_);
      into.push_back(std::move(*m));
    });
    ASSERT_TRUE(s) << s.error().message;
    subs_.push_back(std::move(*s));
  }

  mutable std::mutex mu_;
  std::vector<msg::progress> progress_;
  std::vector<msg::stop_confirm> confirms_;
  std::vector<msg::hello> hellos_;
  std::vector<bus::subscription> subs_;
};

/// An actor system with the product's configuration (the config must outlive the system).
struct actor_runtime {
  actor_config cfg;
  caf::actor_system system{cfg};
};

/// Whether `pid` is a live process (not gone, not a zombie).
bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

class VmaAgent : public test::nats_fixture {
 protected:
  void SetUp() override {
    nats_fixture::SetUp();
    if (HasFatalFailure()) return;
    oma_ = connect(bus::role::oma, "test oma");
    ASSERT_TRUE(oma_);
    log_.watch(*oma_);
    // The server must know these subscriptions before the agent's first hello.
    auto flushed = oma_->flush(5s);
    ASSERT_TRUE(flushed) << flushed.error().message;
    data_ = dir_ / "agent";
    sources_ = dir_ / "sources";
    std::filesystem::create_directories(sources_);
  }

  void TearDown() override {
    stop_agent();
    runtime_.reset();
    kill_movers();
    log_.stop();
    oma_.reset();
    if (HasFailure()) {
      for (const auto& f : {"logs", "movers", "checkpoints"}) {
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(data_ / f, ec))
          std::cerr << e.path() << ":\n" << test::read_text(e.path()) << "\n";
      }
    }
    nats_fixture::TearDown();
  }

  vma_agent_options options() const {
    vma_agent_options o;
    o.id = agent_id;
    o.data_dir = data_;
    o.binary = MK_MIGRATEKIT_PATH;
    // Few requests in flight: a graceful stop drains quickly even from a slow source.
    o.mover_args = {"--requests", "4", "--request-size", "262144", "--drain-timeout", "10"};
    o.source_roots = {sources_};
    return o;
  }

  /// Starts an agent (in a fresh actor system if none runs) and waits for its hello.
  void start_agent() {
    if (!runtime_) runtime_ = std::make_unique<actor_runtime>();
    const auto before = log_.hellos().size();
    std::shared_ptr<bus::transport> t = connect(bus::role::vma, "test vma");
    ASSERT_TRUE(t);
    agent_ = runtime_->system.spawn(vma_agent, options(), t);
    ASSERT_TRUE(eventually([&] { return log_.hellos().size() > before; }, 10s)) << "no hello";
  }

  /// Ends the agent as a SIGTERM does: its movers are detached and keep running. The actor
  /// system is destroyed too (it waits for every actor).
  void stop_agent() {
    if (!agent_) return;
    {
      caf::scoped_actor self{runtime_->system};
      self->monitor(agent_);
      self->send(agent_, shutdown_atom::value);
      bool down = false;
      self->receive([&](caf::down_msg&) { down = true; },
                    caf::after(std::chrono::seconds(10)) >> [] {});
      EXPECT_TRUE(down) << "the agent did not end";
    }
    agent_ = nullptr;
    runtime_.reset();
  }

  /// Kills what a failed test left running: every mover recorded in the data folder that is
  /// still the same process (pid and start time), and reaps it if it is our child.
  void kill_movers() {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(data_ / "movers", ec)) {
      auto rec = read_mover_record(e.path());
      if (!rec) continue;
      auto fd = vma::open_identified(rec->id);
      if (!fd) continue;
      vma::sys_pidfd_send_signal(fd->get(), SIGKILL);
      ::waitpid(rec->id.pid, nullptr, 0);  // ECHILD if it is not ours: nothing to reap
    }
  }

  /// `nbdkit pattern` slowed to `rate` bits per second, with a short burst (the rate
  /// filter's default lets 2 s worth through at once), so that a stop lands mid-copy.
  /// noparallel: nbdkit 1.32 can abort when a client is killed while several of its requests
  /// sleep in the rate filter.
  nbdkit_server slow_source(const std::string& name, std::uint64_t size,
                            const std::string& rate = "40M") {
    return nbdkit_server::start(dir_.path(), name, {"noparallel", "rate"},
                                {"pattern", std::to_string(size), "rate=" + rate,
                                 "burstiness=0.5", "serialize=requests"});
  }
  /// A mover of `job` under way: the agent started, a slow source and a memory target, and
  /// at least 1 MiB copied. The servers live as long as the returned value.
  struct copy_under_way {
    nbdkit_server src;
    nbdkit_server dst;
    msg::start_mover_reply reply;
  };
  copy_under_way start_copy(const std::string& job, std::uint64_t size,
                            const std::string& rate = "40M") {
    copy_under_way c{slow_source("src", size, rate), memory("dst", size), {}};
    start_agent();
    c.reply = start(start_request(job, c.src.uri(), c.dst.uri()));
    EXPECT_TRUE(c.reply.ok) << c.reply.error;
    EXPECT_TRUE(progress_reaches(job, 1 * MiB));
    return c;
  }

  nbdkit_server memory(const std::string& name, std::uint64_t size) {
    return nbdkit_server::start(dir_.path(), name, {}, {"memory", std::to_string(size)});
  }

  msg::start_mover start_request(const std::string& job, const std::string& source,
                                 const std::string& target, bool resume = false) const {
    msg::start_mover m;
    m.hdr = {"t-" + job, unix_ms(), "test"};
    m.job = job;
    m.source = source;
    m.target = target;
    m.checkpoint = job;
    m.resume = resume;
    return m;
  }

  msg::start_mover_reply start(const msg::start_mover& m) {
    auto r = oma_->request("mk.vma.local.start", msg::encode(m), 10s);
    EXPECT_TRUE(r) << r.error().message;
    if (!r) return {};
    auto reply = msg::decode<msg::start_mover_reply>(r->data);
    EXPECT_TRUE(reply) << reply.error().message;
    return reply ? *reply : msg::start_mover_reply{};
  }

  msg::vma_status status() {
    msg::vma_status_request q;
    q.hdr = {"t-status", unix_ms(), "test"};
    auto r = oma_->request("mk.vma.local.status", msg::encode(q), 5s);
    EXPECT_TRUE(r) << r.error().message;
    if (!r) return {};
    auto reply = msg::decode<msg::vma_status>(r->data);
    EXPECT_TRUE(reply) << reply.error().message;
    return reply ? *reply : msg::vma_status{};
  }

  void send_stop(const std::string& job, const std::string& stop_id,
                 msg::stop_mode mode = msg::stop_mode::graceful, std::uint32_t grace_s = 0,
                 const std::string& to = "vma_process", const std::string& vma = agent_id) {
    msg::stop_request s;
    s.hdr = {"t-" + stop_id, unix_ms(), "oma"};
    s.job = job;
    s.stop_id = stop_id;
    s.mode = mode;
    s.grace_seconds = grace_s;
    s.to = to;
    s.vma = vma;
    auto r = oma_->publish("mk.job." + job + ".stop", msg::encode(s));
    ASSERT_TRUE(r) << r.error().message;
  }

  /// The first confirmation of `stop_id`, waiting up to `timeout`.
  std::optional<msg::stop_confirm> confirmation(const std::string& stop_id,
                                                std::chrono::milliseconds timeout = 15s) {
    if (!eventually([&] { return !log_.confirms(stop_id).empty(); }, timeout)) return {};
    return log_.confirms(stop_id).front();
  }

  /// Waits until the job's progress reports at least `bytes` done.
  bool progress_reaches(const std::string& job, std::uint64_t bytes,
                        std::chrono::milliseconds timeout = 15s) {
    return eventually(
        [&] {
          auto p = log_.progress(job);
          return !p.empty() && p.back().bytes_done >= bytes;
        },
        timeout);
  }

  /// The `exited` progress of a job, waiting up to `timeout`.
  std::optional<msg::progress> exited(const std::string& job,
                                      std::chrono::milliseconds timeout = 15s) {
    std::optional<msg::progress> found;
    eventually(
        [&] {
          for (const auto& p : log_.progress(job))
            if (p.state == "exited") found = p;
          return found.has_value();
        },
        timeout);
    return found;
  }

  std::filesystem::path checkpoint_file(const std::string& name) const {
    return data_ / "checkpoints" / (name + ".json");
  }

  std::unique_ptr<bus::nats_transport> oma_;
  bus_log log_;
  std::filesystem::path data_;
  std::filesystem::path sources_;
  std::unique_ptr<actor_runtime> runtime_;
  caf::actor agent_;
};

/// A copy, not a pointer: the lists come from temporaries.
std::optional<msg::mover_info> find_mover(const std::vector<msg::mover_info>& movers,
                                          const std::string& job) {
  for (const auto& m : movers)
    if (m.job == job) return m;
  return std::nullopt;
}

// The record that lets the next agent find a mover: written atomically, read back field by
// field, and refused when it names anything but ids (nothing on disk may pick a path).
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
  refused("r-3.json",
          R"({"job":"r-9","pid":1,"start_time":1,"checkpoint":"r-3","started_at":0})");
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
  const auto seen = log_.progress("r-1");
  ASSERT_GE(seen.size(), 2u);
  for (std::size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GE(seen[i].bytes_done, seen[i - 1].bytes_done);
    EXPECT_EQ(seen[i].bytes_total, size);
    EXPECT_EQ(seen[i].state, "copying");
  }
  // Asked again (a lost reply): the same mover, nothing new started.
  const auto again = start(start_request("r-1", src.uri(), dst.uri()));
  EXPECT_TRUE(again.ok) << again.error;
  EXPECT_EQ(again.pid, reply.pid);

  const auto asked = std::chrono::steady_clock::now();
  send_stop("r-1", "s-1");
  const auto c = confirmation("s-1");
  ASSERT_TRUE(c) << "no confirmation";
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 10s);
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
  EXPECT_TRUE(eventually([&] { return log_.progress("r-1").back().state == "stopped"; }, 2s));
  EXPECT_FALSE(exited("r-1", 500ms));

  const auto st = status();
  EXPECT_EQ(st.vma, agent_id);
  const auto m = find_mover(st.movers, "r-1");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->state, "exited");
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
  ASSERT_TRUE(start(start_request("r-3", src.uri(), dst1.uri(), true)).ok);
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

TEST_F(VmaAgent, FrozenMoverIsKilledAfterTheShortGraceOfTheRequest) {
  constexpr std::uint64_t size = 64 * MiB;
  auto copy = start_copy("r-5", size);
  ASSERT_FALSE(HasFailure());
  const auto& reply = copy.reply;
  ASSERT_EQ(::kill(static_cast<pid_t>(reply.pid), SIGSTOP), 0);

  const auto asked = std::chrono::steady_clock::now();
  send_stop("r-5", "s-5", msg::stop_mode::graceful, 1);
  const auto c = confirmation("s-5", 10s);
  ASSERT_TRUE(c) << "no confirmation";
  const auto took = std::chrono::steady_clock::now() - asked;
  EXPECT_GE(took, 1s) << "killed before the grace was over";
  EXPECT_LT(took, 4s);
  EXPECT_EQ(c->result, msg::outcome::killed) << c->detail;
  EXPECT_NE(c->detail.find("killed by SIGKILL after 1 s grace"), std::string::npos) << c->detail;
  EXPECT_FALSE(c->completed);
}

TEST_F(VmaAgent, ForceStopKillsAtOnce) {
  constexpr std::uint64_t size = 64 * MiB;
  auto copy = start_copy("r-6", size);
  ASSERT_FALSE(HasFailure());
  const auto asked = std::chrono::steady_clock::now();
  send_stop("r-6", "s-6", msg::stop_mode::force);
  const auto c = confirmation("s-6", 5s);
  ASSERT_TRUE(c);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 2s);
  EXPECT_EQ(c->result, msg::outcome::killed) << c->detail;
  EXPECT_NE(c->detail.find("force"), std::string::npos) << c->detail;
}

TEST_F(VmaAgent, ForceRepeatOfAGracefulStopEscalatesToSigkill) {
  constexpr std::uint64_t size = 64 * MiB;
  auto copy = start_copy("r-21", size);
  ASSERT_FALSE(HasFailure());
  const auto& reply = copy.reply;
  // Frozen, the mover cannot act on the SIGTERM, and the 30 s grace would hold the stop.
  ASSERT_EQ(::kill(static_cast<pid_t>(reply.pid), SIGSTOP), 0);
  send_stop("r-21", "s-21", msg::stop_mode::graceful, 30);
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(log_.confirms("s-21").empty());
  const auto escalated = std::chrono::steady_clock::now();
  send_stop("r-21", "s-21", msg::stop_mode::force);
  const auto c = confirmation("s-21", 5s);
  ASSERT_TRUE(c);
  EXPECT_LT(std::chrono::steady_clock::now() - escalated, 2s);
  EXPECT_EQ(c->result, msg::outcome::killed) << c->detail;
  EXPECT_NE(c->detail.find("force"), std::string::npos) << c->detail;
}

TEST_F(VmaAgent, StopWithoutMoverIsNotRunningAndOthersStopsAreIgnored) {
  start_agent();
  send_stop("r-none", "s-7");
  const auto c = confirmation("s-7", 5s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->result, msg::outcome::not_running);
  EXPECT_EQ(c->who, msg::participant::vma_process);
  EXPECT_NE(c->detail.find("no mover"), std::string::npos) << c->detail;
  EXPECT_FALSE(c->completed);
  // Addressed to another agent, or to another participant: not this agent's to answer.
  send_stop("r-none", "s-8", msg::stop_mode::graceful, 0, "vma_process", "elsewhere");
  send_stop("r-none", "s-9", msg::stop_mode::graceful, 0, "poller");
  std::this_thread::sleep_for(700ms);
  EXPECT_TRUE(log_.confirms("s-8").empty());
  EXPECT_TRUE(log_.confirms("s-9").empty());
}

TEST_F(VmaAgent, SameStopIdTwiceGetsOneSigtermAndTheSameAnswerAgain) {
  constexpr std::uint64_t size = 16 * MiB;
  // 1 MB/s: draining the 1 MiB in flight takes about a second, time enough for a second
  // SIGTERM to abort the drain if one were sent.
  auto copy = start_copy("r-10", size, "8M");
  ASSERT_FALSE(HasFailure());
  send_stop("r-10", "s-10");
  send_stop("r-10", "s-10");
  const auto c = confirmation("s-10");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->result, msg::outcome::exited) << c->detail;
  EXPECT_NE(c->detail.find("exit 3, checkpoint stopped"), std::string::npos) << c->detail;
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(log_.confirms("s-10").size(), 1u) << "a repeat while stopping answers nothing new";
  const auto log = test::read_text(data_ / "logs" / "r-10.log");
  EXPECT_EQ(log.find("aborted by a second signal"), std::string::npos) << log;

  // Once answered, the same stop id gets the same answer (from the agent: the vma_process
  // is gone by now).
  send_stop("r-10", "s-10");
  ASSERT_TRUE(eventually([&] { return log_.confirms("s-10").size() == 2; }));
  const auto repeat = log_.confirms("s-10").back();
  EXPECT_EQ(repeat.result, c->result);
  EXPECT_EQ(repeat.detail, c->detail);
  EXPECT_EQ(repeat.completed, c->completed);
  // A new stop for the ended mover: not running, saying how it ended.
  send_stop("r-10", "s-11");
  const auto later = confirmation("s-11", 5s);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->result, msg::outcome::not_running);
  EXPECT_NE(later->detail.find("exited earlier: exit 3"), std::string::npos) << later->detail;
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
  EXPECT_EQ(m->state, "exited");
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
  EXPECT_EQ(m->state, "running");
  EXPECT_EQ(m->pid, pid);
  // Adopted, it has no progress pipe: its checkpoint feeds the progress now.
  const auto seen = log_.progress("r-14").size();
  ASSERT_TRUE(eventually([&] { return log_.progress("r-14").size() > seen + 1; }, 5s));
  EXPECT_GT(log_.progress("r-14").back().bytes_done, 0u);
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

TEST_F(VmaAgent, AgentRestartedWhileTheMoverDrainsSendsNoSecondSigterm) {
  constexpr std::uint64_t size = 16 * MiB;
  // 0.5 MB/s: the drain of the 1 MiB in flight takes about two seconds, long enough for the
  // agent to restart in the middle of it.
  auto copy = start_copy("r-16", size, "4M");
  ASSERT_FALSE(HasFailure());
  const auto& reply = copy.reply;
  send_stop("r-16", "s-16", msg::stop_mode::graceful, 20);
  // The record says SIGTERM went out before the agent goes away.
  ASSERT_TRUE(eventually([&] {
    return test::read_text(data_ / "movers" / "r-16.json").find("s-16") != std::string::npos;
  }));
  stop_agent();
  ASSERT_TRUE(alive(static_cast<pid_t>(reply.pid))) << "still draining";
  start_agent();
  send_stop("r-16", "s-16", msg::stop_mode::graceful, 20);  // the job actor re-sends it
  const auto c = confirmation("s-16", 20s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->result, msg::outcome::exited) << c->detail;
  EXPECT_NE(c->detail.find("checkpoint stopped"), std::string::npos) << c->detail;
  const auto log = test::read_text(data_ / "logs" / "r-16.log");
  EXPECT_EQ(log.find("aborted by a second signal"), std::string::npos) << log;
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
  EXPECT_EQ(m->state, "exited");
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
  EXPECT_EQ(m->state, "exited");
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
  EXPECT_EQ(r->state, "running");
  EXPECT_EQ(r->pid, running.pid);
  const auto e = find_mover(st.movers, "r-19");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, "exited");
  EXPECT_EQ(e->exit_code, 0);
  EXPECT_EQ(e->bytes_done, 1 * MiB);

  // Started again, a job is no longer listed as ended.
  ASSERT_TRUE(start(start_request("r-19", slow2.uri(), dst3.uri())).ok);
  const auto again = find_mover(status().movers, "r-19");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->state, "running");
  EXPECT_EQ(again->exit_code, -1);
  send_stop("r-18", "s-18", msg::stop_mode::force);
  send_stop("r-19", "s-19", msg::stop_mode::force);
  ASSERT_TRUE(confirmation("s-18", 5s));
  ASSERT_TRUE(confirmation("s-19", 5s));
}

// The real `migratekit vma` process: killed with SIGKILL mid-copy, started again on the same
// data folder, it re-adopts the mover that kept running, and stops it when asked.
TEST_F(VmaAgent, RealAgentProcessKilledAndRestartedReadoptsItsMover) {
  constexpr std::uint64_t size = 64 * MiB;
  auto src = slow_source("src", size);
  auto dst = memory("dst", size);
  const auto run_agent = [&](const std::string& log) {
    return test::process::spawn(
        {MK_MIGRATEKIT_PATH, "vma", "--nats", server_->url(bus::role::vma), "--id", agent_id,
         "--data", data_.string(), "--mover-arg=--requests", "--mover-arg=4"},
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
  EXPECT_EQ(m->state, "running");
  EXPECT_EQ(m->pid, pid);

  send_stop("r-20", "s-20");
  const auto c = confirmation("s-20");
  ASSERT_TRUE(c) << test::read_text(dir_ / "vma2.log");
  EXPECT_EQ(c->result, msg::outcome::exited) << c->detail;
  // No longer the agent's child: the checkpoint tells how it ended.
  EXPECT_NE(c->detail.find("exit status unknown (adopted), checkpoint stopped"),
            std::string::npos)
      << c->detail;
  EXPECT_TRUE(eventually([&] { return !alive(pid); }, 2s));

  agent.signal(SIGTERM);
  const auto status = agent.wait_for(10s);
  ASSERT_TRUE(status) << "the agent did not end on SIGTERM";
  EXPECT_EQ(*status, test::exit_status::exited(0)) << test::read_text(dir_ / "vma2.log");
}

}  // namespace
}  // namespace mk::actors
