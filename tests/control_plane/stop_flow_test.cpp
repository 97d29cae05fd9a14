// The stop protocol end to end: a real nats-server, `migratekit oma` and `migratekit vma` as
// processes, real movers copying from a rate-limited nbdkit source into volumes served by
// nbdkit. Each test reads the outcome where a user would: the job's record in JetStream, its
// JobLog, the volume file.
#include <signal.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "control_plane.hpp"
#include "messages/codec.hpp"
#include "support/files.hpp"

namespace mk::test {
namespace {

using msg::job_state;
using msg::outcome;
using msg::participant;

constexpr std::uint64_t mib = 1 << 20;

std::optional<outcome> outcome_of(const actors::job_record& j, participant p) {
  return j.stop ? j.stop->outcomes[static_cast<std::size_t>(p)] : std::nullopt;
}

class stop_flow : public control_plane {
 protected:
  void SetUp() override {
    control_plane::SetUp();
    if (HasFatalFailure()) return;
    // Four requests in flight, not 64: a graceful stop drains 1 MiB, quick even on a source
    // slowed down below.
    vma_options_ = {"--mover-arg", "--requests=4"};
    start_source();
    start_vma();
    start_oma();
  }

  /// A job copying, with some of its data written already.
  std::string replicating_job() {
    auto id = replicate();
    EXPECT_FALSE(id.empty());
    EXPECT_TRUE(wait_for(id, job_state::replicating));
    EXPECT_TRUE(wait_for_bytes(id, 2 * mib));
    return id;
  }

  /// The job's mover, as its record names it; never 0 (kill(0, ...) would signal the test's
  /// own process group).
  pid_t mover_of(const std::string& id) {
    auto j = job(id);
    const auto pid = j ? static_cast<pid_t>(j->mover_pid) : 0;
    EXPECT_GT(pid, 1) << "no mover pid in the record of " << id;
    return pid > 1 ? pid : std::numeric_limits<pid_t>::max();
  }

  void resume_to_completion(const std::string& id) {
    set_source_rate("64M");  // as it started, should the test have slowed it down
    auto r = resume(id);
    ASSERT_TRUE(r.ok) << r.code << ": " << r.error;
    ASSERT_TRUE(wait_for(id, job_state::completed));
    EXPECT_EQ(hash_file(volume_file(id)), source_digest()) << "the volume differs from the source";
  }
};

TEST_F(stop_flow, stop_keeps_the_volume_and_a_resume_completes_it_byte_for_byte) {
  const auto id = replicating_job();
  auto r = stop(id);
  ASSERT_TRUE(r.ok) << r.code << ": " << r.error;
  EXPECT_EQ(r.state, "stopping");
  ASSERT_TRUE(wait_for(id, job_state::stopped));
  const auto stopped = *job(id);
  EXPECT_EQ(stopped.stop->id, r.stop_id);
  EXPECT_EQ(outcome_of(stopped, participant::vma_process), outcome::exited);
  EXPECT_TRUE(stopped.resumable());
  EXPECT_TRUE(std::filesystem::exists(volume_file(id)));
  // The same stop again: the job is stopped with its volume kept, nothing to do.
  for (const auto& e : log(id))
    if (e.value("event", "") == "stop_settled")
      std::cout << "graceful stop settled in " << e["detail"].value("duration_ms", -1) << " ms\n";
  auto again = stop(id);
  EXPECT_FALSE(again.ok);
  EXPECT_EQ(again.code, "conflict");

  resume_to_completion(id);
  EXPECT_TRUE(logged(id, {"created", "starting", "volume_attached", "replicating", "stop_requested",
                          "participant_confirmed", "volumes_phase", "participant_confirmed",
                          "stop_settled", "resumed", "starting", "replicating", "completed"}));
}

TEST_F(stop_flow, stop_with_delete_cancels_and_removes_the_volume) {
  const auto id = replicating_job();
  ASSERT_TRUE(std::filesystem::exists(volume_file(id)));
  auto r = stop(id, msg::volume_action::remove);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(wait_for(id, job_state::cancelled));
  EXPECT_FALSE(std::filesystem::exists(volume_file(id)));
  EXPECT_FALSE(job(id)->resumable());
  auto refused = resume(id);
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.code, "conflict");
  EXPECT_TRUE(logged(id, {"stop_requested", "volumes_phase", "stop_settled"}));
}

TEST_F(stop_flow, a_mover_that_ignores_sigterm_is_killed_after_the_grace_period) {
  const auto id = replicating_job();
  const auto pid = mover_of(id);
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);  // frozen: SIGTERM waits, SIGKILL does not
  auto r = stop(id, msg::volume_action::keep, msg::stop_mode::graceful, 2);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(wait_for(id, job_state::stopped, std::chrono::seconds(30)));
  const auto j = *job(id);
  EXPECT_EQ(outcome_of(j, participant::vma_process), outcome::killed)
      << j.stop->details[static_cast<std::size_t>(participant::vma_process)];
  EXPECT_TRUE(logged(id, {"replicating", "stop_requested", "participant_confirmed", "volumes_phase",
                          "participant_confirmed", "stop_settled"}));
  // Killed mid-write: the last durable checkpoint still lets a resume finish the copy.
  resume_to_completion(id);
}

