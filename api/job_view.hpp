#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/expected.hpp"

namespace mk::api {

/// One page of GET /replications: newest first.
struct list_query {
  std::string state;  ///< empty: any
  std::string vma;    ///< empty: any
  std::size_t limit = 100;
  std::string cursor;  ///< from the previous page's next_cursor; empty: the first page
};

struct list_page {
  std::vector<nlohmann::json> jobs;
  std::string next_cursor;  ///< empty: this was the last page
};

/// The API's read model: the latest object of every job, as the job actors wrote it. Reads
/// never ask an actor, so that listing 10,000 jobs costs what a map walk costs. Thread-safe.
class job_view {
 public:
  /// The job's stored object (with its "internal" part); replaces what was there.
  void put(const nlohmann::json& job);
  void remove(const std::string& id);

  /// The stored object (with "internal"), if the job exists.
  std::optional<nlohmann::json> raw(const std::string& id) const;
  /// The job as the API shows it (docs/api.md), if it exists.
  std::optional<nlohmann::json> get(const std::string& id) const;
  /// A page; the error names the query parameter at fault.
  expected<list_page, std::string> list(const list_query& q) const;
  /// Ids of the jobs in `state` (empty: any) on `vma` (empty: any), newest first.
  std::vector<std::string> ids(const std::string& state, const std::string& vma) const;
  std::map<std::string, std::size_t> count_by_state() const;

 private:
  /// created_at + "/" + id: sorts by creation time (RFC 3339 text sorts as time does).
  static std::string order_key(const nlohmann::json& job);

  mutable std::mutex mutex_;
  std::map<std::string, nlohmann::json> jobs_;   // by id
  std::set<std::string, std::greater<>> order_;  // order keys, newest first
};

/// A string field of a job object; "" when it is absent or not a string.
std::string text_of(const nlohmann::json& j, const char* key);

/// docs/api.md's job object from a stored one: the control plane's own part left out, and
/// the volume described with its state.
nlohmann::json public_job(const nlohmann::json& stored);

}  // namespace mk::api
