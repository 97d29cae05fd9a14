#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "support/nbdkit.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace mk::test {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr std::uint64_t operator""_KiB(unsigned long long n) { return n << 10; }
constexpr std::uint64_t operator""_MiB(unsigned long long n) { return n << 20; }

/// Whether `text` contains `piece`; on failure the message shows the whole text.
::testing::AssertionResult mentions(const std::string& text, std::string_view piece);

/// One `migratekit copy` run: the child and the files its output goes to.
struct copy_run {
  process proc;
  std::filesystem::path out;
  std::filesystem::path err;

  std::string stderr_text() const;
  /// The last complete progress line that parses, while the run goes on or after.
  std::optional<json> last_progress() const;
};

/// Runs `migratekit copy` against real nbdkit servers in a per-test directory. Servers and
/// runs that a test holds are stopped and reaped when it ends, passed or failed; on failure
/// the stderr of every server and run, and every checkpoint, are printed.
class copy_fixture : public ::testing::Test {
 protected:
  void TearDown() override;

  std::filesystem::path path(std::string_view name) const { return dir_ / name; }

  nbdkit_server server(const std::string& name, const std::vector<std::string>& filters,
                       const std::vector<std::string>& plugin_args,
                       nbdkit_server::listen on = nbdkit_server::listen::unix_socket) const {
    return nbdkit_server::start(dir_.path(), name, filters, plugin_args, on);
  }

  /// `migratekit copy ARGS...`; stdout goes to `stdout_fd` if given, else to a file.
  copy_run start_copy(const std::vector<std::string>& args, int stdout_fd = -1);
  /// Waits for the run to end; past `timeout` it fails the test and kills the run.
  exit_status finish(copy_run& run, std::chrono::seconds timeout = 60s);
  exit_status run_copy(const std::vector<std::string>& args, std::chrono::seconds timeout = 60s) {
    auto run = start_copy(args);
    return finish(run, timeout);
  }
  /// Waits until the run reports at least `bytes` done. Returns false (and fails the test) if
  /// it ended first or `timeout` passed.
  bool wait_for_progress(copy_run& run, std::uint64_t bytes, std::chrono::seconds timeout = 30s);
  /// Waits until `file` exists while the run goes on.
  bool wait_for_file(copy_run& run, const std::filesystem::path& file,
                     std::chrono::seconds timeout = 30s);

  // -- copies caught midway: stopped, killed or failed, then resumed ---------------------

  /// The disk those tests copy, and the requests in flight that bound what a resume may copy
  /// again.
  static constexpr std::uint64_t disk_size = 64_MiB;
  static constexpr std::uint64_t requests = 4;
  static constexpr std::uint64_t request_size = 256_KiB;

  /// `nbdkit pattern` as "src", slowed to about 5 MB/s (after the rate filter's two-second
  /// burst) so that a copy can be caught midway. More filters and parameters go along.
  nbdkit_server slow_source(std::vector<std::string> filters = {},
                            const std::vector<std::string>& params = {}) const;
  /// The same disk at full speed, served again at the same socket for the resume.
  nbdkit_server fast_source() const {
    return server("src", {}, {"pattern", std::to_string(disk_size)});
  }
  /// SOURCE TARGET with a checkpoint in cp.json, JSON progress and the small requests above.
  std::vector<std::string> checkpointed(const std::string& src, const std::string& dst) const;

  temp_dir dir_;

 private:
  int runs_ = 0;
};

/// Checks every progress line of a run against the contract (one JSON object per line, the
/// documented fields, a constant total, bytes done going back only on failure, at most two
/// lines a second) and that the last one says `final_state`. Returns the last line.
json expect_progress(const copy_run& run, std::string_view final_state, std::uint64_t bytes_total);

/// Parses a JSON file. Throws on a missing file or bad JSON.
json read_json(const std::filesystem::path& path);

/// Checks a checkpoint against the contract: its fields and types, its sizes, a high-water mark
/// plus sorted disjoint ranges above it, an error when it failed and none when it completed.
void expect_valid_checkpoint(const json& cp, std::string_view state, std::uint64_t source_size);

/// Checks that the target holds the source's data wherever the checkpoint says the copy is
/// durable: below its high-water mark and in its ranges done.
void expect_durable(const json& cp, const std::string& src_uri, const std::string& dst_uri);

/// The writes a server received, from its log filter file.
struct write_log {
  std::uint64_t bytes = 0;    ///< the counts of every Write, summed
  std::set<int> connections;  ///< the connections that carried them
};
write_log writes_in(const std::filesystem::path& log);

}  // namespace mk::test