TEST_F(stop_flow, force_kills_at_once) {
  const auto id = replicating_job();
  auto r = stop(id, msg::volume_action::keep, msg::stop_mode::force);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(wait_for(id, job_state::stopped, std::chrono::seconds(20)));
  EXPECT_EQ(outcome_of(*job(id), participant::vma_process), outcome::killed);
  EXPECT_TRUE(logged(id, {"stop_requested", "volumes_phase", "stop_settled"}));
  resume_to_completion(id);
}

TEST_F(stop_flow, an_oma_killed_while_stopping_finishes_the_stop_with_the_same_stop_id) {
  const auto id = replicating_job();
  const auto pid = mover_of(id);
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);  // keeps the stop in progress for its grace period
  auto r = stop(id, msg::volume_action::keep, msg::stop_mode::graceful, 4);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(wait_for(id, job_state::stopping));
  kill_oma();
  EXPECT_EQ(job(id)->state, job_state::stopping);
  start_oma();
  ASSERT_TRUE(wait_for(id, job_state::stopped, std::chrono::seconds(40)));
  const auto j = *job(id);
  EXPECT_EQ(j.stop->id, r.stop_id) << "the stop goes on under its own id";
  EXPECT_TRUE(logged(id, {"stop_requested", "stop_resumed", "stop_settled"}));
  resume_to_completion(id);
}

TEST_F(stop_flow, an_oma_killed_while_replicating_finds_its_running_job_again) {
  const auto id = replicating_job();
  const auto pid = mover_of(id);
  kill_oma();
  // The mover writes on: its volume's nbdkit outlives the OMA.
  EXPECT_TRUE(wait_for_bytes(id, 6 * mib));
  start_oma();
  ASSERT_TRUE(
      eventually([&] { return in_order(events(id), {"mover_adopted"}); }, std::chrono::seconds(20)))
      << ::testing::PrintToString(events(id));
  EXPECT_EQ(job(id)->mover_pid, pid);
  ASSERT_TRUE(wait_for(id, job_state::completed));
  EXPECT_EQ(hash_file(volume_file(id)), source_digest());
  EXPECT_TRUE(logged(id, {"replicating", "mover_adopted", "completed"}));
}

TEST_F(stop_flow, an_agent_killed_while_replicating_adopts_its_mover_again) {
  const auto id = replicating_job();
  const auto pid = mover_of(id);
  // 500 kB/s: the copy outlasts an agent that starts slowly (under sanitizers, seconds).
  set_source_rate("4M");
  kill_vma();
  EXPECT_EQ(::kill(pid, 0), 0) << "the mover outlives its agent";
  start_vma();
  // The new agent says hello with the mover; the job stays replicating with the same pid.
  ASSERT_TRUE(
      eventually([&] { return in_order(events(id), {"mover_adopted"}); }, std::chrono::seconds(20)))
      << ::testing::PrintToString(events(id));
  EXPECT_EQ(job(id)->state, job_state::replicating);
  EXPECT_EQ(job(id)->mover_pid, pid);
  auto r = stop(id);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(wait_for(id, job_state::stopped));
  resume_to_completion(id);
  EXPECT_TRUE(logged(id, {"replicating", "mover_adopted", "stop_requested", "stop_settled",
                          "resumed", "completed"}));
}

TEST_F(stop_flow, a_stop_in_progress_completes_across_a_nats_server_restart) {
  const auto id = replicating_job();
  const auto pid = mover_of(id);
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);  // the stop waits out its grace period
  auto r = stop(id, msg::volume_action::keep, msg::stop_mode::graceful, 3);
  ASSERT_TRUE(r.ok) << r.error;
  restart_server();
  ASSERT_TRUE(wait_for(id, job_state::stopped, std::chrono::seconds(40)));
  EXPECT_EQ(job(id)->stop->id, r.stop_id);
  EXPECT_TRUE(logged(id, {"stop_requested", "volumes_phase", "stop_settled"}));
  resume_to_completion(id);
}

