#include "security_fixture.hpp"

#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "bus/home.hpp"
#include "bus/nats_server.hpp"
#include "bus/nats_transport.hpp"
#include "models/ids.hpp"
#include "support/process.hpp"

namespace mk::test {

namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// What each kind of request tries: the list the suite prints with its counts.
const std::vector<std::pair<std::string, std::string>> kinds = {
    {"token",
     "every route and method of docs/openapi.yaml with no token, a wrong one of the same "
     "length, a prefix of it, it plus one character, an empty or doubled-space Bearer, "
     "a Basic scheme, and the right one as ?access_token= (taken by /events only); "
     "/healthz without one"},
    {"route",
     "routes spelled another way to slip past the token check: percent-encoded letters, "
     "doubled slashes, dot segments, upper case, a trailing slash, a NUL, an unknown route"},
    {"id",
     "ids in every route that takes one: .., ../../etc/passwd percent-encoded, upper case, "
     "64 and 300 characters, unicode, NUL, CR LF, spaces, NATS wildcards and dots, a "
     "trailing slash, the demo job's id with a NUL, a space or a slash after it; ids in "
     "bodies (vma, batch ids and filter, a schedule's target)"},
    {"text",
     "names, comments and maintenance reasons with control characters (C0, DEL, ESC, "
     "C1 CSI, NUL), empty, over their limit, 1 MiB; a unicode name and comment (kept)"},
    {"source",
     "sources: file://, /etc/shadow, relative, climbing and NUL socket paths, missing "
     "socket, a host on nbd+unix, ports 0, -1 and 99999, no host, userinfo, unknown "
     "parameters, http:// and ssh://, shell metacharacters, CR LF, a fragment, bad "
     "percent-encoding, unicode, upper-case scheme, 5000 characters, empty"},
    {"body",
     "bodies on every route that takes one: 1 MiB + 1 byte (413), exactly 1 MiB, nested "
     "32, 33 and 10000 deep, brackets inside strings, not JSON, trailing garbage, "
     "wrong or missing Content-Type (415), truncated, an array or a scalar instead of an "
     "object, bytes that are not UTF-8, a lone surrogate, keys given twice"},
    {"number",
     "numbers out of range or of the wrong kind: grace_seconds, max_parallel, limit, "
     "since"},
    {"bus",
     "stops on mk.control.stop from a ctl client: strings that are not UTF-8 (comment, "
     "sender), ids that are not ids, comments with ESC, C1 or a newline or over 1024 "
     "bytes, a grace of 2^32-1 seconds"},
};

struct suite_state {
  temp_dir dir;
  std::unique_ptr<up_process> up;
  std::string error;  ///< why the suite could not start
  std::string demo;
  std::set<std::string> jobs;  ///< the demo and whatever a test made on purpose
  std::set<fs::path> files;    ///< under DATA (but its nats store) once the demo replicated
  std::map<std::string, int> tally;
  std::unique_ptr<bus::nats_transport> spy;
  std::optional<bus::subscription> everything;
  std::mutex mutex;
  std::set<std::string> subjects;
};

std::unique_ptr<suite_state> state;

/// Files under DATA, but the nats-server's store (named by streams and buckets, not by us).
std::set<fs::path> files_under(const fs::path& data) {
  std::set<fs::path> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(data, ec); it != fs::end(it); it.increment(ec)) {
    const auto rel = it->path().lexically_relative(data);
    if (*rel.begin() == "nats") {
      it.disable_recursion_pending();
      continue;
    }
    out.insert(rel);
  }
  return out;
}

bool names_a_known_job(const std::string& name) {
  for (const auto& id : state->jobs)
    if (name.find(id) != std::string::npos ||
        name.find(actors::volume_id_for(id)) != std::string::npos)
      return true;
  return false;
}

void start_suite() {
  state->up = std::make_unique<up_process>(
      state->dir.path(), state->dir / "data", 1,
      std::vector<std::string>{"--demo", "--demo-rate", "8M", "--grace", "5"});
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (state->demo.empty()) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("the demo job never replicated; up's log:\n" + state->up->log());
    auto list = state->up->get("/api/v1/replications");
    if (list.status == 200 && list.body["replications"].size() == 1 &&
        list.body["replications"][0].value("state", "") == "replicating")
      state->demo = list.body["replications"][0].value("id", "");
    std::this_thread::sleep_for(100ms);
  }
  state->jobs.insert(state->demo);
  state->files = files_under(state->up->data_dir());
  // Everything published under the prefix, as the OMA sees it, to tell which names reached
  // a subject.
  auto opts = bus::local_client_options(state->up->data_dir(), bus::role::oma);
  if (!opts) throw std::runtime_error(opts.error().message);
  opts->name = "security spy";
  auto spy = bus::nats_transport::connect(*opts);
  if (!spy) throw std::runtime_error(spy.error().message);
  state->spy = std::move(*spy);
  auto sub = state->spy->subscribe("mk.>", [](bus::envelope e) {
    std::lock_guard lock(state->mutex);
    state->subjects.insert(e.subject);
  });
  if (!sub) throw std::runtime_error(sub.error().message);
  state->everything = std::move(*sub);
}

/// Starts the one `up` before the first test and stops it after the last, whichever fixture
/// class they use; then prints what was tried.
class security_environment : public ::testing::Environment {
 public:
  void SetUp() override {
    state = std::make_unique<suite_state>();
    try {
      start_suite();
    } catch (const std::exception& e) {
      state->error = e.what();
    }
  }

