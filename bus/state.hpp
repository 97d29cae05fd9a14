#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bus/error.hpp"
#include "config/defaults.hpp"

namespace mk::bus {

class nats_transport;

namespace detail {
struct jetstream;
}

using bytes = std::vector<std::uint8_t>;

/// A value and the revision to update it from.
struct kv_entry {
  bytes value;
  std::uint64_t revision = 0;
};

/// A JetStream KeyValue bucket. Keys are ids (`^[a-z0-9][a-z0-9-]{0,62}$`); anything else is
/// errc::invalid before it reaches a subject. Writes are checked against revisions where it
/// matters, so a lost race is errc::conflict, never a silent overwrite.
class kv_bucket {
 public:
  struct impl;  ///< NATS.c's handle, private to bus/ (made by state_store::open)
  explicit kv_bucket(std::unique_ptr<impl> p);
  ~kv_bucket();
  kv_bucket(const kv_bucket&) = delete;
  kv_bucket& operator=(const kv_bucket&) = delete;

  const std::string& name() const;

  /// The latest value; a key never written, or erased, is errc::not_found.
  result<kv_entry> get(std::string_view key);
  /// Writes a key that does not exist (or was erased); an existing one is errc::conflict.
  result<std::uint64_t> create(std::string_view key, std::span<const std::uint8_t> value);
  /// Writes only if the key's latest revision is still `revision`, else errc::conflict.
  result<std::uint64_t> update(std::string_view key, std::span<const std::uint8_t> value,
                               std::uint64_t revision);
  /// Writes whatever is there: for values that have one writer.
  result<std::uint64_t> put(std::string_view key, std::span<const std::uint8_t> value);
  /// Erases a key (a delete marker); erasing a missing key is no error.
  result<> erase(std::string_view key);
  /// Keys with a value, in no particular order.
  result<std::vector<std::string>> keys();
  /// Where the bucket's copies are now: for health reports and tests.
  struct placement_info {
    std::string leader;  ///< the node that leads them (empty on a lone node)
    int replicas = 1;    ///< copies it is configured with
    int current = 0;     ///< copies besides the leader's that are up to date and online
  };
  result<placement_info> placement();

 private:
  std::unique_ptr<impl> impl_;
};

/// The JobLog: an audit trail per job on the stream `<PREFIX>_JOBLOG`, one subject per job
/// (`<prefix>.log.<job>`), kept forever on disk, also after the job's record is erased.
class job_log {
 public:
  struct impl;  ///< NATS.c's handle, private to bus/ (made by state_store::open)
  explicit job_log(std::unique_ptr<impl> p);
  ~job_log();
  job_log(const job_log&) = delete;
  job_log& operator=(const job_log&) = delete;

  /// The stream's name: `<PREFIX>_JOBLOG`.
  const std::string& stream_name() const;

  /// Appends one entry, stored on disk once this returns; its stream sequence.
  result<std::uint64_t> append(std::string_view job, std::span<const std::uint8_t> entry);
  /// The job's entries in the order they were appended; none is an empty vector. Past the
  /// read timeout it fails with errc::timeout rather than return part of the log.
  result<std::vector<bytes>> read(std::string_view job);
  /// Every job's entries in the order they were appended, each handed to `each`, up to the
  /// last one stored when the read began. With `since_unix_ms` > 0 it starts at entries stored
  /// from then on (by the server's clock, less defaults::bus::log_clock_margin), so earlier
  /// ones may come too: the caller filters by the entries' own times. Past the read timeout it
  /// fails with errc::timeout; on any failure `each` may have seen part of the log, which the
  /// caller must not take for the whole.
  result<> read_all(std::int64_t since_unix_ms,
                    const std::function<void(std::span<const std::uint8_t>)>& each);

 private:
  std::unique_ptr<impl> impl_;
};

struct state_options {
  std::string prefix{defaults::bus::prefix};
  /// Copies kept of each bucket and of the JobLog: 3 on a bus of three nodes or more. Set
  /// when they are created; a bucket made with fewer is given more at the next open.
  int replicas = defaults::bus::replicas;
  /// Writes that meet a leader election (no answer, or a 503) are tried again this long.
  std::chrono::milliseconds election_wait = defaults::bus::election_wait;
  std::chrono::milliseconds timeout = defaults::bus::jetstream_timeout;
  std::chrono::milliseconds log_read_timeout = defaults::bus::log_read_timeout;
};

/// The durable state of the OMA in JetStream (docs/recovery.md): buckets `<prefix>_jobs`,
/// `<prefix>_schedules`, `<prefix>_settings` and `<prefix>_agents`, and the JobLog stream. Opening
/// creates what is missing and binds to what exists, so every start may do it. Needs the oma role's
/// credentials; destroy it before its transport.
class state_store {
 public:
  static result<std::unique_ptr<state_store>> open(nats_transport& t,
                                                   const state_options& opts = {});
  ~state_store();
  state_store(const state_store&) = delete;
  state_store& operator=(const state_store&) = delete;

  kv_bucket& jobs() { return *jobs_; }
  kv_bucket& schedules() { return *schedules_; }
  kv_bucket& settings() { return *settings_; }
  kv_bucket& agents() { return *agents_; }
  job_log& log() { return *log_; }

 private:
  state_store() = default;

  std::shared_ptr<detail::jetstream> js_;
  std::unique_ptr<kv_bucket> jobs_;
  std::unique_ptr<kv_bucket> schedules_;
  std::unique_ptr<kv_bucket> settings_;
  std::unique_ptr<kv_bucket> agents_;
  std::unique_ptr<job_log> log_;
};

}  // namespace mk::bus
