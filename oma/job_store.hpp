#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "bus/error.hpp"

namespace mk::bus {
class state_store;
}

namespace mk::actors {

/// A job's stored record (the JSON of job_record) and the revision to update it from.
struct stored_job {
  std::string json;
  std::uint64_t revision = 0;
};

/// Where job actors keep their records and the JobLog (docs/recovery.md). Writes are checked
/// against revisions: a lost race is bus::errc::conflict, never a silent overwrite. Every call
/// is durable when it returns. Thread-safe.
class job_store {
 public:
  virtual ~job_store() = default;
  virtual bus::result<stored_job> load(std::string_view id) = 0;
  virtual bus::result<std::uint64_t> create(std::string_view id, std::string_view json) = 0;
  virtual bus::result<std::uint64_t> update(std::string_view id, std::string_view json,
                                            std::uint64_t revision) = 0;
  virtual bus::result<> erase(std::string_view id) = 0;
  virtual bus::result<std::vector<std::string>> ids() = 0;
  /// Appends one JobLog entry (a JSON object); kept after the job's record is erased.
  virtual bus::result<> append_log(std::string_view id, std::string_view entry) = 0;
  virtual bus::result<std::vector<std::string>> read_log(std::string_view id) = 0;
  /// Every job's JobLog entries (deleted jobs' too), in the order they were appended, each
  /// handed to `each`; bounded by the store's read timeout. With `since_unix_ms` > 0 it may
  /// skip entries appended before then, and may hand some of them over: filter by `ts`. A
  /// failure may come after part of the log was handed over.
  virtual bus::result<> read_all_logs(std::int64_t since_unix_ms,
                                      const std::function<void(std::string_view)>& each) = 0;
};

/// The store of a running OMA: JetStream's `<prefix>_jobs` bucket and JobLog stream.
std::shared_ptr<job_store> jetstream_job_store(std::shared_ptr<bus::state_store> state);

/// A store in memory, with the same revision rules: for deterministic tests of the actors,
/// which run without a server.
class memory_job_store final : public job_store {
 public:
  bus::result<stored_job> load(std::string_view id) override;
  bus::result<std::uint64_t> create(std::string_view id, std::string_view json) override;
  bus::result<std::uint64_t> update(std::string_view id, std::string_view json,
                                    std::uint64_t revision) override;
  bus::result<> erase(std::string_view id) override;
  bus::result<std::vector<std::string>> ids() override;
  bus::result<> append_log(std::string_view id, std::string_view entry) override;
  bus::result<std::vector<std::string>> read_log(std::string_view id) override;
  /// Hands over every entry: `since_unix_ms` skips nothing here.
  bus::result<> read_all_logs(std::int64_t since_unix_ms,
                              const std::function<void(std::string_view)>& each) override;

 private:
  std::mutex mutex_;
  std::uint64_t sequence_ = 0;
  std::map<std::string, stored_job, std::less<>> records_;
  std::map<std::string, std::vector<std::string>, std::less<>> logs_;
  std::vector<std::string> appended_;  ///< every job's entries, in the order appended
};

}  // namespace mk::actors
