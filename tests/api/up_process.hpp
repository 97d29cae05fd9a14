#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace mk::test {

/// An answer of the REST API: the status and the body, parsed (null if it was not JSON).
struct http_answer {
  int status = 0;  ///< 0: no answer (connection refused, timeout)
  nlohmann::json body;
  std::string text;
};

/// One run of `migratekit up --data DATA --listen 127.0.0.1:0 ARGS...` as a child process,
/// as a user runs it: its stdout goes to DIR/up-N.out and its stderr to DIR/up-N.log.
class up_process {
 public:
  /// Starts it and waits until it is ready: it has printed the web UI's URL with the token
  /// (once the demo job and the resumes are done) and /healthz answers 200. A stale
  /// DATA/api-url of an earlier run is removed first. Throws std::runtime_error, with the
  /// log, if it exits or is not ready in 60 s.
  up_process(const std::filesystem::path& dir, const std::filesystem::path& data_dir, int run,
             const std::vector<std::string>& args);
  /// SIGKILL if it still runs (what it started is left to up_fixture's tear-down).
  ~up_process() = default;

  /// http://127.0.0.1:PORT, as DATA/api-url says.
  const std::string& url() const { return url_; }
  const std::string& token() const { return token_; }
  /// The URL with the token that `up` printed.
  const std::string& printed_url() const { return printed_url_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  pid_t pid() const { return proc_.pid(); }

  /// SIGINT to its process group, as a Ctrl-C on its terminal sends it (it runs in a group of
  /// its own); its exit status, or nothing if it still runs after `timeout`.
  std::optional<exit_status> interrupt(std::chrono::milliseconds timeout);
  /// SIGKILL, and reaped.
  void kill9();

  /// What it printed on stdout, and its log.
  std::string output() const;
  std::string log() const;

  /// A request with the bearer token; `body` is sent as JSON unless null.
  http_answer request(const std::string& method, const std::string& path,
                      const nlohmann::json& body = nullptr) const;
  http_answer get(const std::string& path) const { return request("GET", path); }
  http_answer post(const std::string& path,
                   const nlohmann::json& body = nlohmann::json::object()) const {
    return request("POST", path, body);
  }

 private:
  std::filesystem::path out_;
  std::filesystem::path err_;
  std::filesystem::path data_dir_;
  std::string url_;
  std::string token_;
  std::string printed_url_;
  process proc_;
};

/// A test with `migratekit up` on a data folder of its own, run as often as the test likes
/// (one at a time). Tear-down, passed or not: `up` is killed, then whatever still runs under
/// the test's folder (movers, nbdkit, nats-server), as they may outlive `up` by design.
class up_fixture : public ::testing::Test {
 protected:
  void TearDown() override;

  /// A new run of `up` on data_dir(); the previous one must have ended.
  up_process& start_up(const std::vector<std::string>& args = {});
  up_process& up() { return *up_; }

  std::filesystem::path data_dir() const { return dir_ / "data"; }

  /// The job objects GET /replications lists (waits for none).
  std::vector<nlohmann::json> jobs();
  /// GET /replications/{id}, or null.
  nlohmann::json job(const std::string& id);
  /// The JobLog's events, in order.
  std::vector<std::string> events(const std::string& id);
  /// The job's record in the store while `up` is not running: its nats-server is started
  /// again on the data folder for the read (the API went with `up`). Null if there is none.
  nlohmann::json stored_job(const std::string& id);
  /// Waits until `holds` is true of the job (fails the test with the job and up's log if not).
  bool wait_job(const std::string& id, const std::function<bool(const nlohmann::json&)>& holds,
                const std::string& what,
                std::chrono::milliseconds timeout = std::chrono::seconds(60));

  temp_dir dir_;
  std::unique_ptr<up_process> up_;
  int runs_ = 0;
};

}  // namespace mk::test
