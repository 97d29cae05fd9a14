#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/expected.hpp"
#include "messages/catalogue.hpp"

namespace mk::actors {

/// Maintenance mode as it is stored (the settings bucket, key "maintenance") and shown
/// (GET /maintenance): what was asked, and which jobs this maintenance stopped, so that turning
/// it off with resume_after resumes exactly those, also after an OMA restart.
struct maintenance_mode {
  bool enabled = false;
  std::string id;  ///< "m-" and 8 hex digits, new each time it is turned on
  std::string reason;
  std::string scope = "all";  ///< "all" or "vma:ID"
  std::uint32_t max_parallel = 0;
  bool resume_after = false;  ///< as the request that turned it off said
  std::int64_t since_ms = 0;  ///< when it was turned on
  std::string requested_by;
  std::map<std::string, std::string> stopping;  ///< job -> the stop id this maintenance asked
  std::vector<std::string> stopped;             ///< jobs whose stop settled as `stopped`
  std::vector<std::string> to_resume;           ///< turned off with resume_after: still to go
  std::vector<std::string> resumed;

  bool covers(const std::string& vma) const { return scope == "all" || scope == "vma:" + vma; }
};

nlohmann::json to_json(const maintenance_mode& m);
expected<maintenance_mode, std::string> maintenance_from_json(const std::string& text);

/// The request's fields checked (scope, reason, max_parallel); the first at fault is named.
expected<void, std::string> check_switch(const msg::maintenance& m);

}  // namespace mk::actors
