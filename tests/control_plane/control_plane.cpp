#include "control_plane.hpp"

#include <signal.h>

#include <fstream>
#include <thread>

#include "messages/codec.hpp"
#include "models/ids.hpp"
#include "support/files.hpp"

namespace mk::test {

namespace {

using nlohmann::json;

template <msg::catalogued T>
msg::control_reply ask(bus::transport& t, const std::string& subject, const T& request) {
  auto answer = t.request(subject, msg::encode(request), std::chrono::seconds(10));
  EXPECT_TRUE(answer) << subject << ": " << answer.error().message;
  if (!answer) return {};
  auto reply = msg::decode<msg::control_reply>(answer->data);
  EXPECT_TRUE(reply) << reply.error().message;
  return reply ? *reply : msg::control_reply{};
}

/// The binary under test: the build's, or MK_MIGRATEKIT's (a copy, so that a long run of the
/// fault suite does not meet a binary being rebuilt).
std::string migratekit() {
  const char* path = std::getenv("MK_MIGRATEKIT");
  return path && *path ? path : MK_MIGRATEKIT_PATH;
}

spawn_options log_to(const std::filesystem::path& path) {
  spawn_options opts;
  opts.stderr_path = path;
  opts.append = true;  // one log across restarts: what came before a kill -9 tells the most
  return opts;
}

}  // namespace

void control_plane::SetUp() {
  nats_fixture::SetUp();
  if (HasFatalFailure()) return;
  std::filesystem::create_directories(oma_dir());
  std::filesystem::create_directories(vma_dir());
  ctl_ = connect(bus::role::ctl, "test ctl");
  reader_ = connect(bus::role::oma, "test reader");
  ASSERT_TRUE(ctl_ && reader_);
  auto state = bus::state_store::open(*reader_);
  ASSERT_TRUE(state) << state.error().message;
  state_ = std::move(*state);
}

void control_plane::TearDown() {
  if (oma_.pid() > 0) oma_.kill();
  if (vma_.pid() > 0) vma_.kill();
  // Movers outlive their agent and volume servers their OMA, by design: kill what is left.
  kill_processes_under(dir_.path());
  source_.stop();
  state_.reset();
  ctl_.reset();
  reader_.reset();
  nats_fixture::TearDown();
}

void control_plane::start_source(std::uint64_t size, const std::string& rate) {
  start_source(size, rate, {}, {});
}

void control_plane::start_source(std::uint64_t size, const std::string& rate,
                                 const std::vector<std::string>& filters,
                                 const std::vector<std::string>& parameters) {
  // noparallel: nbdkit 1.32 can abort (connections.c: `sock >= 0`) when a client is killed
  // while several of its requests sleep in the rate filter; one request at a time avoids it
  // and costs nothing at this rate. burstiness: the rate filter would otherwise pass two
  // seconds of data at once, and a short copy would end before a stop could land.
  std::vector<std::string> all_filters = {"noparallel", "rate"};
  all_filters.insert(all_filters.end(), filters.begin(), filters.end());
  std::vector<std::string> args = {"random",         "size=" + std::to_string(size),
                                   "seed=7",         "rate=" + rate,
                                   "burstiness=0.5", "serialize=requests"};
  source_rate_ = rate_file(dir_ / "source.rate");
  args.push_back(source_rate_.arg());
  args.insert(args.end(), parameters.begin(), parameters.end());
  source_ = nbdkit_server::start(dir_.path(), "source", all_filters, args);
}

void control_plane::start_oma() {
  // A graceful stop's mover drains, flushes the volume and fsyncs its checkpoint: seconds on
  // a disk busy with other work. A test that wants the kill after the grace asks a short one.
  // The server trusts the keys under oma_dir() (bus_home_dir()): the OMA mints its own
  // credentials from them, as it does on a bus node started from its folder.
  oma_ = process::spawn({migratekit(), "oma", "--nats", server_->url(), "--data",
                         oma_dir().string(), "--grace", "20", "--listen", "127.0.0.1:0"},
                        log_to(dir_ / "oma.log"));
}

void control_plane::start_vma() {
  std::vector<std::string> argv = {
      migratekit(), "vma",   "--nats", server_->url(),    "--creds", agent_creds("local").string(),
      "--id",       "local", "--data", vma_dir().string()};
  // A checkpoint every second, not every 30 s: the movers' checkpoints are what these tests
  // watch to see a copy under way (wait_for_bytes), and an adopted mover's progress.
  argv.insert(argv.end(), {"--mover-arg", "--checkpoint-interval=1"});
  argv.insert(argv.end(), vma_options_.begin(), vma_options_.end());
  vma_ = process::spawn(argv, log_to(dir_ / "vma.log"));
}

void control_plane::kill_oma() { oma_.kill(); }
void control_plane::kill_vma() { vma_.kill(); }

std::string control_plane::replicate(const std::string& name) {
  msg::replicate_request r;
  r.hdr = {"t-1", 0, "test"};
  r.name = name;
  r.source = source_.uri();
  r.vma = "local";
  // The OMA may still be starting: control requests find no responder until it subscribes.
  msg::control_reply reply;
  const bool answered = eventually(
      [&] {
        auto answer =
            ctl_->request("mk.control.replicate", msg::encode(r), std::chrono::seconds(10));
        if (!answer) return false;
        auto decoded = msg::decode<msg::control_reply>(answer->data);
        if (decoded) reply = *decoded;
        return decoded.has_value();
      },
      std::chrono::seconds(30));
  EXPECT_TRUE(answered) << "the OMA never answered mk.control.replicate";
  EXPECT_TRUE(reply.ok) << reply.code << ": " << reply.error;
  return reply.job;
}

msg::control_reply control_plane::stop(const std::string& job, msg::volume_action volumes,
                                       msg::stop_mode mode, std::uint32_t grace_seconds) {
  msg::stop_request r;
  r.hdr = {"t-2", 0, "test"};
  r.job = job;
  r.volumes = volumes;
  r.mode = mode;
  r.reason = msg::stop_reason::bus;
  r.comment = "stopped by a test";
  r.grace_seconds = grace_seconds;
  return ask(*ctl_, "mk.control.stop", r);
}

msg::control_reply control_plane::resume(const std::string& job) {
  msg::resume_request r;
  r.hdr = {"t-3", 0, "test"};
  r.job = job;
  return ask(*ctl_, "mk.control.resume", r);
}

std::optional<actors::job_record> control_plane::job(const std::string& id) {
  auto entry = state_->jobs().get(id);
  if (!entry) return std::nullopt;
  auto j = actors::job_from_json(std::string(entry->value.begin(), entry->value.end()));
  EXPECT_TRUE(j) << j.error();
  return j ? std::optional(*j) : std::nullopt;
}

bool control_plane::wait_for(const std::string& id, msg::job_state state,
                             std::chrono::milliseconds timeout) {
  const bool reached = eventually(
      [&] {
        auto j = job(id);
        return j && j->state == state;
      },
      timeout);
  if (!reached) {
    auto entry = state_->jobs().get(id);
    ADD_FAILURE() << "job " << id << " never reached " << msg::name_of(state) << "; record: "
                  << (entry ? std::string(entry->value.begin(), entry->value.end()) : "none")
                  << "\nOMA log:\n"
                  << read_text(dir_ / "oma.log") << "\nVMA log:\n"
                  << read_text(dir_ / "vma.log") << "\nsource nbdkit:\n"
                  << read_text(dir_ / "source.err");
  }
  return reached;
}

bool control_plane::wait_for_bytes(const std::string& id, std::uint64_t bytes,
                                   std::chrono::milliseconds timeout) {
  // Progress reaches the record every few seconds; the agent's checkpoint is the quicker
  // witness that the copy is under way.
  return eventually(
      [&] {
        const auto ckpt = vma_dir() / "checkpoints" / (id + ".json");
        auto text = read_text(ckpt);
        if (text.empty()) return false;
        auto j = json::parse(text, nullptr, false);
        return j.is_object() && j.value("bytes_done", std::uint64_t{0}) >= bytes;
      },
      timeout);
}

std::vector<json> control_plane::log(const std::string& id) {
  std::vector<json> out;
  auto entries = state_->log().read(id);
  EXPECT_TRUE(entries) << entries.error().message;
  if (entries)
    for (const auto& e : *entries) out.push_back(json::parse(std::string(e.begin(), e.end())));
  return out;
}

std::vector<std::string> control_plane::events(const std::string& id) {
  std::vector<std::string> out;
  for (const auto& e : log(id)) out.push_back(e.value("event", "?"));
  return out;
}

::testing::AssertionResult control_plane::logged(const std::string& id,
                                                 const std::vector<std::string>& wanted,
                                                 std::chrono::milliseconds timeout) {
  if (eventually([&] { return in_order(events(id), wanted); }, timeout))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "the JobLog of " << id << " does not hold " << ::testing::PrintToString(wanted)
         << " in this order: " << ::testing::PrintToString(events(id)) << "\nOMA log:\n"
         << read_text(dir_ / "oma.log");
}

std::filesystem::path control_plane::volume_file(const std::string& job) const {
  return oma_dir() / "volumes" / (actors::volume_id_for(job) + ".img");
}

digest control_plane::source_digest() const { return hash_export(source_.uri()); }

}  // namespace mk::test
