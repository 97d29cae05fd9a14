#include "bus/nats_fixture.hpp"

#include <thread>

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
  return opts;
}

void nats_fixture::SetUp() {
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

std::unique_ptr<bus::nats_transport> nats_fixture::connect(
    bus::role r, const std::string& name, const std::function<void(bus::nats_options&)>& tweak) {
  bus::nats_options opts;
  opts.url = server_->url(r);
  opts.name = name;
  if (tweak) tweak(opts);
  auto t = bus::nats_transport::connect(opts);
  EXPECT_TRUE(t) << t.error().message;
  return t ? std::move(*t) : nullptr;
}

}  // namespace mk::test
