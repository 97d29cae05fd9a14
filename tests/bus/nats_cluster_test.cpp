// A bus of three nodes on the loopback (real nats-servers, the product's operator-mode
// configuration, routes between them): the state kept in three copies, and writes that go on
// through the loss of the node that leads them (docs/bus.md, "A bus of several nodes").

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <thread>

#include "bus/nats_fixture.hpp"
#include "bus/node_watch.hpp"
#include "bus/state.hpp"
#include "sys/atomic_file.hpp"
#include "sys/ports.hpp"

namespace mk::test {
namespace {

std::string tail_of(const std::filesystem::path& file, std::size_t bytes) {
  std::ifstream in(file);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

class nats_cluster_test : public ::testing::Test {
 protected:
  static constexpr int nodes = 3;

  void SetUp() override {
    auto home = bus::bus_home::open(dir_.path() / "oma", "mk");
    ASSERT_TRUE(home) << home.error().message;
    home_ = std::make_unique<bus::bus_home>(std::move(*home));
    // As a node's own files say: what the bus trusted when the node was set up, whatever was
    // revoked since.
    auto trust = home_->server_trust();
    ASSERT_TRUE(trust) << trust.error().message;
    trust_ = std::move(*trust);
    in_addr lo{};
    ::inet_pton(AF_INET, "127.0.0.1", &lo);
    // Six different ports: a port free now may be handed out again by the next call.
    std::set<std::uint16_t> taken;
    const auto another_port = [&] {
      for (int tries = 0; tries < 100; ++tries)
        if (const auto p = sys::free_tcp_port(lo); p != 0 && taken.insert(p).second) return p;
      return std::uint16_t{0};
    };
    for (int i = 0; i < nodes; ++i) {
      client_ports_[i] = another_port();
      route_ports_[i] = another_port();
      ASSERT_NE(client_ports_[i], 0);
      ASSERT_NE(route_ports_[i], 0);
    }
    for (int i = 0; i < nodes; ++i) start(i);
  }

  void TearDown() override {
    for (auto& s : servers_) s.reset();
    if (HasFailure()) {  // what the nodes said, for the failure's reader
      for (int i = 0; i < nodes; ++i) {
        const auto log = dir_ / ("n" + std::to_string(i + 1)) / "nats" / "server.log";
        std::cerr << "--- " << log.string() << " (end)\n" << tail_of(log, 3000) << "\n";
      }
    }
    const auto closed = bus::close_nats(5s);
    EXPECT_TRUE(closed) << closed.error().message;
  }

  void start(int i) {
    bus::nats_server_options o;
    o.data_dir = dir_.path() / ("n" + std::to_string(i + 1));
    o.port = client_ports_[i];
    o.trust = trust_;
    o.server_name = "n" + std::to_string(i + 1);
    bus::cluster_config c;
    c.name = "mk-test";
    c.port = route_ports_[i];
    c.user = "route";
    c.password = "route-secret";
    for (int j = 0; j < nodes; ++j)
      if (j != i) c.routes.push_back("127.0.0.1:" + std::to_string(route_ports_[j]));
    o.cluster = c;
    auto s = bus::nats_server::start(o);
    ASSERT_TRUE(s) << s.error().message;
    servers_[i] = std::move(*s);
  }

  std::string urls() const {
    std::string out;
    for (int i = 0; i < nodes; ++i)
      out += (i ? "," : "") + std::string("nats://127.0.0.1:") + std::to_string(client_ports_[i]);
    return out;
  }

  std::unique_ptr<bus::nats_transport> connect_oma() {
    bus::nats_options o;
    o.url = urls();
    o.name = "oma";
    o.creds_file = home_->oma_creds();
    o.inbox_prefix = bus::inbox_prefix("oma");
    auto t = bus::nats_transport::connect(o);
    EXPECT_TRUE(t) << t.error().message;
    return t ? std::move(*t) : nullptr;
  }

  /// The OMA's state in three copies, through a connection given every node's URL.
  std::unique_ptr<bus::state_store> open_state(bus::nats_transport& t) {
    bus::state_options so;
    so.replicas = 3;
    auto store = bus::state_store::open(t, so);
    EXPECT_TRUE(store) << store.error().message;
    return store ? std::move(*store) : nullptr;
  }

  temp_dir dir_;
  std::unique_ptr<bus::bus_home> home_;
  bus::operator_trust trust_;
  std::uint16_t client_ports_[nodes]{};
  std::uint16_t route_ports_[nodes]{};
  std::unique_ptr<bus::nats_server> servers_[nodes];
};

TEST_F(nats_cluster_test, TheStateIsKeptInThreeCopies) {
  auto t = connect_oma();
  ASSERT_TRUE(t);
  auto store = open_state(*t);
  ASSERT_TRUE(store);
  for (auto* b : {&store->jobs(), &store->schedules(), &store->settings(), &store->agents()}) {
    auto p = b->placement();
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->replicas, 3) << b->name();
    EXPECT_TRUE(p->leader == "n1" || p->leader == "n2" || p->leader == "n3") << p->leader;
  }
}

TEST_F(nats_cluster_test, ABucketMadeWithOneCopyGetsThreeWhenAskedAgain) {
  auto t = connect_oma();
  ASSERT_TRUE(t);
  {
    auto one = bus::state_store::open(*t);  // as an OMA of a lone node made it
    ASSERT_TRUE(one) << one.error().message;
    ASSERT_TRUE((*one)->jobs().put("j-1", bytes_of("kept")));
  }
  auto store = open_state(*t);
  ASSERT_TRUE(store);
  auto p = store->jobs().placement();
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->replicas, 3);
  auto v = store->jobs().get("j-1");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(text_of(v->value), "kept");
}

TEST_F(nats_cluster_test, WritesGoOnThroughTheLossOfTheLeadersNode) {
  auto t = connect_oma();
  ASSERT_TRUE(t);
  auto opened = open_state(*t);
  ASSERT_TRUE(opened);
  auto& store = *opened;
  auto leader = store.jobs().placement();
  ASSERT_TRUE(leader) << leader.error().message;
  const int victim = leader->leader.back() - '1';
  ASSERT_TRUE(victim >= 0 && victim < nodes) << leader->leader;

  // One writer as the job actors write: a record created, then updated from its revision.
  constexpr int writes = 60;
  std::atomic<int> done{0};
  std::vector<std::string> failures;
  std::thread writer([&] {
    for (int i = 0; i < writes; ++i) {
      const auto key = "j-" + std::to_string(i);
      auto rev = store.jobs().create(key, bytes_of("queued"));
      if (rev) rev = store.jobs().update(key, bytes_of("replicating " + key), *rev);
      if (auto logged = rev ? store.log().append(key, bytes_of("started")) : rev; !logged)
        failures.push_back(key + ": " + logged.error().message);
      ++done;
    }
  });
  ASSERT_TRUE(eventually([&] { return done >= 10; }, 30s));
  ASSERT_EQ(::kill(servers_[victim]->pid(), SIGKILL), 0);
  writer.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, the first: " << failures.front();

  // Every acknowledged write is there, once, on the two nodes left.
  for (int i = 0; i < writes; ++i) {
    const auto key = "j-" + std::to_string(i);
    auto v = store.jobs().get(key);
    ASSERT_TRUE(v) << key << ": " << v.error().message;
    EXPECT_EQ(text_of(v->value), "replicating " + key);
    auto log = store.log().read(key);
    ASSERT_TRUE(log) << key << ": " << log.error().message;
    EXPECT_EQ(log->size(), 1u) << key << ": an append tried again was stored twice";
  }
  auto now = store.jobs().placement();
  ASSERT_TRUE(now) << now.error().message;
  EXPECT_NE(now->leader, leader->leader) << "no new leader";
}

}  // namespace
}  // namespace mk::test
namespace mk::test {
namespace {

TEST_F(nats_cluster_test, AnAgentRevokedWhileANodeWasDownCannotConnectToItWhenItIsBack) {
  bus::node_watch::options w;
  w.urls = urls();
  w.system_creds = home_->system_creds();
  w.account_jwt = [this] { return home_->account_jwt(); };
  auto watch = bus::node_watch::start(std::move(w));
  ASSERT_TRUE(watch) << watch.error().message;

  auto agent = home_->mint_agent("vma-a");
  ASSERT_TRUE(agent) << agent.error().message;
  const auto creds = dir_ / "vma-a.creds";
  ASSERT_TRUE(sys::write_file_atomically(creds, agent->creds, 0600));
  const auto third = "nats://127.0.0.1:" + std::to_string(client_ports_[2]);
  const auto connect_to_third = [&] {
    bus::nats_options o;
    o.url = third;
    o.name = "vma-a";
    o.creds_file = creds;
    o.inbox_prefix = bus::inbox_prefix("vma-a");
    o.retry_on_failed_connect = false;
    return bus::nats_transport::connect(o);
  };
  ASSERT_TRUE(connect_to_third()) << "the agent is welcome before its revocation";
  // The nodes announce themselves every few seconds at first: each is pushed the JWT once.
  ASSERT_TRUE(eventually([&] { return (*watch)->pushes() >= 1; }, 10s));
  std::this_thread::sleep_for(1s);

  servers_[2].reset();  // the third node is down...
  auto jwt = home_->revoke(agent->public_key);
  ASSERT_TRUE(jwt) << jwt.error().message;
  ASSERT_TRUE(bus::push_account_jwt(urls(), {}, home_->system_creds(), *jwt));  // ...and misses it
  const auto pushed_before = (*watch)->pushes();
  const auto current_before = (*watch)->current();
  start(2);  // back, with the account as its resolver last stored it

  // Its resolver would catch up only after 2 minutes: the watch pushes at once.
  std::string last;
  EXPECT_TRUE(eventually(
      [&] {
        auto t = connect_to_third();
        if (!t) last = t.error().message;
        return !t;
      },
      10s))
      << "the revoked agent still connects to the node that came back";
  EXPECT_NE(last.find("uthoriz"), std::string::npos) << last;
  EXPECT_GT((*watch)->pushes(), pushed_before) << "no push after the node came back";
  // The watch saw the account run there with the revocation (a node may store a push and
  // still run the JWT it was loading from its files: it is pushed a fresh one).
  EXPECT_TRUE(eventually([&] { return (*watch)->current() > current_before; }, 10s));
}

}  // namespace
}  // namespace mk::test
