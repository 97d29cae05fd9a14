#include "up_process.hpp"

#include <httplib.h>
#include <signal.h>

#include <stdexcept>
#include <thread>

#include "bus/home.hpp"
#include "bus/nats_server.hpp"
#include "bus/nats_transport.hpp"
#include "bus/state.hpp"
#include "support/files.hpp"

namespace mk::test {

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  return text;
}

/// The URL in "... Web UI: URL" on stdout; empty until that line is printed.
std::string printed_url_in(const std::string& output) {
  const std::string marker = "Web UI: ";
  const auto at = output.find(marker);
  if (at == std::string::npos) return {};
  const auto end = output.find('\n', at);
  if (end == std::string::npos) return {};  // the line is still being written
  return output.substr(at + marker.size(), end - at - marker.size());
}

}  // namespace

up_process::up_process(const std::filesystem::path& dir, const std::filesystem::path& data_dir,
                       int run, const std::vector<std::string>& args)
    : out_(dir / ("up-" + std::to_string(run) + ".out")),
      err_(dir / ("up-" + std::to_string(run) + ".log")),
      data_dir_(data_dir) {
  std::error_code ec;
  std::filesystem::remove(data_dir_ / "api-url", ec);
  std::vector<std::string> argv = {MK_MIGRATEKIT_PATH, "up",       "--data",
                                   data_dir_.string(), "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), args.begin(), args.end());
  spawn_options opts;
  opts.stdout_path = out_;
  opts.stderr_path = err_;
  opts.own_process_group = true;  // as a shell runs it: interrupt() reaches the group
  proc_ = process::spawn(argv, opts);

  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    if (auto status = proc_.wait_for(0ms))
      throw std::runtime_error("migratekit up ended (" + to_string(*status) +
                               ") before it was "
                               "ready; its log:\n" +
                               log());
    if (std::chrono::steady_clock::now() >= deadline)
      throw std::runtime_error("migratekit up not ready in 60 s; its log:\n" + log());
    printed_url_ = printed_url_in(output());
    url_ = trimmed(read_text(data_dir_ / "api-url"));
    if (!printed_url_.empty() && !url_.empty()) {
      token_ = trimmed(read_text(data_dir_ / "api-token"));
      if (get("/healthz").status == 200) return;
    }
    std::this_thread::sleep_for(50ms);
  }
}

std::optional<exit_status> up_process::interrupt(std::chrono::milliseconds timeout) {
  proc_.signal_group(SIGINT);
  return proc_.wait_for(timeout);
}

void up_process::kill9() { proc_.kill(); }

std::string up_process::output() const { return read_text(out_); }
std::string up_process::log() const { return read_text(err_); }

http_answer up_process::request(const std::string& method, const std::string& path,
                                const json& body) const {
  httplib::Client client(url_);
  client.set_connection_timeout(5s);
  client.set_read_timeout(30s);
  client.set_bearer_token_auth(token_);
  httplib::Request req;
  req.method = method;
  req.path = path;
  if (!body.is_null()) {
    req.body = body.dump();
    req.set_header("Content-Type", "application/json");
  }
  auto res = client.send(req);
  http_answer out;
  if (!res) return out;
  out.status = res->status;
  out.text = res->body;
  out.body = json::parse(res->body, nullptr, false);
  if (out.body.is_discarded()) out.body = nullptr;
  return out;
}

// -- up_fixture -----------------------------------------------------------------------------

void up_fixture::TearDown() {
  if (up_) up_->kill9();
  kill_processes_under(dir_.path());
  up_.reset();
}

up_process& up_fixture::start_up(const std::vector<std::string>& args) {
  up_.reset();
  up_ = std::make_unique<up_process>(dir_.path(), data_dir(), ++runs_, args);
  return *up_;
}

std::vector<json> up_fixture::jobs() {
  auto answer = up_->get("/api/v1/replications");
  EXPECT_EQ(answer.status, 200) << answer.text;
  std::vector<json> out;
  if (answer.body.is_object() && answer.body["replications"].is_array())
    for (const auto& j : answer.body["replications"]) out.push_back(j);
  return out;
}

json up_fixture::job(const std::string& id) {
  auto answer = up_->get("/api/v1/replications/" + id);
  return answer.status == 200 ? answer.body : json(nullptr);
}

std::vector<std::string> up_fixture::events(const std::string& id) {
  auto answer = up_->get("/api/v1/replications/" + id + "/log");
  EXPECT_EQ(answer.status, 200) << answer.text;
  std::vector<std::string> out;
  if (answer.body.is_object() && answer.body["entries"].is_array())
    for (const auto& e : answer.body["entries"]) out.push_back(e.value("event", "?"));
  return out;
}

json up_fixture::stored_job(const std::string& id) {
  json out;
  {
    // The server `up` would start on its folder, with its keys.
    auto home = bus::bus_home::open(data_dir(), "mk");
    if (!home) {
      ADD_FAILURE() << home.error().message;
      return out;
    }
    auto trust = home->server_trust();
    if (!trust) {
      ADD_FAILURE() << trust.error().message;
      return out;
    }
    bus::nats_server_options so;
    so.data_dir = data_dir();
    so.trust = std::move(*trust);
    auto server = bus::nats_server::start(so);
    if (!server) {
      ADD_FAILURE() << "nats-server on " << data_dir() << ": " << server.error().message;
      return out;
    }
    auto no = bus::local_client_options(data_dir(), bus::role::oma);
    if (!no) {
      ADD_FAILURE() << no.error().message;
      return out;
    }
    no->name = "test reader";
    auto transport = bus::nats_transport::connect(*no);
    if (!transport) {
      ADD_FAILURE() << transport.error().message;
      return out;
    }
    auto state = bus::state_store::open(**transport);
    if (!state) {
      ADD_FAILURE() << state.error().message;
      return out;
    }
    if (auto entry = (*state)->jobs().get(id))
      out = json::parse(std::string(entry->value.begin(), entry->value.end()), nullptr, false);
  }
  const auto closed = bus::close_nats(5s);
  EXPECT_TRUE(closed) << closed.error().message;
  return out;
}

bool up_fixture::wait_job(const std::string& id, const std::function<bool(const json&)>& holds,
                          const std::string& what, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  json last;
  while (std::chrono::steady_clock::now() < deadline) {
    last = job(id);
    if (last.is_object() && holds(last)) return true;
    std::this_thread::sleep_for(100ms);
  }
  ADD_FAILURE() << "job " << id << " never " << what << "; last seen: " << last.dump()
                << "\nup's log:\n"
                << up_->log();
  return false;
}

}  // namespace mk::test