  void TearDown() override {
    if (state->error.empty() && state->subjects.empty())
      ADD_FAILURE() << "the spy heard nothing on the bus, so it cannot tell what reached it";
    int total = 0;
    std::cout << "\nsecurity: what was tried, in requests (or bus messages) of each kind\n";
    for (const auto& [kind, what] : kinds) {
      const int n = state->tally[kind];
      total += n;
      std::cout << "  " << std::left << std::setw(7) << kind << std::right << std::setw(5) << n
                << "  " << what << "\n";
      ::testing::Test::RecordProperty(kind, n);
    }
    std::cout << "  total  " << std::setw(4) << total << "\n" << std::flush;
    state->everything.reset();
    state->spy.reset();
    (void)bus::close_nats(5s);
    if (state->up) state->up->kill9();
    kill_processes_under(state->dir.path());
    state.reset();
  }
};

[[maybe_unused]] auto* const environment =
    ::testing::AddGlobalTestEnvironment(new security_environment);

}  // namespace

void security::SetUp() { ASSERT_TRUE(state->error.empty()) << state->error; }

void security::TearDown() {
  if (!state->error.empty()) return;
  // The OMA still answers, with the health check first, which needs no token.
  httplib::Client anonymous(up().url());
  anonymous.set_read_timeout(10, 0);
  auto health = anonymous.Get("/healthz");
  ASSERT_TRUE(health && health->status == 200) << "the OMA stopped answering; its log:\n"
                                               << up().log();
  auto list = up().get("/api/v1/replications");
  ASSERT_EQ(list.status, 200) << list.text;
  ASSERT_EQ(list.body["replications"].size(), 1u) << "a job was made: " << list.text;
  const auto& job = list.body["replications"][0];
  EXPECT_EQ(job.value("id", ""), demo());
  EXPECT_EQ(job.value("state", ""), "replicating") << job.dump();
  EXPECT_TRUE(job["stop"].is_null()) << job.dump();
  auto log = up().get("/api/v1/replications/" + demo() + "/log");
  for (const auto& entry : log.body["entries"])
    for (const auto* changed : {"stop_requested", "delete_requested", "stop_escalated", "resumed"})
      EXPECT_NE(entry.value("event", ""), changed) << entry.dump();
  EXPECT_EQ(up().get("/api/v1/maintenance").body.value("enabled", true), false);
  EXPECT_EQ(up().get("/api/v1/schedules").body["schedules"], json::array());

  for (const auto& file : files_under(up().data_dir())) {
    if (state->files.contains(file)) continue;
    EXPECT_NE(file.begin()->string(), "volumes") << "a new file in DATA/volumes: " << file;
    EXPECT_TRUE(names_a_known_job(file.filename().string())) << "a new file: " << file;
  }
  ASSERT_TRUE(state->spy->flush(2s));
  std::lock_guard lock(state->mutex);
  for (const auto& subject : state->subjects) {
    // mk.job.<job>.*, mk.log.<job>, mk.vma.<agent>.*: nothing else may stand there.
    const auto first = subject.find('.'), second = subject.find('.', first + 1);
    const auto kind = subject.substr(first + 1, second - first - 1);
    const auto name = second == std::string::npos
                          ? std::string()
                          : subject.substr(second + 1, subject.find('.', second + 1) - second - 1);
    if (kind == "job" || kind == "log") {
      EXPECT_TRUE(state->jobs.contains(name)) << "a subject: " << subject;
    } else if (kind == "vma") {
      EXPECT_EQ(name, "local") << "a subject: " << subject;
    }
  }
}

up_process& security::up() { return *state->up; }

const std::string& security::demo() { return state->demo; }

std::string security::demo_source() {
  return "nbd+unix:///?socket=" + (up().data_dir() / "demo" / "source.sock").string();
}

void security::made(const std::string& id) { state->jobs.insert(id); }

void security::tried(const std::string& kind, int n) { state->tally[kind] += n; }

http_answer security::send(const std::string& kind, const std::string& method,
                           const std::string& path, const httplib::Headers& headers,
                           const std::string& body, const std::string& type) {
  ++state->tally[kind];
  httplib::Client client(up().url());
  client.set_url_encode(false);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(30, 0);
  httplib::Request req;
  req.method = method;
  req.path = path;
  req.headers = headers;
  req.body = body;
  if (!type.empty()) req.set_header("Content-Type", type);
  http_answer out;
  req.response_handler = [&out](const httplib::Response& r) {
    out.status = r.status;
    return r.get_header_value("Content-Type") != "text/event-stream";  // it would never end
  };
  if (auto res = client.send(req)) {
    out.text = res->body;
    out.body = json::parse(res->body, nullptr, false);
    if (out.body.is_discarded()) out.body = nullptr;
  }
  return out;
}

http_answer security::call(const std::string& kind, const std::string& method,
                           const std::string& path, const std::string& body) {
  return send(kind, method, path, {{"Authorization", "Bearer " + up().token()}}, body,
              body.empty() ? "" : "application/json");
}

void security::expect_error(const http_answer& a, int status, const std::string& code,
                            const std::string& names) {
  ASSERT_NE(a.status, 0) << "no answer";
  EXPECT_EQ(a.status, status) << a.text.substr(0, 300);
  ASSERT_TRUE(a.body.is_object() && a.body["error"].is_object()) << a.text.substr(0, 300);
  EXPECT_EQ(a.body["error"].value("code", ""), code) << a.text.substr(0, 300);
  const auto message = a.body["error"].value("message", "");
  EXPECT_NE(message.find(names), std::string::npos) << a.text.substr(0, 300);
}

}  // namespace mk::test
