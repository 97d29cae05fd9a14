// Storage faults under a running job (label `faults`): the whole control plane as processes,
// the fault real or injected where the storage is. Each time the job fails with an error that
// names the endpoint and the cause, keeps its volume, and once the storage is healed a resume
// completes it with a volume equal to its source.
//   - EIO from the source (nbdkit's error filter, switched on mid-copy);
//   - ENOSPC from the target: the OMA's volumes on a real filesystem that fills up (a small
//     tmpfs, made larger to heal it; needs the right to mount, as root in a container has);
//   - a target that becomes slow (its nbdkit SIGSTOPped): the mover's --io-timeout fails it.
#include <signal.h>
#include <sys/mount.h>

#include <fstream>

#include "control_plane.hpp"
#include "support/files.hpp"

namespace mk::test {
namespace {

using namespace std::chrono_literals;
using msg::job_state;

constexpr std::uint64_t size = 16 << 20;

class storage_faults : public control_plane {
 protected:
  void TearDown() override {
    control_plane::TearDown();
    if (mounted_) ::umount2(mounted_->c_str(), MNT_DETACH);
  }

  /// The job failed with an error that says both `where` and `why`; true if so.
  ::testing::AssertionResult failed_with(const std::string& id, const std::string& where,
                                         const std::string& why) {
    if (!wait_for(id, job_state::failed, 90s))
      return ::testing::AssertionFailure() << "never failed";
    const auto j = job(id);
    if (j->error.find(where) == std::string::npos || j->error.find(why) == std::string::npos)
      return ::testing::AssertionFailure() << "the error says: " << j->error;
    if (!j->resumable())
      return ::testing::AssertionFailure() << "not resumable: " << actors::to_json(*j).dump();
    return ::testing::AssertionSuccess();
  }

  /// Healed: a resume completes the copy with the source's data.
  void resumes_to_an_equal_volume(const std::string& id) {
    auto reply = resume(id);
    ASSERT_TRUE(reply.ok) << reply.code << ": " << reply.error;
    ASSERT_TRUE(wait_for(id, job_state::completed, 120s));
    EXPECT_EQ(hash_file(volume_file(id)), source_digest());
  }

  std::optional<std::filesystem::path> mounted_;
};

TEST_F(storage_faults, eio_from_the_source_fails_the_job_and_a_resume_completes_it) {
  const auto trigger = dir_ / "source-errors";
  start_source(
      size, "64M", {"error"},
      {"error-pread=EIO", "error-pread-rate=100%", "error-pread-file=" + trigger.string()});
  start_oma();
  start_vma();
  const auto id = replicate();
  ASSERT_TRUE(wait_for_bytes(id, 2 << 20));
  std::ofstream(trigger).put('x');
  EXPECT_TRUE(failed_with(id, "source", "Input/output error"));
  std::filesystem::remove(trigger);
  resumes_to_an_equal_volume(id);
}

TEST_F(storage_faults, enospc_from_the_target_fails_the_job_and_a_resume_completes_it) {
  const auto volumes = oma_dir() / "volumes";
  std::filesystem::create_directories(volumes);
  if (::mount("tmpfs", volumes.c_str(), "tmpfs", 0, "size=6m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs for the volumes (" << std::strerror(errno)
                 << "): this case needs CAP_SYS_ADMIN";
  mounted_ = volumes;
  start_source(size, "256M");
  start_oma();
  start_vma();
  const auto id = replicate();
  EXPECT_TRUE(failed_with(id, "target", "No space left on device"));
  // Healed: the filesystem grows (as an operator frees or adds space).
  ASSERT_EQ(::mount("tmpfs", volumes.c_str(), "tmpfs", MS_REMOUNT, "size=64m"), 0)
      << std::strerror(errno);
  resumes_to_an_equal_volume(id);
}

TEST_F(storage_faults, a_target_that_stops_answering_fails_the_job_after_the_io_timeout) {
  // Two requests in flight: reads queued behind each other in the rate-limited source would
  // otherwise wait longer than the timeout themselves.
  vma_options_ = {"--mover-arg", "--io-timeout=3", "--mover-arg", "--requests=2"};
  start_source(size, "32M");
  start_oma();
  start_vma();
  const auto id = replicate();
  ASSERT_TRUE(wait_for_bytes(id, 1 << 20));
  std::vector<pid_t> frozen;
  for (auto pid : running_under(oma_dir() / "volumes"))
    if (read_text("/proc/" + std::to_string(pid) + "/cmdline").starts_with("nbdkit") ||
        read_text("/proc/" + std::to_string(pid) + "/comm").starts_with("nbdkit"))
      frozen.push_back(pid);
  ASSERT_FALSE(frozen.empty()) << "no nbdkit serves the volume";
  for (auto pid : frozen) ::kill(pid, SIGSTOP);
  EXPECT_TRUE(failed_with(id, "target", "no reply for 3 s"));
  for (auto pid : frozen) ::kill(pid, SIGCONT);
  resumes_to_an_equal_volume(id);
}

}  // namespace
}  // namespace mk::test
