// Across hosts (docs/security.md, docs/recovery.md, SPEC section 11): `migratekit up
// --advertise` on one host, agents enrolled with `ctl agent add` joining from others with
// their join files. A job copies over the network into a volume served with TLS-PSK to its
// agent only, is stopped with its volume kept, resumed, and the volume equals the source byte
// for byte. An agent cut off from the network mid-copy keeps its volume safe: its job's stop
// fails `stop_unconfirmed: vma_process` without touching the volume, even asked to delete it,
// and once the cable is back the job resumes and completes identical. The OMA's host cut off
// from both agents mid-copy leaves both jobs resumable (their movers give up on the volume's
// endpoint, naming it); the OMA killed and started again finds its remote agents' jobs.
#include <atomic>

#include "bus/nats_transport.hpp"
#include "bus/server_config.hpp"
#include "messages/codec.hpp"
#include "product_hosts.hpp"

namespace mk::test {
namespace {

using across_hosts = product_hosts;

TEST_F(across_hosts, a_remote_agents_job_copies_over_tls_psk_stops_and_resumes_identical) {
  start_oma();
  const auto urls = read_text(oma_data() / "nats" / "urls");
  EXPECT_TRUE(urls.starts_with("tls://" + net_->address("oma") + ":")) << urls;
  join("vma-a");
  const auto file = json::parse(read_text(dir_ / "vma-a.join"));
  EXPECT_TRUE(file["nats"]["urls"][0].get<std::string>().starts_with("tls://10.77.0.1:")) << file;
  EXPECT_TRUE(file["nats"]["ca"].is_string()) << "the join file carries the bus's CA";
  start_source();
  const auto id = replicating("vma-a");

  // Its mover (on the agent's host) writes to the OMA's host over TLS-PSK as vma-a.
  const auto running = movers();
  ASSERT_EQ(running.size(), 1u);
  EXPECT_NE(running[0].find("nbds://vma-a@" + net_->address("oma") + ":"), std::string::npos)
      << running[0];
  EXPECT_NE(running[0].find("tls-psk-file=" + (dir_ / "vma-a" / "volumes.psk").string()),
            std::string::npos)
      << running[0];

  ASSERT_FALSE(ctl({"stop", id, "--wait", "--timeout", "60"}).is_null());
  EXPECT_EQ(job(id).value("state", ""), "stopped") << job(id);
  EXPECT_TRUE(movers().empty());

  rate_.set("20G");
  ASSERT_FALSE(ctl({"resume", id}).is_null());
  completes_identical(id, "vma-a");
}

TEST_F(across_hosts, a_partitioned_agents_volume_is_never_touched_and_a_resume_completes_it) {
  start_oma();
  join("vma-b");
  start_source();
  const auto id = replicating("vma-b");
  const auto volume = job(id)["volume"].value("path", "");
  ASSERT_FALSE(volume.empty()) << job(id);

  // The agent's cable is pulled: a stop, even one that would delete the volume, cannot be
  // confirmed by it, so it fails the job past its deadline (grace 5 s + 15 s) and leaves the
  // volume where it is (its mover may still write).
  net_->partition("vma-b");
  const auto stopping = ctl({"stop", id, "--delete"});
  ASSERT_TRUE(stopping.is_object());
  ASSERT_TRUE(eventually([&] { return job(id).value("state", "") == "failed"; }, 60s)) << job(id);
  EXPECT_EQ(job(id).value("error", ""), "stop_unconfirmed: vma_process") << job(id);
  EXPECT_TRUE(std::filesystem::exists(volume)) << "the volume of an unreachable agent went";
  EXPECT_NE(job(id)["volume"].value("state", ""), "deleted") << job(id);

  EXPECT_FALSE(job(id).value("resumable", true)) << "its mover may still write";

  // The cable is back: the agent answers the OMA again, the mover of a job that should not
  // run is stopped, and once the agent runs none for it the job is resumable; a resume then
  // continues from its checkpoint to the end.
  net_->heal("vma-b");
  ASSERT_TRUE(
      eventually([&] { return movers().empty() && job(id).value("resumable", false); }, 90s))
      << job(id) << "\n"
      << read_text(dir_ / "vma-b.log");
  rate_.set("20G");
  ASSERT_FALSE(ctl({"resume", id}).is_null());
  completes_identical(id, "vma-b");
  EXPECT_EQ(job(id)["volume"].value("path", ""), volume);
}

TEST_F(across_hosts, a_mover_that_finds_the_oma_unreachable_for_a_moment_waits_for_it) {
  // A host whose cable was out may take the others for unreachable a moment after it is back
  // ("No route to host", seen in the bus fault suite): a mover started then (a resume right
  // after a heal) waits within its I/O timeout, as for a server that does not answer, rather
  // than fail at once. Here the agent's host has a route saying so for 1.5 s.
  net_->run("oma", {"nbdkit", "-f", "-i", net_->address("oma"), "-p", "10809", "memory", "1M"},
            {.stdout_path = dir_ / "nbdkit.log", .stderr_path = dir_ / "nbdkit.log"});
  const auto uri = "nbd://" + net_->address("oma") + ":10809/";
  const auto copy = [&](const std::string& target) {
    return &net_->run(
        "vma-a", {MK_MIGRATEKIT_PATH, "copy", uri, (dir_ / target).string(), "--io-timeout", "8"},
        {.stdout_path = dir_ / "copy.log", .stderr_path = dir_ / "copy.log", .append = true});
  };
  ASSERT_TRUE(
      eventually([&] { return copy("before.img")->wait_for(10s) == exit_status::exited(0); }, 10s))
      << read_text(dir_ / "copy.log") << read_text(dir_ / "nbdkit.log");
  const auto route =
      std::vector<std::string>{"ip", "route", "add", "unreachable", net_->address("oma") + "/32"};
  ASSERT_EQ(net_->run_to_end("vma-a", route), exit_status::exited(0));
  auto* mover = copy("after.img");
  std::this_thread::sleep_for(1500ms);
  EXPECT_FALSE(mover->wait_for(0ms).has_value())
      << "gave up at once: " << read_text(dir_ / "copy.log");
  ASSERT_EQ(net_->run_to_end("vma-a",
                             {"ip", "route", "del", "unreachable", net_->address("oma") + "/32"}),
            exit_status::exited(0));
  EXPECT_EQ(mover->wait_for(20s), exit_status::exited(0)) << read_text(dir_ / "copy.log");
  EXPECT_EQ(std::filesystem::file_size(dir_ / "after.img"), 1u << 20);
}

TEST_F(across_hosts, the_oma_cut_off_from_both_agents_mid_copy_leaves_both_jobs_resumable) {
  const auto agent_of = a_job_on_each_agent();
  std::map<std::string, std::string> endpoint;
  for (const auto& [id, agent] : agent_of) endpoint[id] = volume_endpoint(agent);

  // The OMA's host loses its cable: bus and volumes out of reach of both agents. Each mover
  // gets no reply from its volume and gives up after its --io-timeout (8 s).
  net_->partition("oma");
  const bool movers_gave_up = eventually([&] { return movers().empty(); }, 40s);
  net_->heal("oma");
  if (!movers_gave_up) {
    std::string seen;
    for (const auto& line : movers()) seen += line + "\n";
    for (const auto& f : std::filesystem::recursive_directory_iterator(dir_.path()))
      if (f.path().extension() == ".log" || f.path().extension() == ".err")
        seen += f.path().string() + ":\n" + read_text(f.path()) + "\n";
    FAIL() << "movers still running after 40 s of partition:\n" << seen;
  }

  // Heard again, each agent says its mover ended: the jobs fail, resumable, naming the
  // endpoint that did not answer; a resume completes both from their checkpoints.
  for (const auto& [id, agent] : agent_of) {
    ASSERT_TRUE(eventually(
        [&] { return state_of(id) == "failed" && job(id).value("resumable", false); }, 60s))
        << job(id) << "\n"
        << read_text(log_of(agent));
    EXPECT_NE(job(id).value("error", "").find(endpoint[id]), std::string::npos)
        << "the error names " << endpoint[id] << ": " << job(id);
  }
  rate_.set("20G");
  for (const auto& [id, agent] : agent_of) ASSERT_FALSE(ctl({"resume", id}).is_null());
  for (const auto& [id, agent] : agent_of) completes_identical(id, agent);
}

TEST_F(across_hosts, the_oma_killed_and_started_again_finds_its_remote_agents_jobs) {
  const auto agent_of = a_job_on_each_agent();
  const auto bus_url = read_text(oma_data() / "nats" / "urls");

  // kill -9: the bus goes with it; the movers on the agents' hosts and the volume servers go
  // on. The OMA started again serves the bus where the agents' join files say, and takes its
  // jobs back where they are: replicating, their movers adopted.
  kill_oma();
  start_oma();
  EXPECT_EQ(read_text(oma_data() / "nats" / "urls"), bus_url) << "agents know the old address";
  for (const auto& [id, agent] : agent_of) {
    const auto before = job(id)["progress"].value("bytes_done", 0u);
    ASSERT_TRUE(eventually(
        [&] {
          const auto j = job(id);
          return j.value("state", "") == "replicating" &&
                 j["progress"].value("bytes_done", 0u) > before;
        },
        60s))
        << job(id) << "\n"
        << read_text(log_of(agent));
  }
  EXPECT_EQ(movers().size(), 2u) << "a mover stopped or started twice";
  rate_.set("20G");
  for (const auto& [id, agent] : agent_of) completes_identical(id, agent);
}

// With vma-a's own credentials and key, on vma-a's host: nothing it sends for vma-b or its job
// reaches anyone, it hears nothing of theirs, and it cannot open vma-b's volume; vma-b's job
// goes on unaffected. Revoked, vma-a is cut off at once and cannot come back.
TEST_F(across_hosts, an_agent_can_neither_speak_for_another_nor_open_its_volume) {
  start_oma();
  join("vma-a");
  join("vma-b");
  start_source();
  const auto id = replicating("vma-b");
  const auto join_file = json::parse(read_text(dir_ / "vma-a.join"));
  bus::nats_options as_a;
  as_a.url = join_file["nats"]["urls"][0].get<std::string>();
  as_a.name = "vma-a, forging";
  as_a.creds_file = dir_ / "vma-a" / "bus.creds";
  as_a.ca_file = dir_ / "vma-a" / "bus-ca.pem";
  as_a.inbox_prefix = bus::inbox_prefix("vma-a");
  as_a.retry_on_failed_connect = false;

  net_->inside("vma-a", [&] {
    auto forger = bus::nats_transport::connect(as_a);
    ASSERT_TRUE(forger) << forger.error().message;
    // Had the server let it through, this would complete vma-b's job on a partial volume.
    msg::progress done;
    done.hdr = {"forged-1", 0, "vma:vma-b"};
    done.job = id;
    done.state = msg::progress_state::exited;
    done.exit_code = 0;
    done.bytes_done = done.bytes_total = 32 << 20;
    const std::vector<std::string> forged = {"mk.vma.vma-b.job." + id + ".progress",
                                             "mk.vma.vma-b.job." + id + ".stopped",
                                             "mk.vma.vma-b.hello", "mk.job." + id + ".stopped"};
    for (const auto& subject : forged) EXPECT_TRUE((*forger)->publish(subject, msg::encode(done)));
    std::atomic<int> heard = 0;
    std::vector<bus::subscription> spies;
    const std::vector<std::string> spied = {"mk.vma.vma-b.>", "_INBOX_vma-b.>", "_INBOX_oma.>",
                                            "mk.job." + id + ".>"};
    for (const auto& pattern : spied) {
      auto sub = (*forger)->subscribe(pattern, [&heard](bus::envelope) { ++heard; });
      ASSERT_TRUE(sub) << pattern;
      spies.push_back(std::move(*sub));
    }
    ASSERT_TRUE((*forger)->flush(5s));
    EXPECT_TRUE(eventually(
        [&] { return (*forger)->stats().permission_violations >= forged.size() + spied.size(); },
        10s))
        << (*forger)->stats().permission_violations << " refusals";
    std::this_thread::sleep_for(2s);  // vma-b's progress would have reached a spy by now
    EXPECT_EQ(heard.load(), 0);
  });

  // vma-b's volume opens with vma-b's key from vma-b's host (the mover's own URI), and with
  // neither vma-a's key nor without TLS from vma-a's.
  std::string uri;
  for (const auto& line : movers())
    if (auto at = line.find("nbds://vma-b@"); at != std::string::npos)
      uri = line.substr(at, line.find(' ', at) - at);
  ASSERT_FALSE(uri.empty());
  const auto endpoint = volume_endpoint("vma-b");
  const auto path = uri.substr(0, uri.find('?')).substr(uri.find(endpoint) + endpoint.size());
  std::string out, error;
  EXPECT_EQ(net_->run_to_end("vma-b", {"nbdinfo", "--size", uri}, &out, &error),
            exit_status::exited(0))
      << uri << ": " << error;
  const auto with_a_key = "nbds://vma-a@" + endpoint + path +
                          "?tls-psk-file=" + (dir_ / "vma-a" / "volumes.psk").string();
  EXPECT_NE(net_->run_to_end("vma-a", {"nbdinfo", "--size", with_a_key}, &out, &error),
            exit_status::exited(0))
      << with_a_key << " opened vma-b's volume";
  EXPECT_NE(
      net_->run_to_end("vma-a", {"nbdinfo", "--size", "nbd://" + endpoint + path}, &out, &error),
      exit_status::exited(0))
      << "vma-b's volume opened without TLS";

  EXPECT_EQ(state_of(id), "replicating") << job(id);

  // Revoked: vma-a's connection is closed at once, the agent ends saying why, and its
  // credentials are refused from then on.
  ASSERT_FALSE(ctl({"agent", "rm", "vma-a"}).is_null());
  const auto ended = agents_["vma-a"]->wait_for(10s);
  ASSERT_TRUE(ended) << "vma-a still runs after its revocation";
  EXPECT_EQ(*ended, exit_status::exited(1));
  net_->inside("vma-a", [&] {
    auto again = bus::nats_transport::connect(as_a);
    ASSERT_FALSE(again) << "revoked credentials accepted";
    EXPECT_NE(again.error().message.find("uthorization"), std::string::npos)
        << again.error().message;
  });

  rate_.set("20G");
  completes_identical(id, "vma-b");
}

// Stop, force, delete, a batch across both agents and a maintenance scoped to one work across
// hosts as on one machine.
TEST_F(across_hosts, stops_of_every_kind_a_batch_and_one_agents_maintenance_work_across_hosts) {
  std::map<std::string, std::string> job_of;
  for (const auto& [id, agent] : a_job_on_each_agent()) job_of[agent] = id;
  const auto a = job_of["vma-a"], b = job_of["vma-b"];
  const auto replicating_again = [&](const std::string& id) {
    return eventually([&] { return state_of(id) == "replicating"; }, 60s);
  };

  // Maintenance of vma-a only: its job stops, vma-b's goes on; off, it resumes.
  ASSERT_FALSE(
      ctl({"maintenance", "on", "--scope", "vma:vma-a", "--reason", "patching vma-a"}).is_null());
  ASSERT_TRUE(eventually([&] { return state_of(a) == "stopped"; }, 60s)) << job(a);
  EXPECT_EQ(job(a)["stop"].value("reason", ""), "maintenance") << job(a);
  EXPECT_EQ(state_of(b), "replicating") << job(b);
  ASSERT_FALSE(ctl({"maintenance", "off", "--resume-after"}).is_null());
  ASSERT_TRUE(replicating_again(a)) << job(a);

  // A batch across both agents, forced: both movers are killed at once, volumes kept.
  const auto batch = ctl({"stop", a, b, "--force", "--comment", "batch across hosts"});
  ASSERT_TRUE(batch.is_object()) << batch;
  for (const auto& id : {a, b}) {
    ASSERT_TRUE(eventually([&] { return state_of(id) == "stopped"; }, 60s)) << job(id);
    EXPECT_EQ(job(id)["stop"].value("mode", ""), "force") << job(id);
    EXPECT_TRUE(job(id).value("resumable", false)) << job(id);
  }
  EXPECT_TRUE(movers().empty());

  // vma-b's job resumed, then stopped with its volume deleted: cancelled, the volume gone.
  ASSERT_FALSE(ctl({"resume", b}).is_null());
  ASSERT_TRUE(replicating_again(b)) << job(b);
  const auto volume_b = job(b)["volume"].value("path", "");
  ASSERT_FALSE(ctl({"stop", b, "--delete", "--wait", "--timeout", "60"}).is_null());
  EXPECT_EQ(state_of(b), "cancelled") << job(b);
  EXPECT_FALSE(std::filesystem::exists(volume_b)) << volume_b;

  // vma-a's job, stopped gracefully twice over, completes identical.
  rate_.set("20G");
  ASSERT_FALSE(ctl({"resume", a}).is_null());
  completes_identical(a, "vma-a");
}

}  // namespace
}  // namespace mk::test
