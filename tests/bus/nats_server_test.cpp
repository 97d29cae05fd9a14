// The embedded nats-server: its files, restarts on the same data folder and keys, and the
// thread that starts it.
#include <signal.h>

#include <atomic>
#include <thread>

#include "bus/kept_server.hpp"
#include "bus/nats_fixture.hpp"
#include "bus/tls.hpp"
#include "support/files.hpp"
#include "sys/atomic_file.hpp"

namespace mk::test {
namespace {

using bus::errc;
using bus::role;

using nats_server = nats_fixture;

TEST_F(nats_server, a_restarted_server_keeps_its_port_and_the_keys_stay_private) {
  const auto dir = dir_ / "data" / "nats";
  namespace fs = std::filesystem;
  const auto owner_only = fs::perms::owner_read | fs::perms::owner_write;
  EXPECT_EQ(fs::status(dir).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(dir / "keys").permissions() & fs::perms::all, fs::perms::owner_all);
  for (const auto* file : {"server.conf", "urls", "oma.creds", "ctl.creds", "keys/operator.seed",
                           "keys/system.seed", "keys/product.seed", "keys/system.creds"})
    EXPECT_EQ(fs::status(dir / file).permissions() & fs::perms::all, owner_only) << file;
  EXPECT_EQ(read_text(dir / "urls"), server_->url() + "\n");
  const auto conf = read_text(dir / "server.conf");
  EXPECT_NE(conf.find("operator:"), std::string::npos) << conf;
  EXPECT_EQ(conf.find("password"), std::string::npos) << "operator mode: no passwords\n" << conf;

  const auto url = server_->url();
  restart_server();
  EXPECT_EQ(server_->url(), url);
  auto urls = bus::read_urls(dir_ / "data");
  ASSERT_TRUE(urls) << urls.error().message;
  EXPECT_EQ(*urls, std::vector<std::string>{url});
  auto oma = connect(role::oma, "oma");
  ASSERT_TRUE(oma);
  EXPECT_TRUE(oma->flush(2s));
}

TEST_F(nats_server, credentials_minted_before_a_restart_of_the_keys_still_work) {
  // A second open of the same folder (the next start of the OMA) reads the same keys: what
  // was minted before, an agent's join file, stays valid.
  const auto creds = agent_creds("vma-a");
  auto again = bus::bus_home::open(dir_ / "data", "mk");
  ASSERT_TRUE(again) << again.error().message;
  home_ = std::make_unique<bus::bus_home>(std::move(*again));
  restart_server();
  bus::nats_options opts;
  opts.url = server_->url();
  opts.creds_file = creds;
  opts.inbox_prefix = bus::inbox_prefix("vma-a");
  opts.retry_on_failed_connect = false;
  auto agent = bus::nats_transport::connect(opts);
  ASSERT_TRUE(agent) << agent.error().message;
  EXPECT_TRUE((*agent)->flush(2s));
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

TEST_F(nats_server, a_kept_server_killed_comes_back_on_its_port_and_its_clients_with_it) {
  server_->stop();
  server_.reset();
  std::atomic<int> starts = 0;
  auto kept = bus::kept_server::start(
      server_options(),
      [&]() -> bus::result<bus::nats_server_options> {
        ++starts;
        return server_options();
      },
      50ms, 100ms);
  ASSERT_TRUE(kept) << kept.error().message;
  const auto url = (*kept)->url();
  auto oma = connect(role::oma, "oma", [&](bus::nats_options& o) { o.url = url; });
  ASSERT_TRUE(oma);
  const auto first = (*kept)->pid();
  ASSERT_GT(first, 0);

  ASSERT_EQ(::kill(first, SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return (*kept)->restarts() == 1; }, 20s));
  EXPECT_NE((*kept)->pid(), first);
  EXPECT_EQ((*kept)->url(), url);
  EXPECT_EQ(read_text(dir_ / "data" / "nats" / "urls"), url + "\n") << "the same port";
  // Its options were asked for again: a revocation made meanwhile holds on the new server.
  EXPECT_EQ(starts, 1);
  // The client that was connected finds it again.
  EXPECT_TRUE(eventually([&] { return oma->flush(500ms).has_value(); }, 20s));

  // Stopped, it stays stopped.
  const auto second = (*kept)->pid();
  (*kept)->stop();
  EXPECT_EQ((*kept)->pid(), -1);
  EXPECT_NE(::kill(second, 0), 0) << "the server ended";
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ((*kept)->restarts(), 1u);
  EXPECT_EQ(starts, 1);
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
  opts.trust = {};
  const auto bad = bus::nats_server::start(opts);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::invalid) << bad.error().message;
}

// --advertise: the bus listens at that address with TLS required, its certificate made from a
// CA of the OMA's own under DATA/tls; a client checks the server by that CA and the host name.
TEST_F(nats_server, with_tls_a_client_needs_the_ca_and_the_right_host) {
  server_.reset();
  auto tls = bus::open_tls(dir_ / "data", "127.0.0.1");
  ASSERT_TRUE(tls) << tls.error().message;
  namespace fs = std::filesystem;
  const auto owner_only = fs::perms::owner_read | fs::perms::owner_write;
  EXPECT_EQ(fs::status(tls->key).permissions() & fs::perms::all, owner_only);
  EXPECT_EQ(fs::status(dir_ / "data" / "tls" / "ca.key").permissions() & fs::perms::all,
            owner_only);
  auto opts = server_options();
  opts.tls_cert = tls->cert;
  opts.tls_key = tls->key;
  auto server = bus::nats_server::start(opts);
  ASSERT_TRUE(server) << server.error().message;
  server_ = std::move(*server);
  EXPECT_EQ(server_->url(), "tls://127.0.0.1:" + std::to_string(server_->port()));

  auto with_ca = client_options(role::oma, "oma");
  with_ca.ca_file = tls->ca;
  with_ca.retry_on_failed_connect = false;
  auto oma = bus::nats_transport::connect(with_ca);
  ASSERT_TRUE(oma) << oma.error().message;
  EXPECT_TRUE((*oma)->flush(2s));

  auto plain = with_ca;
  plain.ca_file.clear();
  plain.url = "nats://127.0.0.1:" + std::to_string(server_->port());
  EXPECT_FALSE(bus::nats_transport::connect(plain)) << "a client without TLS got in";

  // Another CA (another OMA's): the server is not trusted.
  auto other = bus::open_tls(dir_ / "other", "127.0.0.1");
  ASSERT_TRUE(other) << other.error().message;
  auto foreign = with_ca;
  foreign.ca_file = other->ca;
  EXPECT_FALSE(bus::nats_transport::connect(foreign)) << "a server of another CA was trusted";

  // The certificate names 127.0.0.1; asked for another name, the client refuses it. A new
  // host for the same data folder gets a new certificate from the same CA.
  auto again = bus::open_tls(dir_ / "data", "localhost");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(test::read_text(again->ca), test::read_text(tls->ca)) << "the CA stays";
  server_.reset();
  opts.tls_cert = again->cert;
  opts.tls_key = again->key;
  server = bus::nats_server::start(opts);
  ASSERT_TRUE(server) << server.error().message;
  server_ = std::move(*server);
  with_ca.url = server_->url();
  EXPECT_FALSE(bus::nats_transport::connect(with_ca)) << "a certificate for another host was taken";
}

// A node of a bus of several gets a certificate from the same CA (migratekit node-file), which
// names its address and the name all nodes share: a client given several nodes checks each by
// that name.
TEST_F(nats_server, a_node_s_certificate_is_checked_by_the_name_the_nodes_share) {
  server_.reset();
  auto tls = bus::open_tls(dir_ / "data", "127.0.0.1");
  ASSERT_TRUE(tls) << tls.error().message;
  auto node = bus::issue_node_certificate(dir_ / "data", "127.0.0.1");
  ASSERT_TRUE(node) << node.error().message;
  ASSERT_TRUE(sys::write_file_atomically(dir_ / "node.pem", node->cert_pem, 0644));
  ASSERT_TRUE(sys::write_file_atomically(dir_ / "node.key", node->key_pem, 0600));
  auto opts = server_options();
  opts.tls_cert = dir_ / "node.pem";
  opts.tls_key = dir_ / "node.key";
  auto server = bus::nats_server::start(opts);
  ASSERT_TRUE(server) << server.error().message;
  server_ = std::move(*server);

  auto client = client_options(role::oma, "oma");
  client.ca_file = tls->ca;
  client.retry_on_failed_connect = false;
  client.url = server_->url() + ",tls://127.0.0.1:1";  // two nodes: checked by the shared name
  auto oma = bus::nats_transport::connect(client);
  ASSERT_TRUE(oma) << oma.error().message;
  EXPECT_TRUE((*oma)->flush(2s));
  client.url = server_->url();  // one: by its address
  EXPECT_TRUE(bus::nats_transport::connect(client));

  // Without the CA's folder there is nothing to sign with... but one is made: the first node
  // file of a bus may come before the OMA's first start.
  auto fresh = bus::issue_node_certificate(dir_ / "fresh", "10.0.0.2");
  ASSERT_TRUE(fresh) << fresh.error().message;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "fresh" / "tls" / "ca.key"));
  EXPECT_FALSE(bus::issue_node_certificate(dir_ / "data", "a b")) << "a host with a space";
}

}  // namespace
}  // namespace mk::test
