#pragma once

#include <optional>
#include <vector>

#include "client/api_client.hpp"
#include "client/watch.hpp"

/// The live side of `migratekit ctl`: the board of ctl_watch.hpp fed from GET /events.
namespace mk::client {

struct follow_options {
  /// Seconds the wait may take; none: until the board ends (or forever, without a goal).
  std::optional<double> timeout_s;
  /// Print each followed job's object as a JSON line as it changes, instead of the display.
  bool json = false;
  /// Job objects already known (the API's answer to the request waited on).
  std::vector<nlohmann::json> seed;
};

/// Follows the board's jobs on the event stream until the board ends: on a terminal one line
/// per job rewritten in place, elsewhere plain lines (ctl_watch.hpp). After every
/// (re)connection the followed jobs are read again with GET, so that nothing said while the
/// stream was down is missed; a stream that drops is opened again, with Last-Event-ID, at the
/// URL the data folder gives by then if the API was found there (reread_endpoint).
/// Returns whether every job ended as asked; `unreachable` if the first connection fails,
/// `timeout` past `timeout_s`, `refused` if the API refuses the stream or a GET.
ctl_result<bool> follow_live(const api_client& api, job_board& board,
                             const follow_options& options);

}  // namespace mk::client
