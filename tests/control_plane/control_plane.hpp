#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bus/state.hpp"
#include "messages/catalogue.hpp"
#include "models/job_record.hpp"
#include "nats_fixture.hpp"
#include "support/hash.hpp"
#include "support/in_order.hpp"
#include "support/nbdkit.hpp"
#include "support/process.hpp"

namespace mk::test {

/// The whole control plane as a user runs it: a real nats-server with the product's users,
/// `migratekit oma` and `migratekit vma --id local` as processes of their own (so that tests can
/// kill -9 them), a rate-limited nbdkit source, and clients with the ctl and oma credentials.
/// Tear-down kills whatever still runs under the test's folder, movers and volume servers
/// included, also when a test fails.
class control_plane : public nats_fixture {
 protected:
  void SetUp() override;
  void TearDown() override;

  /// A dense source of `size` bytes (nbdkit `random`, fixed seed) served at `rate` bits per
  /// second, so that a stop lands mid-copy.
  void start_source(std::uint64_t size = 32 << 20, const std::string& rate = "64M");
  /// The same with more nbdkit filters (after the rate filter) and their parameters, e.g.
  /// {"error"} with {"error-pread=EIO", ...}.
  void start_source(std::uint64_t size, const std::string& rate,
                    const std::vector<std::string>& filters,
                    const std::vector<std::string>& parameters);
  /// The source's rate from now on (within about a second), e.g. slower while agents restart
  /// so that a stop still lands mid-copy, or faster for a resume that must complete.
  void set_source_rate(const std::string& rate) const { source_rate_.set(rate); }

  void start_oma();
  void start_vma();
  /// kill -9, and wait until it is gone.
  void kill_oma();
  void kill_vma();

  /// A new job through `mk.control.replicate`; its id.
  std::string replicate(const std::string& name = "disk 0");
  /// A StopRequest on `mk.control.stop`, as an authorised publisher sends it.
  msg::control_reply stop(const std::string& job,
                          msg::volume_action volumes = msg::volume_action::keep,
                          msg::stop_mode mode = msg::stop_mode::graceful,
                          std::uint32_t grace_seconds = 0);
  msg::control_reply resume(const std::string& job);

  /// The job's record in JetStream.
  std::optional<actors::job_record> job(const std::string& id);
  /// Waits until the job is in `state` (fails the test with the record if not in time).
  bool wait_for(const std::string& id, msg::job_state state,
                std::chrono::milliseconds timeout = std::chrono::seconds(60));
  /// Waits until the mover has copied at least `bytes`.
  bool wait_for_bytes(const std::string& id, std::uint64_t bytes,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  /// The JobLog's events, in order.
  std::vector<std::string> events(const std::string& id);
  /// Whether the JobLog comes to hold `wanted` in this order within `timeout`. Waited for,
  /// because an entry is written after the record whose state it explains, and entries that
  /// met a nats-server away are written a second later, in order.
  ::testing::AssertionResult logged(const std::string& id, const std::vector<std::string>& wanted,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(15));
  std::vector<nlohmann::json> log(const std::string& id);

  std::filesystem::path volume_file(const std::string& job) const;
  digest source_digest() const;

  std::filesystem::path oma_dir() const { return dir_ / "oma"; }
  std::filesystem::path bus_home_dir() const override { return oma_dir(); }
  std::filesystem::path vma_dir() const { return dir_ / "vma"; }

  /// Options `start_vma` adds, e.g. {"--mover-arg", "--io-timeout=3"}.
  std::vector<std::string> vma_options_;
  nbdkit_server source_;
  rate_file source_rate_;
  process oma_;
  process vma_;
  std::unique_ptr<bus::nats_transport> ctl_;
  std::unique_ptr<bus::nats_transport> reader_;
  std::unique_ptr<bus::state_store> state_;
};

}  // namespace mk::test
