#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/render.hpp"

/// The live display of `ctl watch` and of the waits (`stop --wait`, `resume --wait`,
/// `delete --wait`): which jobs it follows, what it says as they change, and when a wait is
/// over. Pure: it is fed job objects (from the event stream or a GET) and returns text; the
/// caller owns the clock, the network and the terminal.
namespace mk::client {

/// How a wait ends: the states that end it as asked, and the other states that end it.
struct wait_goal {
  std::vector<std::string> as_asked;
  std::vector<std::string> other_ends;
  bool removed_as_asked = false;  ///< the record's removal (after a delete) ends it as asked
};

/// `stop --wait`: stopped (volumes kept) or cancelled (deleted) as asked; failed, completed
/// (the copy finished first) and the other of the two end it too.
wait_goal stop_goal(bool delete_volumes);
/// `resume --wait`: completed as asked; stopped, failed and cancelled end it too.
wait_goal resume_goal();
/// `delete --wait`: cancelled or removed as asked; failed and completed end it too.
wait_goal delete_goal();

/// The jobs followed: the given ids (every job when none), each with its latest object.
class job_board {
 public:
  job_board(std::vector<std::string> ids, std::optional<wait_goal> goal);

  bool follows(std::string_view id) const;
  /// The ids given, in order (empty: every job).
  const std::vector<std::string>& ids() const { return ids_; }

  /// Takes a job object. An object older than the one held (by `updated_at`) is ignored: a
  /// GET after a reconnect may be newer than events still on their way. Returns the notices
  /// worth keeping on screen: first sight, state changes, each participant's confirmation of
  /// a stop, a stall, the error of a failure.
  std::vector<std::string> update(const nlohmann::json& job);
  /// The record is gone (an `event: removed`, or 404 on a GET). `log` is its JobLog as
  /// GET /replications/{id}/log answers it, if it could be read: the record may go before
  /// the state it settled in was seen (the removal follows the settlement at once), and the
  /// last entry tells that state.
  std::vector<std::string> remove(const std::string& id,
                                  const nlohmann::json& log = nlohmann::json());

  /// With a goal: every followed job has reached one of its end states. Without: never.
  bool ended() const;
  /// Every followed job ended as asked (meaningful once ended()).
  bool as_asked() const;
  /// "r-1 completed" for each followed job that ended, but not as asked.
  std::vector<std::string> misses() const;

  /// One row per job (ctl_render's job_row), in order of first sight; `moving_only` leaves
  /// out those that are not queued, starting, replicating or stopping.
  std::vector<table_row> rows(bool moving_only) const;

 private:
  struct entry {
    nlohmann::json job;  ///< null until first seen
    bool removed = false;
  };
  /// as asked, not as asked, or not ended yet.
  std::optional<bool> outcome(const entry& e) const;

  std::vector<std::string> ids_;
  std::optional<wait_goal> goal_;
  std::vector<std::string> order_;  ///< first sight order
  std::map<std::string, entry, std::less<>> jobs_;
};

/// Turns the board into output: on a terminal, a block of one line per job rewritten in place
/// (at most every defaults::ctl::redraw_interval) under the notices, which scroll up and
/// stay; elsewhere, the notices and each moving job's row as plain lines (at most every
/// defaults::ctl::plain_progress_interval per job).
class live_display {
 public:
  using clock = std::chrono::steady_clock;

  /// `columns` and `lines`: the terminal's size (ignored when not a terminal).
  live_display(bool terminal, std::size_t columns, std::size_t lines);

  /// What to write now. `stamp` ("22:00:01") starts each notice; `final` draws the last
  /// frame whatever the interval.
  std::string frame(const std::vector<std::string>& notices, const job_board& board,
                    clock::time_point now, std::string_view stamp, bool final = false);

 private:
  std::string block(const job_board& board) const;

  bool terminal_;
  std::size_t columns_;
  std::size_t lines_;
  std::size_t drawn_ = 0;  ///< lines of the block on screen, to move back over
  clock::time_point next_draw_{};
  std::map<std::string, clock::time_point> next_line_;  ///< plain mode, per job
};

}  // namespace mk::client