// Back on the bus after an outage, an agent says hello again at once (the OMA reconciles its
// jobs from it, instead of waiting for its next status poll).
TEST_F(stop_flow, an_agent_says_hello_again_when_the_bus_comes_back) {
  auto listener = connect(bus::role::oma, "hello listener");
  ASSERT_TRUE(listener);
  std::atomic<int> hellos = 0;
  auto sub = listener->subscribe("mk.vma.local.hello", [&hellos](bus::envelope) { ++hellos; });
  ASSERT_TRUE(sub);
  ASSERT_TRUE(listener->flush(std::chrono::seconds(2)));
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the hello of its start, if late
  const int before = hellos.load();
  restart_server();
  ASSERT_TRUE(eventually([&] { return hellos.load() > before; }, std::chrono::seconds(20)))
      << "no hello from the agent after the server came back; its log:\n"
      << read_text(dir_ / "vma.log");
}

TEST_F(stop_flow, a_resume_while_the_agent_is_down_waits_for_it) {
  // A supervisor restarts a killed agent within seconds; a start meanwhile finds nobody on
  // its subject. It once failed the job at once ("No responders available").
  const auto id = replicating_job();
  auto r = stop(id);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(wait_for(id, job_state::stopped));
  kill_vma();
  auto resumed = resume(id);
  ASSERT_TRUE(resumed.ok) << resumed.code << ": " << resumed.error;
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(job(id)->state, job_state::starting) << "the job waits for its agent";
  start_vma();
  ASSERT_TRUE(wait_for(id, job_state::completed));
  EXPECT_EQ(hash_file(volume_file(id)), source_digest()) << "the volume differs from the source";
  EXPECT_TRUE(logged(id, {"stop_settled", "resumed", "starting", "replicating", "completed"}));
}

TEST_F(stop_flow, a_mover_killed_by_hand_fails_the_job_and_a_resume_completes_it) {
  const auto id = replicating_job();
  const auto pid = mover_of(id);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ASSERT_TRUE(wait_for(id, job_state::failed));
  const auto j = *job(id);
  EXPECT_TRUE(j.resumable());
  EXPECT_NE(j.error.find("mover exited"), std::string::npos) << j.error;
  resume_to_completion(id);
  EXPECT_TRUE(logged(id, {"replicating", "failed", "resumed", "completed"}));
}

}  // namespace
}  // namespace mk::test

namespace mk::test {
namespace {

// docs/security.md: any authorised publisher may stop a job on mk.control.stop; an agent may not.
/// A source that takes a minute to copy: the checks before the stop must not race the copy.
class external_stop : public control_plane {
 protected:
  void SetUp() override {
    control_plane::SetUp();
    if (HasFatalFailure()) return;
    start_source(512 * mib);
    start_vma();
    start_oma();
  }
};

TEST_F(external_stop, on_the_bus_needs_the_ctl_role_and_an_agent_is_refused) {
  const auto id = replicate();
  ASSERT_TRUE(wait_for(id, job_state::replicating));
  msg::stop_request r;
  r.hdr = {"t-ext", 0, "external"};
  r.job = id;
  r.reason = msg::stop_reason::bus;
  r.comment = "from outside";
  auto vma = connect(bus::role::vma, "test vma-role publisher");
  ASSERT_TRUE(vma);
  // The server refuses the subject to the vma role: it says so to the publisher, and the
  // OMA never hears of the stop.
  (void)vma->publish("mk.control.stop", msg::encode(r));
  (void)vma->flush(std::chrono::seconds(1));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (vma->stats().permission_violations == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GT(vma->stats().permission_violations, 0u) << "an agent may publish mk.control.stop";
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(job(id)->state, job_state::replicating) << "a stop published by an agent was obeyed";

  auto answer = ctl_->request("mk.control.stop", msg::encode(r), std::chrono::seconds(10));
  ASSERT_TRUE(answer) << answer.error().message;
  auto reply = msg::decode<msg::control_reply>(answer->data);
  ASSERT_TRUE(reply);
  EXPECT_TRUE(reply->ok) << reply->code << ": " << reply->error;
  ASSERT_TRUE(wait_for(id, job_state::stopped));
  EXPECT_EQ(job(id)->stop->reason, msg::stop_reason::bus);
  EXPECT_EQ(job(id)->stop->requested_by, "external");
}

}  // namespace
}  // namespace mk::test
