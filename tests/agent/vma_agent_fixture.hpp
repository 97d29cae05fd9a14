#pragma once

// The VMA agent's integration tests share this fixture (see vma_agent_test.cpp).

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <caf/all.hpp>
#include <csignal>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <thread>

#include "actors/actor_config.hpp"
#include "actors/atoms.hpp"
#include "agent/mover/proc_identity.hpp"
#include "agent/vma_agent.hpp"
#include "bus/nats_fixture.hpp"
#include "messages/codec.hpp"
#include "nbd/checkpoint.hpp"
#include "support/files.hpp"
#include "support/nbdkit.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "sys/pidfd.hpp"

namespace mk::actors {
namespace vma_agent_test {

using namespace std::chrono_literals;
using test::eventually;
using test::nbdkit_server;

constexpr std::uint64_t MiB = 1 << 20;
constexpr const char* agent_id = "local";  // the fixture's agent credentials are for it

/// What the "OMA" saw on the bus, in order of arrival.
class bus_log {
 public:
  void watch(bus::transport& t) {
    add<msg::progress>(t, "mk.vma.*.job.*.progress", progress_);
    add<msg::stop_confirm>(t, "mk.vma.*.job.*.stopped", confirms_);
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

/// Whether `pid` still runs, as the agent judges it: by its pidfd, which turns readable only
/// once every thread has exited. A multithreaded process's /proc stat says 'Z' as soon as its
/// main thread is done, while the others may still be exiting (slowly under sanitizers); an
/// agent started then adopts it as running.
inline bool alive(pid_t pid) {
  const auto fd = sys::open_pidfd(pid);
  if (!fd) return false;
  const auto exited = sys::pidfd_exited(fd->get());
  return exited && !*exited;
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
    // Few requests in flight: a graceful stop drains quickly even into a slow target. A
    // checkpoint every second: an adopted mover's progress comes from its checkpoint, and the
    // tests watch it for seconds, not for the default interval.
    o.mover_args = {"--requests",      "4",  "--request-size",        "262144",
                    "--drain-timeout", "10", "--checkpoint-interval", "1"};
    o.source_roots = {sources_};
    if (adjust_options) adjust_options(o);
    return o;
  }
  /// A test's own changes to the options of the agents it starts.
  std::function<void(vma_agent_options&)> adjust_options;

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
      (void)sys::pidfd_send_signal(fd->get(), SIGKILL);
      ::waitpid(rec->id.pid, nullptr, 0);  // ECHILD if it is not ours: nothing to reap
    }
  }

  /// `nbdkit pattern` slowed to `rate` bits per second, with a short burst (the rate
  /// filter's default lets 2 s worth through at once), so that a stop lands mid-copy.
  /// noparallel: nbdkit 1.32 can abort when a client is killed while several of its requests
  /// sleep in the rate filter.
  nbdkit_server slow_source(const std::string& name, std::uint64_t size,
                            const std::string& rate = "40M") {
    return nbdkit_server::start(
        dir_.path(), name, {"noparallel", "rate"},
        {"pattern", std::to_string(size), "rate=" + rate, "burstiness=0.5", "serialize=requests"});
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

  /// A memory target whose writes are limited to `rate` (bits per second): a stop's drain of
  /// the writes in flight takes a while.
  nbdkit_server slow_memory(const std::string& name, std::uint64_t size, const std::string& rate) {
    return nbdkit_server::start(dir_.path(), name, {"rate"},
                                {"memory", std::to_string(size), "rate=" + rate});
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

  /// A request to the agent, as the OMA makes it; its decoded answer (empty if none).
  template <class Reply, class Request>
  Reply ask_agent(const std::string& subject, const Request& m, std::chrono::milliseconds timeout) {
    auto r = oma_->request(subject, msg::encode(m), timeout);
    EXPECT_TRUE(r) << r.error().message;
    if (!r) return {};
    auto reply = msg::decode<Reply>(r->data);
    EXPECT_TRUE(reply) << reply.error().message;
    return reply ? *reply : Reply{};
  }

  msg::start_mover_reply start(const msg::start_mover& m) {
    return ask_agent<msg::start_mover_reply>("mk.vma.local.start", m, 10s);
  }

  /// Asks the agent for the size of `source`, as the job actor does before it makes a volume.
  msg::probe_reply probe(const std::string& job, const std::string& source) {
    msg::probe_source m;
    m.hdr = {"t-probe-" + job, unix_ms(), "test"};
    m.job = job;
    m.source = source;
    return ask_agent<msg::probe_reply>("mk.vma.local.start", m, 15s);
  }

  msg::vma_status status() {
    msg::vma_status_request q;
    q.hdr = {"t-status", unix_ms(), "test"};
    return ask_agent<msg::vma_status>("mk.vma.local.status", q, 5s);
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
    auto r = oma_->publish("mk.vma." + vma + ".job." + job + ".stop", msg::encode(s));
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
            if (p.state == msg::progress_state::exited) found = p;
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
inline std::optional<msg::mover_info> find_mover(const std::vector<msg::mover_info>& movers,
                                                 const std::string& job) {
  for (const auto& m : movers)
    if (m.job == job) return m;
  return std::nullopt;
}

// The record that lets the next agent find a mover: written atomically, read back field by
// field, and refused when it names anything but ids (nothing on disk may pick a path).
}  // namespace vma_agent_test
}  // namespace mk::actors
