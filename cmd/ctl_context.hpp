#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "client/api_client.hpp"
#include "client/watch.hpp"

/// What the subcommands of `migratekit ctl` share: the global options, how a subcommand runs
/// and prints, the checks of ids, and the waits.
namespace mk::cmd {

// The client's terms that these declarations use; the subcommands' sources take the rest of
// the client (its views and renderings) with a using-directive of their own.
using client::api_client;
using client::api_query;
using client::api_reply;
using client::ctl_error;
using client::ctl_exit;
using client::ctl_result;
using client::wait_goal;

/// `ctl`'s own options, which every subcommand reads.
struct ctl_context {
  std::string api;    ///< --api, MIGRATEKIT_API
  std::string token;  ///< --token, MIGRATEKIT_TOKEN
  std::string data;   ///< --data, MIGRATEKIT_DATA
  bool json = false;  ///< print the API's JSON unchanged
  int* exit_code = nullptr;
};

using ctl_body = std::function<ctl_result<ctl_exit>(const api_client&)>;

/// Finds the API, runs `body` with a client for it, prints a failure on stderr
/// ("migratekit ctl: HTTP 409 conflict: ...") and sets the exit status.
void run_ctl(const ctl_context& ctx, const ctl_body& body);

/// A failure of the subcommand itself, before or after the API had a say.
ctl_exit report(const ctl_error& error);

using human_view = std::function<std::string(const nlohmann::json&)>;

/// Prints an answer: its body unchanged with --json, else what `human` makes of its JSON.
void print_reply(const ctl_context& ctx, const api_reply& reply, const human_view& human);

/// A request's answer printed, exit_done; or its failure passed on.
ctl_result<ctl_exit> print_answer(const ctl_context& ctx, const ctl_result<api_reply>& answer,
                                  const human_view& human);

/// The job states of docs/states.md, for --state options.
const std::vector<std::string>& job_states();

/// Checks that an argument is an id (`^[a-z0-9][a-z0-9-]{0,62}$`) before it becomes part of
/// a path.
const CLI::Validator& id_check();

/// Every job that GET /replications lists for `query`, page after page (next_cursor).
ctl_result<nlohmann::json> list_all(const api_client& api, api_query query);

/// --wait and --timeout of the subcommands that can wait for the end of what they asked.
struct wait_args {
  bool wait = false;
  double timeout_s = 0;  ///< 0: no bound
};
void add_wait_options(CLI::App* cmd, wait_args& args, const std::string& until);

/// The answer to a request about one job (stop, resume, delete): the job's line; with --wait,
/// the job followed live until `goal` (wait_for), and the line only with --json.
ctl_result<ctl_exit> answer_or_wait(const ctl_context& ctx, const api_client& api,
                                    const ctl_result<api_reply>& answer, const std::string& id,
                                    wait_goal goal, const wait_args& args);

/// Follows `ids` live after the API accepted a request, `seed` being the jobs it answered
/// with; exit_done if every job ended as `goal` asks, exit_not_as_asked (and which did not)
/// otherwise.
ctl_result<ctl_exit> wait_for(const ctl_context& ctx, const api_client& api,
                              std::vector<std::string> ids, wait_goal goal,
                              const std::vector<nlohmann::json>& seed, const wait_args& args);

/// The help footer's exit statuses: `done` says what 0 means, `not_as_asked` what 3 means
/// (empty: the subcommand never ends with 3).
std::string exit_footer(const std::string& done, const std::string& not_as_asked = "");

}  // namespace mk::cmd
