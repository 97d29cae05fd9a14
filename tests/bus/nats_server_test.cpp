// The embedded nats-server: its files, restarts on the same data folder, and the thread that
// starts it.
#include <thread>

#include "bus/nats_fixture.hpp"
#include "support/files.hpp"

namespace mk::test {
namespace {

using bus::errc;
using bus::role;

using nats_server = nats_fixture;

TEST_F(nats_server, a_restarted_server_keeps_port_and_credentials_in_private_files) {
  const auto dir = dir_ / "data" / "nats";
  namespace fs = std::filesystem;
  EXPECT_EQ(fs::status(dir).permissions() & fs::perms::all, fs::perms::owner_all);
  std::vector<std::string> urls;
  for (const auto r : bus::all_roles) {
    const auto file = server_->url_file(r);
    EXPECT_EQ(fs::status(file).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write)
        << file;
    EXPECT_EQ(read_text(file), server_->url(r) + "\n");
    urls.push_back(server_->url(r));
  }
  EXPECT_EQ(fs::status(dir / "server.conf").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_NE(urls[0], urls[1]) << "each role has its own password";

  restart_server();
  for (std::size_t i = 0; i < urls.size(); ++i) {
    EXPECT_EQ(server_->url(bus::all_roles[i]), urls[i]);
  }
  auto url = bus::read_url(dir_ / "data", role::vma);
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(*url, urls[1]);
  auto oma = connect(role::oma, "oma");
  ASSERT_TRUE(oma);
  EXPECT_TRUE(oma->flush(2s));
}

TEST_F(nats_server, outlives_the_thread_that_started_it) {
  // PR_SET_PDEATHSIG follows the thread that forked: were the server forked by this short-lived
  // thread itself, it would get SIGTERM when the thread ends.
  server_.reset();
  std::thread starter([this] {
    auto server = bus::nats_server::start(server_options());
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
  });
  starter.join();
  ASSERT_TRUE(server_);
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(server_->running());
  auto oma = connect(role::oma, "oma");
  ASSERT_TRUE(oma);
  EXPECT_TRUE(oma->flush(2s));
}

TEST_F(nats_server, a_port_in_use_is_refused_with_the_reason) {
  auto opts = server_options();
  opts.data_dir = dir_ / "other";
  opts.port = server_->port();
  const auto second = bus::nats_server::start(opts);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, errc::io);
  EXPECT_NE(second.error().message.find(std::to_string(server_->port())), std::string::npos)
      << second.error().message;

  opts.port = 0;
  opts.vma_agents = {"Not An Id"};
  const auto bad = bus::nats_server::start(opts);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::invalid) << bad.error().message;
}

}  // namespace
}  // namespace mk::test
