// The fault-injection suite (docs/recovery.md; ctest label `faults`): rounds of real jobs on the
// whole control plane as processes, stops of every kind, and at a random moment a `kill -9` of
// one of the OMA, the agent, a mover, an nbdkit (the source or a volume's server) or the
// nats-server, restarted at once where a user's supervisor would restart it. After each round
// every job must have kept what the protocol promises:
//   - a job the control API acknowledged still exists;
//   - it settles in a state the protocol allows (a stop asked with `delete` may cancel; nothing
//     else may), within a bound;
//   - resumed from a graceful or killed stop, it completes with a volume equal to its source;
//   - no mover runs for a job that is not replicating;
//   - no volume is deleted unless a delete was asked.
// MK_FAULT_ROUNDS rounds (3 unless told), MK_FAULT_SEED for the random choices (printed, so a
// failing run can be replayed). A summary line tells what was injected and checked.
#include <signal.h>

#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "control_plane.hpp"
#include "messages/codec.hpp"
#include "support/env.hpp"
#include "support/files.hpp"

namespace mk::test {
namespace {

using namespace std::chrono_literals;
using msg::job_state;

constexpr std::uint64_t source_size = 16 << 20;
constexpr auto settle_bound = 150s;

bool final_state(job_state s) {
  return s == job_state::completed || s == job_state::stopped || s == job_state::cancelled ||
         s == job_state::failed;
}

struct round_job {
  std::string id;
  bool stop_asked = false;
  bool delete_asked = false;
  bool stop_acknowledged = false;
};

struct summary {
  unsigned rounds = 0;
  std::map<std::string, unsigned> faults;
  unsigned jobs = 0, resumed = 0, completed = 0, not_resumable = 0, cancelled = 0;
  std::uint64_t bytes_verified = 0;
  std::vector<std::string> violations;
};

class fault_suite : public control_plane {
 protected:
  /// A control request that may go unanswered (the OMA or the server may be down): the
  /// reply, or none.
  template <msg::catalogued T>
  std::optional<msg::control_reply> ask(const std::string& subject, const T& request) {
    auto answer = ctl_->request(subject, msg::encode(request), 5s);
    if (!answer) return std::nullopt;
    auto reply = msg::decode<msg::control_reply>(answer->data);
    return reply ? std::optional(*reply) : std::nullopt;
  }

  /// The pids of the movers now running, with the job each copies for.
  std::map<pid_t, std::string> movers(const std::vector<round_job>& jobs) {
    std::map<pid_t, std::string> out;
    for (auto pid : running_under(dir_.path())) {
      const auto argv = command_line(pid);
      if (argv.size() < 2 || argv[1] != "copy") continue;
      for (const auto& j : jobs)
        for (const auto& arg : argv)
          if (arg.find(j.id) != std::string::npos) out[pid] = j.id;
    }
    return out;
  }

  /// The nbdkit processes that serve volumes (the OMA's, under its data folder).
  std::vector<pid_t> volume_servers() {
    std::vector<pid_t> out;
    for (auto pid : running_under(oma_dir() / "volumes")) {
      const auto argv = command_line(pid);
      if (!argv.empty() && std::filesystem::path(argv[0]).filename() == "nbdkit")
        out.push_back(pid);
    }
    return out;
  }

