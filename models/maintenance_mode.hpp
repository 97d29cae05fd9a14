#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/expected.hpp"
#include "messages/catalogue.hpp"

namespace mk::actors {

/// Which jobs a maintenance covers: every job, or those of one agent. "all" or "vma:ID" in
/// words (the bus message, the stored mode, the API).
struct maintenance_scope {
  std::string vma;  ///< empty: every agent's jobs

  bool covers(const std::string& job_vma) const { return vma.empty() || vma == job_vma; }
  std::string name() const { return vma.empty() ? "all" : "vma:" + vma; }
  /// "all" or "vma:ID" with a valid id; nullopt for anything else.
  static std::optional<maintenance_scope> parse(std::string_view text);
  friend bool operator==(const maintenance_scope&, const maintenance_scope&) = default;
};

/// Maintenance mode as it is stored (the settings bucket, key "maintenance") and shown
/// (GET /maintenance): what was asked, and which jobs this maintenance stopped, so that turning
/// it off with resume_after resumes exactly those, also after an OMA restart.
struct maintenance_mode {
  bool enabled = false;
  std::string id;  ///< "m-" and 8 hex digits, new each time it is turned on
  std::string reason;
  maintenance_scope scope;
  std::uint32_t max_parallel = 0;
  bool resume_after = false;  ///< as the request that turned it off said
  std::int64_t since_ms = 0;  ///< when it was turned on
  std::string requested_by;
  std::map<std::string, std::string> stopping;  ///< job -> the stop id this maintenance asked
  std::vector<std::string> stopped;             ///< jobs whose stop settled as `stopped`
  std::vector<std::string> to_resume;           ///< turned off with resume_after: still to go
  std::vector<std::string> resumed;

  bool covers(const std::string& vma) const { return scope.covers(vma); }
};

nlohmann::json to_json(const maintenance_mode& m);
expected<maintenance_mode, std::string> maintenance_from_json(const std::string& text);

/// The request's fields checked (scope, reason, max_parallel); the first at fault is named.
expected<void, std::string> check_switch(const msg::maintenance& m);

}  // namespace mk::actors
