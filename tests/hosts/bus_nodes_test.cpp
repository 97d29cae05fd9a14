// A bus of three nodes on three hosts (bus_hosts.hpp; SPEC section 12). The node the OMA is
// connected to is killed with SIGKILL in the middle of a stop: the stop settles under its id,
// and the job resumes from its kept volume to a copy identical to the source. A node cut off for 30
// s and healed loses no acknowledged write and fails no job. An agent revoked while a node was down
// is refused by that node once it is back.
#include "bus_hosts.hpp"
#include "support/env.hpp"
#include "sys/atomic_file.hpp"

namespace mk::test {
namespace {

class bus_nodes : public bus_hosts {};

TEST_F(bus_nodes, the_oma_s_node_killed_mid_stop_the_stop_settles_and_the_job_resumes_identical) {
  start_bus();
  join("vma-a");
  const auto file = json::parse(read_text(dir_ / "vma-a.join"));
  ASSERT_EQ(file["nats"]["urls"].size(), 3u) << "the join file names every node: " << file;
  start_source();
  const auto id = replicating("vma-a");

  // A graceful stop drains only the writes in flight: it settles within a tenth of a second.
  // The mover is frozen (SIGSTOP) to keep the stop in progress, as a busy host would: its
  // SIGTERM waits, and the OMA's node dies while the stop waits for the mover.
  const auto mover = mover_of("vma-a");
  ASSERT_NE(mover, 0);
  ASSERT_EQ(::kill(mover, SIGSTOP), 0);
  const auto stop = ctl({"stop", id});
  ASSERT_TRUE(stop.is_object());
  const auto stop_id = stop["stop"].value("id", "");
  ASSERT_FALSE(stop_id.empty()) << stop;
  EXPECT_EQ(stop.value("state", ""), "stopping") << stop;
  const auto victim = server_of("oma");
  ASSERT_NE(victim, 0);
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(state_of(id), "stopping") << "the stop settled with its mover frozen: " << job(id);
  ASSERT_EQ(::kill(mover, SIGCONT), 0);

  ASSERT_TRUE(eventually([&] { return state_of(id) == "stopped"; }, 60s))
      << job(id) << "\n"
      << read_text(dir_ / "up.log");
  const auto stopped = job(id);
  EXPECT_EQ(stopped["stop"].value("id", ""), stop_id) << stopped;
  EXPECT_EQ(stopped["volume"].value("state", ""), "partial") << stopped;
  EXPECT_NE(read_text(dir_ / "up.log").find("reconnected"), std::string::npos)
      << "the OMA was not on the node killed";

  rate_.set("20G");
  ASSERT_FALSE(ctl({"resume", id}).is_null());
  completes_identical(id, "vma-a");
}

TEST_F(bus_nodes, a_node_cut_off_for_30_s_and_healed_loses_no_acknowledged_write_nor_any_job) {
  start_bus();
  join("vma-a");
  join("vma-b");
  // Three movers share it, four reads each in flight: fast enough that none waits for its
  // reads longer than the movers' 8 s I/O timeout, slow enough to be copying for a minute.
  start_source("8M");
  const auto a = replicating("vma-a");
  const auto b = replicating("vma-b");

  // n3's cable is pulled (MK_TEST_PARTITION_SECONDS, 30 unless told). Meanwhile the bus,
  // two nodes of three, takes writes: a stop and a resume of one job, a new job.
  const auto seconds = env_number("MK_TEST_PARTITION_SECONDS", 30);
  const auto cut = std::chrono::steady_clock::now();
  net_->partition("n3");
  const auto stop = ctl({"stop", a});
  ASSERT_TRUE(stop.is_object());
  const auto stop_id = stop["stop"].value("id", "");
  ASSERT_TRUE(eventually([&] { return state_of(a) == "stopped"; }, 60s)) << job(a);
  ASSERT_FALSE(ctl({"resume", a}).is_null());
  const auto c = replicating("vma-b");
  std::this_thread::sleep_until(cut + std::chrono::seconds(seconds));
  net_->heal("n3");

  // A leader election after the heal may hold writes for a while (STACK.md): none fails.
  std::this_thread::sleep_for(15s);
  for (const auto& id : {a, b, c}) {
    const auto state = job(id).value("state", "");
    EXPECT_TRUE(state == "replicating" || state == "completed") << id << ": " << job(id);
  }
  // A copy that was cut off may answer a read with what it had until it has caught up.
  json log;
  EXPECT_TRUE(eventually(
      [&] {
        log = ctl({"log", a}, true);
        return log.dump().find(stop_id) != std::string::npos;
      },
      30s))
      << "the stop's JobLog entry: " << log;

  rate_.set("20G");
  completes_identical(a, "vma-a");
  completes_identical(b, "vma-b");
  completes_identical(c, "vma-b");
}

TEST_F(bus_nodes, the_jobs_leader_s_node_killed_while_20_jobs_replicate_and_10_stop_loses_none) {
  start_bus();
  // 20 movers share a source read at 8 Mbit/s: none completes while the jobs are made one by
  // one (slowly under the sanitizers), and their reads queue there longer than 8 s.
  join("vma-a", "60");
  join("vma-b", "60");
  start_source("8M");
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    const auto created = ctl({"replicate", "--name", "many-" + std::to_string(i), "--source",
                              source_.uri(), "--vma", i % 2 ? "vma-b" : "vma-a"});
    ASSERT_TRUE(created.is_object());
    ids.push_back(created.value("id", ""));
  }
  for (const auto& id : ids)
    ASSERT_TRUE(eventually([&] { return state_of(id) == "replicating"; }, 60s)) << job(id);