  /// kill -9 of one part, restarted where a supervisor would restart it; the kind injected.
  std::string inject(std::mt19937& rng, const std::vector<round_job>& jobs) {
    static const char* kinds[] = {"oma", "agent", "mover", "nbdkit", "nats-server"};
    std::string kind = kinds[rng() % 5];
    if (kind == "mover") {
      auto running = movers(jobs);
      if (running.empty())
        kind = "oma";  // nothing copies at this moment: the OMA instead
      else
        ::kill(std::next(running.begin(), rng() % running.size())->first, SIGKILL);
    }
    if (kind == "nbdkit") {
      auto servers = volume_servers();
      if (rng() % 2 == 0 || servers.empty()) {
        kind = "nbdkit (source)";
        source_.proc().kill();
        source_.stop();  // removes its socket: not after the new server made it again
        start_source(source_size, rate_);
      } else {
        kind = "nbdkit (volume)";
        ::kill(servers[rng() % servers.size()], SIGKILL);
      }
    }
    if (kind == "oma") {
      kill_oma();
      start_oma();
    } else if (kind == "agent") {
      kill_vma();
      start_vma();
    } else if (kind == "nats-server") {
      ::kill(server_->pid(), SIGKILL);
      restart_server();
    }
    return kind;
  }

  /// As a supervisor does: the OMA or the agent that ended by itself (a bug: no fault was
  /// injected into it) is noted and started again.
  void supervise() {
    if (!oma_.running()) {
      exits_["the OMA ended by itself (its log: " + (dir_ / "oma.log").string() + ")"] += 1;
      start_oma();
    }
    if (!vma_.running()) {
      exits_["the agent ended by itself"] += 1;
      start_vma();
    }
  }

  /// Waits until `holds` is true of the job's record; false at the bound.
  bool wait_record(const std::string& id,
                   const std::function<bool(const actors::job_record&)>& holds,
                   std::chrono::milliseconds bound) {
    return eventually(
        [&] {
          supervise();
          auto j = job(id);
          return j && holds(*j);
        },
        bound);
  }

  void run_round(unsigned round, std::mt19937& rng, summary& s) {
    std::vector<round_job> jobs;
    const unsigned n = 2 + rng() % 2;
    for (unsigned i = 0; i < n; ++i)
      jobs.push_back({replicate("round " + std::to_string(round) + " disk " + std::to_string(i))});
    // The stops go from a thread of their own; the fault comes from this one, since what it
    // restarts must not die with a thread that ends (nbdkit and the test's children are tied to
    // the thread that started them by a parent-death signal).
    const auto stops_at = std::chrono::milliseconds(300 + rng() % 1200);
    std::vector<std::pair<msg::stop_mode, msg::volume_action>> asked(jobs.size());
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      jobs[i].stop_asked = rng() % 10 < 7;  // the others are left to complete, or to the fault
      asked[i] = {rng() % 4 == 0 ? msg::stop_mode::force : msg::stop_mode::graceful,
                  rng() % 4 == 0 ? msg::volume_action::remove : msg::volume_action::keep};
      jobs[i].delete_asked = jobs[i].stop_asked && asked[i].second == msg::volume_action::remove;
    }
    std::thread stopper([&] {
      std::this_thread::sleep_for(stops_at);
      for (std::size_t i = 0; i < jobs.size(); ++i) {
        if (!jobs[i].stop_asked) continue;
        msg::stop_request r;
        r.hdr = {"fault-suite", 0, "test"};
        r.job = jobs[i].id;
        r.mode = asked[i].first;
        r.volumes = asked[i].second;
        r.comment = "fault suite round " + std::to_string(round);
        auto reply = ask("mk.control.stop", r);
        jobs[i].stop_acknowledged = reply && reply->ok;
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 3000));
    const auto kind = inject(rng, jobs);
    stopper.join();
    s.faults[kind] += 1;
    s.jobs += jobs.size();
    auto violation = [&](const round_job& j, const std::string& what) {
      auto record = job(j.id);
      s.violations.push_back(
          "round " + std::to_string(round) + " (" + kind + "), job " + j.id + ": " + what +
          "; record: " + (record ? actors::to_json(*record).dump() : std::string("none")));
    };

    for (const auto& j : jobs) {
      if (!wait_record(
              j.id, [](const auto& r) { return final_state(r.state); }, settle_bound)) {
        violation(j, "did not settle within " + std::to_string(settle_bound.count()) + " s");
        continue;
      }
      auto record = *job(j.id);
      if (record.state == job_state::cancelled && !j.delete_asked)
        violation(j, "cancelled without a delete");
      if (record.state == job_state::cancelled) {
        s.cancelled += 1;
        continue;
      }
      // A job stopped before its volume was attached never had one to lose.
      if (!j.delete_asked && !record.target.empty() && !std::filesystem::exists(volume_file(j.id)))
        violation(j, "its volume is gone, and no delete was asked");
      if (record.state != job_state::completed) {
        if (!record.resumable()) {
          // Allowed only where the protocol could not confirm the mover's end, or a delete
          // was asked; the volume itself must still be there (checked above).
          s.not_resumable += 1;
          if (!j.delete_asked && !record.error.starts_with("stop_unconfirmed"))
            violation(j,
                      "settled " + std::string(msg::name_of(record.state)) + " and not resumable");
          continue;
        }
        msg::resume_request r;
        r.hdr = {"fault-suite", 0, "test"};
        r.job = j.id;
        if (!eventually(
                [&] {
                  auto reply = ask("mk.control.resume", r);
                  return reply && reply->ok;
                },
                60s)) {
          violation(j, "a resume was never acknowledged");
          continue;
        }
        s.resumed += 1;
        if (!wait_record(
                j.id, [](const auto& x) { return final_state(x.state); }, settle_bound)) {
          violation(j, "the resumed job did not settle");
          continue;
        }
      }
      record = *job(j.id);
      if (record.state != job_state::completed) {
        violation(j, "ended " + std::string(msg::name_of(record.state)) + " after its resume");
        continue;
      }
      s.completed += 1;
      if (hash_file(volume_file(j.id)) != source_hash_)
        violation(j, "its volume differs from the source");
      else
        s.bytes_verified += source_size;
    }
    // Every job of the round is final now: none may have a mover.
    for (const auto& [pid, id] : movers(jobs))
      violation(round_job{id}, "mover " + std::to_string(pid) + " still runs");
    for (const auto& [why, times] : std::exchange(exits_, {}))
      s.violations.push_back("round " + std::to_string(round) + " (" + kind + "): " + why + ", " +
                             std::to_string(times) + (times == 1 ? " time" : " times"));
    s.rounds += 1;
  }

