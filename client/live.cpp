#include "client/live.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <thread>

#include "client/sse.hpp"
#include "config/defaults.hpp"

namespace mk::client {

using nlohmann::json;
using clock = std::chrono::steady_clock;

namespace {

/// "22:00:01", local time: when a notice was seen.
std::string stamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char text[16];
  return std::string(text, std::strftime(text, sizeof text, "%H:%M:%S", &tm));
}

void write_out(std::string_view text) {
  if (text.empty()) return;
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

class follower {
 public:
  follower(const api_client& api, job_board& board, const follow_options& options)
      : api_(api), board_(board), options_(options), display_(make_display()) {
    if (options.timeout_s)
      deadline_ = clock::now() + std::chrono::duration_cast<clock::duration>(
                                     std::chrono::duration<double>(*options.timeout_s));
  }

  ctl_result<bool> run() {
    std::vector<std::string> notices;
    for (const auto& job : options_.seed) {
      auto more = board_.update(job);
      notices.insert(notices.end(), more.begin(), more.end());
    }
    show(notices);
    for (bool first = true; !board_.ended(); first = false) {
      if (!first)
        std::this_thread::sleep_for(
            std::min<clock::duration>(defaults::ctl::reconnect_wait, left()));
      if (expired()) return timed_out();
      again_ = false;
      if (!first) follow_moved_api();
      auto r = connect();
      if (board_.ended()) break;
      if (error_) return unexpected(*error_);
      if (!r && (r.error().code != ctl_errc::unreachable || !opened_)) return unexpected(r.error());
      if (!r && !lost_) {
        lost_ = true;
        show({"event stream lost (" + r.error().message + "); reconnecting"});
      }
    }
    show({}, true);
    return board_.as_asked();
  }

 private:
  static live_display make_display() {
    const bool terminal = isatty(STDOUT_FILENO) == 1;
    winsize ws{};
    if (terminal) ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
    return live_display(terminal, ws.ws_col ? ws.ws_col : 80, ws.ws_row ? ws.ws_row : 24);
  }

  void follow_moved_api() {
    auto now = reread_endpoint(api_.endpoint());
    if (now.url == api_.endpoint().url) return;
    show({"the API is now at " + now.url + " (" + now.found + ")"});
    api_ = api_client(std::move(now));
  }

  bool expired() const { return deadline_ && clock::now() >= *deadline_; }

  clock::duration left() const {
    return deadline_ ? std::max<clock::duration>(*deadline_ - clock::now(), clock::duration::zero())
                     : clock::duration::max();
  }

  ctl_result<bool> timed_out() {
    show({}, true);
    return fail(ctl_errc::timeout, fmt::format("timed out after {} waiting for the job to end",
                                               format_duration(*options_.timeout_s)));
  }

  bool go_on() const { return !board_.ended() && !expired() && !error_ && !again_; }

  void show(const std::vector<std::string>& notices, bool final = false) {
    if (!options_.json) write_out(display_.frame(notices, board_, clock::now(), stamp(), final));
  }

  void print_json(std::string_view data) {
    if (options_.json) write_out(std::string(data) + "\n");
  }

  ctl_result<void> connect() {
    sse_parser parser;
    auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::min<clock::duration>(defaults::ctl::stream_idle_timeout, left()));
    return api_.stream("/events", last_id_, std::max(idle, std::chrono::milliseconds(1)),
                       {.opened =
                            [&] {
                              opened_ = true;
                              std::vector<std::string> notices;
                              if (lost_)
                                notices.push_back("event stream back; reading the jobs again");
                              lost_ = false;
                              reread(notices);
                              show(notices);
                              return go_on();
                            },
                        .received =
                            [&](std::string_view chunk) {
                              std::vector<std::string> notices;
                              for (const auto& ev : parser.feed(chunk)) take(ev, notices);
                              last_id_ = parser.last_id();
                              show(notices);
                              return go_on();
                            }});
  }

  /// A GET beside the stream failed: a refusal ends the follow, anything else is retried
  /// with the next connection.
  void failed(const ctl_error& e, std::vector<std::string>& notices) {
    if (e.code == ctl_errc::unreachable) {
      again_ = true;
      notices.push_back("reading the jobs again failed (" + e.message + "); retrying");
    } else {
      error_ = e;
    }
  }

  /// The followed jobs as they are now: what the stream may have missed while it was down.
  /// Without ids, the newest page of jobs.
  void reread(std::vector<std::string>& notices) {
    auto add = [&](const std::vector<std::string>& more) {
      notices.insert(notices.end(), more.begin(), more.end());
    };
    if (board_.ids().empty()) {
      auto page = api_.get("/replications");
      if (!page) return failed(page.error(), notices);
      if (const auto& jobs = field(page->json, "replications"); jobs.is_array())
        for (const auto& job : jobs) {
          print_json(job.dump());
          add(board_.update(job));
        }
      return;
    }
    for (const auto& id : board_.ids()) {
      auto job = api_.get("/replications/" + id);
      if (!job && job.error().code == ctl_errc::not_found) {
        add(board_.remove(id, job_log(id)));
      } else if (!job) {
        return failed(job.error(), notices);
      } else {
        print_json(job->body);
        add(board_.update(job->json));
      }
    }
  }

  /// The JobLog of a removed job, which tells the state it ended in; null if it cannot be
  /// read (the removal is said without it: the wait's outcome does not depend on it).
  json job_log(const std::string& id) {
    auto log = api_.get("/replications/" + id + "/log");
    return log ? log->json : json();
  }

  void take(const sse_event& ev, std::vector<std::string>& notices) {
    auto data = json::parse(ev.data, nullptr, false);
    if (!data.is_object()) return;
    auto id = field_text(data, "id");
    if (!board_.follows(id)) return;
    std::vector<std::string> more;
    if (ev.type == "job") {
      print_json(ev.data);
      more = board_.update(data);
    } else if (ev.type == "removed") {
      more = board_.remove(id, job_log(id));
    }
    notices.insert(notices.end(), more.begin(), more.end());
  }

  api_client api_;  ///< its URL read again from the data folder before each reconnection
  job_board& board_;
  const follow_options& options_;
  live_display display_;
  std::optional<clock::time_point> deadline_;
  std::optional<ctl_error> error_;  ///< a GET refused while the stream ran
  std::string last_id_;
  bool opened_ = false;  ///< a stream was open once: later failures are reconnected
  bool lost_ = false;
  bool again_ = false;  ///< end this connection and open another
};

}  // namespace

ctl_result<bool> follow_live(const api_client& api, job_board& board,
                             const follow_options& options) {
  return follower(api, board, options).run();
}

}  // namespace mk::client
