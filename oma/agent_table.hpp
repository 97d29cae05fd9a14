#pragma once

#include <caf/actor_clock.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "messages/catalogue.hpp"

namespace mk::actors {

/// One agent as GET /api/v1/agents shows it.
struct agent_status {
  std::string id;
  bool online = false;
  std::int64_t last_hello_ms = 0;  ///< 0: never heard from
  std::string host;                ///< empty: not known
  std::string version;             ///< empty: not known
  std::size_t movers = 0;          ///< running, as its last report lists them
};

/// What the OMA knows of the agents (docs/overview.md, GET /api/v1/agents): each one's latest
/// report (its hello, or its answer to the poller's status request) and the agents this OMA
/// was told to expect. Plain data, kept by the registry; time is the caller's (the actor
/// clock, CAF's virtual time in tests) and the wall clock's for what is shown.
class agent_table {
 public:
  using time_point = caf::actor_clock::time_point;

  /// An agent reported at `now` (`wall_ms` by the wall clock). A report with an invalid id is
  /// ignored; a host or version that is too long or not printable is left out. True when the
  /// agent was not in the table before.
  bool heard(const msg::agent_report& r, time_point now, std::int64_t wall_ms);

  /// An agent that should be there (`migratekit up`'s own): listed, offline until it reports.
  /// True when it was not in the table before.
  bool expect(const std::string& id);

  /// The ids in the table.
  std::set<std::string> ids() const;

  /// Every agent by id: the table's and those of `named` (the agents that jobs name) that
  /// never reported. Online: a report at most `online_for` before `now`.
  std::vector<agent_status> list(const std::set<std::string>& named, time_point now,
                                 std::chrono::milliseconds online_for) const;

 private:
  struct agent {
    std::optional<time_point> heard;
    std::int64_t heard_ms = 0;
    std::string host;
    std::string version;
    std::size_t movers = 0;
  };
  std::map<std::string, agent> agents_;
};

}  // namespace mk::actors