  std::string rate_ = "64M";
  std::map<std::string, unsigned> exits_;  ///< why -> how often, this round
  digest source_hash_;
};

TEST_F(fault_suite, kill_9_of_any_part_loses_nothing) {
  fault_rounds plan("fault suite", 3);
  const unsigned seed = plan.seed;
  start_source(source_size, rate_);
  source_hash_ = source_digest();
  start_oma();
  start_vma();
  summary s;
  const auto began = std::chrono::steady_clock::now();
  for (unsigned r = 0; r < plan.rounds && !HasFatalFailure(); ++r) run_round(r, plan.rng, s);
  const auto took =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - began)
          .count();
  std::string faults;
  for (const auto& [kind, count] : s.faults)
    faults += (faults.empty() ? "" : ", ") + kind + " " + std::to_string(count);
  std::printf(
      "fault suite summary: %u rounds in %lld s, seed %u; faults injected: %s; jobs checked: %u "
      "(completed %u, resumed %u, cancelled %u, not resumable %u); bytes verified: %llu; "
      "violations: %zu\n",
      s.rounds, static_cast<long long>(took), seed, faults.c_str(), s.jobs, s.completed, s.resumed,
      s.cancelled, s.not_resumable, static_cast<unsigned long long>(s.bytes_verified),
      s.violations.size());
  for (const auto& v : s.violations) ADD_FAILURE() << v;
  if (!s.violations.empty())
    ADD_FAILURE() << "OMA log:\n"
                  << read_text(dir_ / "oma.log") << "\nVMA log:\n"
                  << read_text(dir_ / "vma.log");
}

}  // namespace
}  // namespace mk::test
