#include "bus/nats_fixture.hpp"

#include <thread>

#include "sys/atomic_file.hpp"

namespace mk::test {

std::vector<std::uint8_t> bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

std::string text_of(const std::vector<std::uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

bus::nats_server_options nats_fixture::server_options() const {
  bus::nats_server_options opts;
  opts.data_dir = dir_ / "data";
  auto trust = home_->server_trust();
  EXPECT_TRUE(trust) << trust.error().message;
  if (trust) opts.trust = std::move(*trust);
  return opts;
}

void nats_fixture::SetUp() {
  auto home = bus::bus_home::open(bus_home_dir(), "mk");
  ASSERT_TRUE(home) << home.error().message;
  home_ = std::make_unique<bus::bus_home>(std::move(*home));
  auto server = bus::nats_server::start(server_options());
  ASSERT_TRUE(server) << server.error().message;
  server_ = std::move(*server);
}

void nats_fixture::restart_server() {
  server_.reset();
  auto server = bus::nats_server::start(server_options());
  ASSERT_TRUE(server) << server.error().message;
  server_ = std::move(*server);
}

void nats_fixture::TearDown() {
  server_.reset();
  const auto closed = bus::close_nats(5s);
  EXPECT_TRUE(closed) << closed.error().message;
}

std::filesystem::path nats_fixture::agent_creds(const std::string& agent) {
  auto user = home_->mint_agent(agent);
  EXPECT_TRUE(user) << user.error().message;
  const auto path = dir_ / (agent + ".creds");
  if (user) {
    EXPECT_TRUE(sys::write_file_atomically(path, user->creds, 0600));
  }
  return path;
}

bus::nats_options nats_fixture::client_options(bus::role r, const std::string& name) {
  bus::nats_options opts;
  // A test that runs its own server (no server_) sets the URL in connect()'s `tweak`.
  if (server_) opts.url = server_->url();
  opts.name = name;
  switch (r) {
    case bus::role::oma:
      opts.creds_file = home_->oma_creds();
      opts.inbox_prefix = bus::inbox_prefix("oma");
      break;
    case bus::role::ctl:
      opts.creds_file = home_->ctl_creds();
      opts.inbox_prefix = bus::inbox_prefix("ctl");
      break;
    case bus::role::vma:
      opts.creds_file = agent_creds("local");
      opts.inbox_prefix = bus::inbox_prefix("local");
      break;
  }
  return opts;
}

std::unique_ptr<bus::nats_transport> nats_fixture::connect(
    bus::role r, const std::string& name, const std::function<void(bus::nats_options&)>& tweak) {
  auto opts = client_options(r, name);
  if (tweak) tweak(opts);
  auto t = bus::nats_transport::connect(opts);
  EXPECT_TRUE(t) << t.error().message;
  return t ? std::move(*t) : nullptr;
}

std::unique_ptr<bus::nats_transport> nats_fixture::connect_agent(
    const std::string& agent, const std::string& name,
    const std::function<void(bus::nats_options&)>& tweak) {
  bus::nats_options opts;
  // A test that runs its own server (no server_) sets the URL in connect()'s `tweak`.
  if (server_) opts.url = server_->url();
  opts.name = name;
  opts.creds_file = agent_creds(agent);
  opts.inbox_prefix = bus::inbox_prefix(agent);
  if (tweak) tweak(opts);
  auto t = bus::nats_transport::connect(opts);
  EXPECT_TRUE(t) << t.error().message;
  return t ? std::move(*t) : nullptr;
}

}  // namespace mk::test
