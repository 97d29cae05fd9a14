#include "cmd/ctl_command.hpp"

#include <memory>

#include "client/live.hpp"
#include "client/render.hpp"
#include "client/views.hpp"
#include "cmd/ctl_agent_command.hpp"
#include "cmd/ctl_context.hpp"
#include "cmd/ctl_fleet_command.hpp"
#include "cmd/ctl_stop_command.hpp"
#include "config/defaults.hpp"

namespace mk::cmd {

using namespace mk::client;  // ctl is written in the client's terms

namespace {

using nlohmann::json;

std::string list_text(const json& page) {
  auto table = jobs_table(field(page, "replications"));
  if (table.empty()) table = "no replications\n";
  if (!field(page, "next_cursor").is_null())
    table += "(more on the next pages: --all lists them all)\n";
  return table;
}

void add_replicate(CLI::App& ctl, std::shared_ptr<ctl_context> ctx) {
  struct args_t {
    std::string name, source, vma;
  };
  auto args = std::make_shared<args_t>();
  auto* cmd = ctl.add_subcommand("replicate",
                                 "Start a replication: copy a source disk to a new "
                                 "volume");
  cmd->footer(exit_footer("the job was created (queued)"));
  cmd->add_option("--name", args->name, "What the job is called")->required();
  cmd->add_option("--source", args->source,
                  "The disk: nbd://host[:port]/export or nbd+unix:///export?socket=PATH")
      ->required();
  cmd->add_option("--vma", args->vma,
                  "The VMA agent that runs its mover (default: the "
                  "server's, `local` for `migratekit up`)")
      ->check(id_check());
  cmd->callback([ctx, args] {
    run_ctl(*ctx, [&](const api_client& api) -> ctl_result<ctl_exit> {
      json body = {{"name", args->name}, {"source", args->source}};
      if (!args->vma.empty()) body["vma"] = args->vma;
      return print_answer(*ctx, api.post("/replications", body), job_detail);
    });
  });
}

void add_list(CLI::App& ctl, std::shared_ptr<ctl_context> ctx) {
  struct args_t {
    std::string state, vma;
    unsigned limit = 0;
    bool all = false;
  };
  auto args = std::make_shared<args_t>();
  auto* cmd = ctl.add_subcommand("list", "List replications, newest first");
  cmd->footer(
      "With --all and --json, the pages are joined into one "
      "{\"replications\":[...],\"next_cursor\":null}.\n" +
      exit_footer("listed"));
  cmd->add_option("--state", args->state, "Only jobs in this state")
      ->check(CLI::IsMember(job_states()));
  cmd->add_option("--vma", args->vma, "Only jobs of this VMA agent")->check(id_check());
  cmd->add_option("--limit", args->limit, "Jobs per page (the server's default: 100)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--all", args->all, "Follow next_cursor through every page");
  cmd->callback([ctx, args] {
    run_ctl(*ctx, [&](const api_client& api) -> ctl_result<ctl_exit> {
      api_query query;
      if (!args->state.empty()) query.emplace("state", args->state);
      if (!args->vma.empty()) query.emplace("vma", args->vma);
      if (args->limit) query.emplace("limit", std::to_string(args->limit));
      if (!args->all) return print_answer(*ctx, api.get("/replications", query), list_text);
      auto jobs = list_all(api, query);
      if (!jobs) return unexpected(jobs.error());
      json all = {{"replications", *jobs}, {"next_cursor", nullptr}};
      print_reply(*ctx, {200, all.dump(), all}, list_text);
      return exit_done;
    });
  });
}

/// `show ID` and `log ID`: one GET, one view.
void add_get(CLI::App& ctl, std::shared_ptr<ctl_context> ctx, const std::string& name,
             const std::string& help, const std::string& suffix,
             std::string (*human)(const json&)) {
  auto id = std::make_shared<std::string>();
  auto* cmd = ctl.add_subcommand(name, help);
  cmd->footer(exit_footer("shown"));
  cmd->add_option("ID", *id, "The job")->required()->check(id_check());
  cmd->callback([ctx, id, suffix, human] {
    run_ctl(*ctx, [&](const api_client& api) -> ctl_result<ctl_exit> {
      return print_answer(*ctx, api.get("/replications/" + *id + suffix), human);
    });
  });
}

std::string log_text(const json& log) {
  auto table = log_table(log);
  return table.empty() ? "no entries\n" : table;
}

/// `resume ID` and `delete ID`: one request about one job, then perhaps a wait.
void add_job_action(CLI::App& ctl, std::shared_ptr<ctl_context> ctx, const std::string& name,
                    const std::string& help, const std::string& until,
                    const std::string& not_as_asked, wait_goal goal, bool is_delete) {
  struct args_t {
    std::string id;
    wait_args wait;
  };
  auto args = std::make_shared<args_t>();
  auto* cmd = ctl.add_subcommand(name, help);
  cmd->footer(exit_footer("accepted (with --wait: " + until + ")", "with --wait: " + not_as_asked));
  cmd->add_option("ID", args->id, "The job")->required()->check(id_check());
  add_wait_options(cmd, args->wait, until);
  cmd->callback([ctx, args, goal, is_delete] {
    run_ctl(*ctx, [&](const api_client& api) -> ctl_result<ctl_exit> {
      const auto path = "/replications/" + args->id;
      auto r = is_delete ? api.del(path) : api.post(path + "/resume", json::object());
      return answer_or_wait(*ctx, api, r, args->id, goal, args->wait);
    });
  });
}

void add_watch(CLI::App& ctl, std::shared_ptr<ctl_context> ctx) {
  auto ids = std::make_shared<std::vector<std::string>>();
  auto* cmd = ctl.add_subcommand("watch",
                                 "Show jobs live: progress, state changes and each "
                                 "participant's confirmation of a stop");
  cmd->footer(
      "Runs until interrupted (Ctrl-C). On a terminal one line per job is rewritten in "
      "place; elsewhere, plain lines (--json: each job object as it changes).\n"
      "Exit status: 1 the API refused; 2 bad usage, or no API found; 4 the API could "
      "not be reached.");
  cmd->add_option("ID", *ids, "Only these jobs (default: every job that moves)")->check(id_check());
  cmd->callback([ctx, ids] {
    run_ctl(*ctx, [&](const api_client& api) -> ctl_result<ctl_exit> {
      job_board board(*ids, std::nullopt);
      auto r = follow_live(api, board, {.timeout_s = std::nullopt, .json = ctx->json, .seed = {}});
      if (!r) return unexpected(r.error());
      return exit_done;
    });
  });
}

}  // namespace

void add_ctl_command(CLI::App& app, int& exit_code) {
  auto ctx = std::make_shared<ctl_context>();
  ctx->exit_code = &exit_code;
  ctx->data = defaults::ctl::data_dir;
  auto* ctl = app.add_subcommand("ctl", "Command-line client of the REST API");
  ctl->require_subcommand(1);
  // The global options may also follow the subcommand: `ctl list --json`.
  ctl->fallthrough();
  ctl->footer(
      "The API's URL and token come from --api/--token, else MIGRATEKIT_API/"
      "MIGRATEKIT_TOKEN, else DATA/api-url and DATA/api-token of a local `migratekit "
      "up`.");
  ctl->add_option("--api", ctx->api, "The API's URL, http://HOST:PORT")->envname("MIGRATEKIT_API");
  ctl->add_option("--token", ctx->token, "The API's bearer token")->envname("MIGRATEKIT_TOKEN");
  ctl->add_option("--data", ctx->data, "Data folder of a local `migratekit up`")
      ->envname("MIGRATEKIT_DATA")
      ->capture_default_str();
  ctl->add_flag("--json", ctx->json, "Print the API's JSON unchanged, for scripts");

  add_replicate(*ctl, ctx);
  add_list(*ctl, ctx);
  add_get(*ctl, ctx, "show", "Show a job: state, progress, volume, and its stop", "", job_detail);
  add_ctl_stop_command(*ctl, ctx);
  add_job_action(*ctl, ctx, "resume", "Resume a stopped or failed job from its kept volume",
                 "it completes", "the job ended stopped, failed or cancelled", resume_goal(),
                 false);
  add_job_action(*ctl, ctx, "delete",
                 "Stop a job deleting its volume; its record goes once cancelled (the JobLog "
                 "stays)",
                 "it is cancelled", "the job ended failed or completed", delete_goal(), true);
  add_get(*ctl, ctx, "log", "Show a job's JobLog: the audit trail of its states and stops", "/log",
          log_text);
  add_watch(*ctl, ctx);
  add_ctl_fleet_commands(*ctl, ctx);
  add_ctl_agent_command(*ctl, ctx);
}

}  // namespace mk::cmd
