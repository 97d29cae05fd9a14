#include "cmd/ctl_context.hpp"

#include <cstdio>

#include "client/live.hpp"
#include "client/render.hpp"
#include "messages/subjects.hpp"

namespace mk::cmd {

using namespace mk::client;  // ctl is written in the client's terms

ctl_exit report(const ctl_error& error) {
  std::fprintf(stderr, "migratekit ctl: %s\n", error.message.c_str());
  return exit_status(error.code);
}

void run_ctl(const ctl_context& ctx, const ctl_body& body) {
  auto endpoint = find_endpoint({.api = ctx.api, .token = ctx.token, .data = ctx.data});
  if (!endpoint) {
    *ctx.exit_code = report(endpoint.error());
    return;
  }
  auto status = body(api_client(std::move(*endpoint)));
  *ctx.exit_code = status ? *status : report(status.error());
}

void print_reply(const ctl_context& ctx, const api_reply& reply, const human_view& human) {
  auto text = ctx.json ? reply.body : human(reply.json);
  if (!text.empty() && text.back() != '\n') text += '\n';
  std::fputs(text.c_str(), stdout);
}

ctl_result<ctl_exit> print_answer(const ctl_context& ctx, const ctl_result<api_reply>& answer,
                                  const human_view& human) {
  if (!answer) return unexpected(answer.error());
  print_reply(ctx, *answer, human);
  return exit_done;
}

const std::vector<std::string>& job_states() {
  static const std::vector<std::string> states = {"queued",   "starting", "replicating",
                                                  "stopping", "stopped",  "cancelled",
                                                  "failed",   "completed"};
  return states;
}

const CLI::Validator& id_check() {
  static const CLI::Validator check(
      [](std::string& id) {
        return msg::valid_id(id) ? std::string()
                                 : "'" + id + "' is not an id (lower-case letters, digits, '-')";
      },
      "ID");
  return check;
}

ctl_result<nlohmann::json> list_all(const api_client& api, api_query query) {
  auto jobs = nlohmann::json::array();
  for (std::string cursor;;) {
    auto r = api.get("/replications", query);
    if (!r) return unexpected(r.error());
    const auto& page = field(r->json, "replications");
    if (page.is_array()) jobs.insert(jobs.end(), page.begin(), page.end());
    const auto& next = field(r->json, "next_cursor");
    // A cursor seen before would loop for ever: a server that repeats itself ends here.
    if (!next.is_string() || next.get<std::string>().empty() || next == cursor) return jobs;
    cursor = next.get<std::string>();
    query.erase("cursor");
    query.emplace("cursor", cursor);
  }
}

void add_wait_options(CLI::App* cmd, wait_args& args, const std::string& until) {
  auto* wait = cmd->add_flag("--wait", args.wait,
                             "Show the job live until " + until + " (exit status below)");
  cmd->add_option("--timeout", args.timeout_s, "Seconds --wait may take (default: no bound)")
      ->check(CLI::PositiveNumber)
      ->needs(wait);
}

ctl_result<ctl_exit> answer_or_wait(const ctl_context& ctx, const api_client& api,
                                    const ctl_result<api_reply>& answer, const std::string& id,
                                    wait_goal goal, const wait_args& args) {
  if (!answer) return unexpected(answer.error());
  if (!args.wait || ctx.json)
    print_reply(ctx, *answer,
                [](const nlohmann::json& job) { return render_table({}, {job_row(job)}); });
  if (!args.wait) return exit_done;
  return wait_for(ctx, api, {id}, std::move(goal), {answer->json}, args);
}

ctl_result<ctl_exit> wait_for(const ctl_context& ctx, const api_client& api,
                              std::vector<std::string> ids, wait_goal goal,
                              const std::vector<nlohmann::json>& seed, const wait_args& args) {
  job_board board(std::move(ids), std::move(goal));
  follow_options options{.timeout_s = std::nullopt, .json = ctx.json, .seed = seed};
  if (args.timeout_s > 0) options.timeout_s = args.timeout_s;
  auto as_asked = follow_live(api, board, options);
  if (!as_asked) return unexpected(as_asked.error());
  if (*as_asked) return exit_done;
  std::string which;
  for (const auto& miss : board.misses()) which += (which.empty() ? "" : ", ") + miss;
  std::fprintf(stderr, "migratekit ctl: ended, but not as asked: %s\n", which.c_str());
  return exit_not_as_asked;
}

std::string exit_footer(const std::string& done, const std::string& not_as_asked) {
  std::string text = "Exit status: 0 " + done +
                     "; 1 the API refused (its error code and message are printed); "
                     "2 bad usage, or no API found";
  if (!not_as_asked.empty()) text += "; 3 " + not_as_asked;
  text += "; 4 the API could not be reached";
  if (!not_as_asked.empty()) text += ", or --timeout passed";
  return text + ".";
}

}  // namespace mk::cmd