  const auto leader = jobs_leader();
  const auto victim = server_of(leader);
  ASSERT_NE(victim, 0) << leader;
  std::map<std::string, std::string> stop_ids;
  for (int i = 0; i < 10; ++i) {
    const auto stop = ctl({"stop", ids[i]});
    ASSERT_TRUE(stop.is_object());
    stop_ids[ids[i]] = stop["stop"].value("id", "");
    if (i == 4) {  // mid-way through the stops
      ASSERT_EQ(::kill(victim, SIGKILL), 0) << leader;
    }
  }
  // Every job ends as asked: ten stopped under their stop's id, ten replicating.
  for (int i = 0; i < 20; ++i) {
    const auto want = i < 10 ? "stopped" : "replicating";
    EXPECT_TRUE(eventually([&] { return state_of(ids[i]) == want; }, 90s))
        << ids[i] << " should be " << want << ": " << job(ids[i]);
    if (i < 10) {
      EXPECT_EQ(job(ids[i])["stop"].value("id", ""), stop_ids[ids[i]]) << job(ids[i]);
    }
  }
  if (leader == "oma") {
    // The OMA starts its own node again at once (bus/kept_server.hpp), which may lead again.
    EXPECT_NE(server_of("oma"), victim);
    EXPECT_NE(read_text(dir_ / "up.log").find("started again"), std::string::npos)
        << "the OMA did not start its node again";
  } else {
    EXPECT_NE(jobs_leader(), leader) << "the bucket has a new leader";
  }

  rate_.set("20G");
  for (int i = 0; i < 10; ++i) ASSERT_FALSE(ctl({"resume", ids[i]}).is_null());
  for (int i = 0; i < 20; ++i) completes_identical(ids[i], i % 2 ? "vma-b" : "vma-a");
}

TEST_F(bus_nodes, an_agent_revoked_while_a_node_was_down_cannot_connect_to_it_when_it_is_back) {
  start_bus();
  join("vma-b");
  // The node n3 stops (SIGTERM: its nats-server with it) and the agent is removed meanwhile.
  nodes_["n3"]->signal(SIGTERM);
  ASSERT_TRUE(nodes_["n3"]->wait_for(30s).has_value()) << read_text(dir_ / "n3.log");
  agents_["vma-b"]->kill();
  ASSERT_FALSE(ctl({"agent", "rm", "vma-b"}).is_null());
  const auto seen_running = [&] {
    const auto log = read_text(dir_ / "up.log");
    std::size_t n = 0;
    for (auto at = log.find("runs the account"); at != std::string::npos;
         at = log.find("runs the account", at + 1))
      ++n;
    return n;
  };
  const auto before = seen_running();
  start_node("n3");

  // The agent, told of n3 alone, is refused there: the OMA pushed the account's JWT with the
  // revocation to n3 when it came back, and saw n3 run it.
  auto file = json::parse(read_text(dir_ / "vma-b.join"));
  file["nats"]["urls"] = json::array({"tls://" + net_->address("n3") + ":4222"});
  const auto only_n3 = dir_ / "vma-b-n3.join";
  ASSERT_TRUE(sys::write_file_atomically(only_n3, file.dump(), 0600));
  ASSERT_TRUE(eventually([&] { return seen_running() > before; }, 30s))
      << read_text(dir_ / "up.log");
  std::string out, err;
  const auto status = net_->run_to_end(
      "vma-b",
      {MK_MIGRATEKIT_PATH, "vma", "--join", only_n3.string(), "--data", (dir_ / "vma-b2").string()},
      &out, &err);
  EXPECT_NE(status, exit_status::exited(0)) << err;
  // NATS.c then tries the nodes n3 told it of, by the name it was given: what it reports is
  // the last refusal. n3's own log says why it refused.
  const auto n3_log = read_text(dir_ / "n3" / "nats" / "server.log");
  EXPECT_NE(n3_log.find("\"v3.4.1:C:vma vma-b\" - authentication error"), std::string::npos)
      << n3_log.substr(n3_log.size() > 3000 ? n3_log.size() - 3000 : 0);
}

}  // namespace
}  // namespace mk::test
