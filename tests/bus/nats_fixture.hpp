#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bus/home.hpp"
#include "bus/nats_server.hpp"
#include "bus/nats_transport.hpp"
#include "support/temp_dir.hpp"

namespace mk::test {

using namespace std::chrono_literals;

/// Bytes of a string, for payloads.
std::vector<std::uint8_t> bytes_of(std::string_view text);
std::string text_of(const std::vector<std::uint8_t>& bytes);

/// Polls `done` every few milliseconds until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 5s);

/// A real nats-server (bus::nats_server in operator mode, trusting the keys of a bus_home in
/// the test's folder, so its config, users and permissions are the product's) in a per-test
/// directory, and clients of it with credentials minted as the OMA mints them. Everything is
/// stopped when the test ends, passed or not; then NATS.c is closed, as a clean shutdown does.
class nats_fixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  bus::nats_server_options server_options() const;
  /// Where the bus's keys are (DATA/nats/keys under it): an OMA started on this folder mints
  /// credentials the server trusts.
  virtual std::filesystem::path bus_home_dir() const { return dir_ / "data"; }
  /// Starts the server again on the same data folder, as after a crash or a restart.
  void restart_server();

  /// A client with `role`'s credentials (role::vma: the agent "local"), its replies on its own
  /// inbox. `tweak` adjusts the options first.
  std::unique_ptr<bus::nats_transport> connect(
      bus::role r, const std::string& name,
      const std::function<void(bus::nats_options&)>& tweak = {});
  /// A client with the credentials of the agent `agent`.
  std::unique_ptr<bus::nats_transport> connect_agent(
      const std::string& agent, const std::string& name,
      const std::function<void(bus::nats_options&)>& tweak = {});
  /// The options connect() uses for `role` (a creds file under the test's folder).
  bus::nats_options client_options(bus::role r, const std::string& name);
  /// A creds file of the agent `agent`, minted now.
  std::filesystem::path agent_creds(const std::string& agent);

  temp_dir dir_;
  std::unique_ptr<bus::bus_home> home_;
  std::unique_ptr<bus::nats_server> server_;
};

}  // namespace mk::test
