#include "cmd/ctl_fleet_command.hpp"

#include <cstdio>

#include "client/views.hpp"
#include "messages/subjects.hpp"

namespace mk::cmd {

using namespace mk::client;  // ctl is written in the client's terms

namespace {

using nlohmann::json;

ctl_exit usage(const std::string& message) { return report({ctl_errc::usage, message}); }

/// "all" or "vma:ID", the scopes of maintenance mode.
std::string scope_error(std::string& scope) {
  if (scope == "all" || (scope.starts_with("vma:") && msg::valid_id(scope.substr(4)))) return "";
  return "scope: all or vma:ID expected, not '" + scope + "'";
}

void add_maintenance(CLI::App& ctl, std::shared_ptr<ctl_context> ctx) {
  struct args_t {
    std::string action, reason, scope;
    bool resume_after = false;
    unsigned max_parallel = 0;
  };
  auto a = std::make_shared<args_t>();
  auto* cmd =
      ctl.add_subcommand("maintenance",
                         "Maintenance mode: `on` stops every job in scope and refuses new ones, "
                         "`off` ends it; alone, shows it");
  cmd->footer(exit_footer("done"));
  cmd->add_option("ACTION", a->action, "on or off (none: show the mode)")
      ->check(CLI::IsMember({"on", "off"}));
  auto* reason = cmd->add_option("--reason", a->reason, "Why, kept with the mode");
  auto* scope = cmd->add_option("--scope", a->scope, "all (default) or vma:ID")
                    ->check(CLI::Validator(scope_error, "SCOPE"));
  auto* resume = cmd->add_flag("--resume-after", a->resume_after,
                               "When it ends, resume the jobs that it stopped");
  auto* parallel = cmd->add_option("--max-parallel", a->max_parallel,
                                   "Stops at once while it begins (default: 32)")
                       ->check(CLI::PositiveNumber);
  cmd->callback([ctx, a, reason, scope, resume, parallel] {
    if (a->action.empty() &&
        (reason->count() || scope->count() || resume->count() || parallel->count())) {
      *ctx->exit_code = usage("maintenance: options need `on` or `off`");
      return;
    }
    run_ctl(*ctx, [&](const api_client& api) -> ctl_result<ctl_exit> {
      if (a->action.empty()) {
        return print_answer(*ctx, api.get("/maintenance"), key_values);
      }
      json body = {{"enabled", a->action == "on"}};
      if (reason->count()) body["reason"] = a->reason;
      if (scope->count()) body["scope"] = a->scope;
      if (resume->count()) body["resume_after"] = a->resume_after;
      if (parallel->count()) body["max_parallel"] = a->max_parallel;
      return print_answer(*ctx, api.put("/maintenance", body), key_values);
    });
  });
}

/// "22:00-06:00" as {"from":"22:00","to":"06:00"} (the OMA checks the times); null without a
/// dash.
json window(const std::string& text) {
  auto dash = text.find('-');
  if (dash == std::string::npos) return nullptr;
  return {{"from", text.substr(0, dash)}, {"to", text.substr(dash + 1)}};
}

void add_schedule(CLI::App& ctl, std::shared_ptr<ctl_context> ctx) {
  struct args_t {
    std::string action, job, vma, at, window, id;
    bool all = false;
  };
  auto a = std::make_shared<args_t>();
  auto* cmd = ctl.add_subcommand("schedule",
                                 "One-shot actions at a time, and daily "
                                 "replication windows");
  cmd->require_subcommand(1);

  auto* add = cmd->add_subcommand("add", "Add a schedule: --action with --at, or a --window");
  add->footer(
      "A window stops the jobs in scope outside it (volumes kept, reason schedule) "
      "and resumes them when it opens.\n" +
      exit_footer("added"));
  add->add_option("--action", a->action, "What to do --at the time")
      ->check(CLI::IsMember({"stop", "resume", "maintenance_on", "maintenance_off"}));
  auto* job = add->add_option("--job", a->job, "Target: one job")->check(id_check());
  auto* vma =
      add->add_option("--vma", a->vma, "Target: the jobs of a VMA agent")->check(id_check());
  auto* all = add->add_flag("--all", a->all, "Target: every job");
  job->excludes(vma)->excludes(all);
  vma->excludes(all);
  auto* at = add->add_option("--at", a->at, "When, RFC 3339 (2026-11-28T22:00:00Z)");
  add->add_option("--window", a->window, "Daily window in UTC, HH:MM[:SS]-HH:MM[:SS] (22:00-06:00)")
      ->excludes(at);
  add->callback([ctx, a] {
    if (a->job.empty() && a->vma.empty() && !a->all) {
      *ctx->exit_code = usage("schedule add: a target: --job, --vma or --all");
      return;
    }
    json body = {{"target", !a->job.empty()   ? json{{"job", a->job}}
                            : !a->vma.empty() ? json{{"vma", a->vma}}
                                              : json{{"all", true}}}};
    if (!a->window.empty()) {
      body["window"] = window(a->window);
      if (body["window"].is_null() || !a->action.empty()) {
        *ctx->exit_code = usage("schedule add: --window FROM-TO (22:00-06:00), without --action");
        return;
      }
    } else if (a->at.empty() || a->action.empty()) {
      *ctx->exit_code = usage("schedule add: --action with --at, or a --window");
      return;
    } else {
      body["action"] = a->action;
      body["at"] = a->at;
    }
    run_ctl(*ctx, [&](const api_client& api) -> ctl_result<ctl_exit> {
      return print_answer(*ctx, api.post("/schedules", body), key_values);
    });
  });

  cmd->add_subcommand("list", "List the schedules")
      ->callback([ctx] {
        run_ctl(*ctx, [&](const api_client& api) -> ctl_result<ctl_exit> {
          return print_answer(*ctx, api.get("/schedules"), [](const json& j) {
            auto table = schedules_table(j);
            return table.empty() ? std::string("no schedules\n") : table;
          });
        });
      })
      ->footer(exit_footer("listed"));

  auto* rm = cmd->add_subcommand("rm", "Remove a schedule");
  rm->footer(exit_footer("removed"));
  rm->add_option("ID", a->id, "The schedule")->required()->check(id_check());
  rm->callback([ctx, a] {
    run_ctl(*ctx, [&](const api_client& api) -> ctl_result<ctl_exit> {
      return print_answer(*ctx, api.del("/schedules/" + a->id),
                          [&](const json&) { return "removed " + a->id; });
    });
  });
}

void add_analytics(CLI::App& ctl, std::shared_ptr<ctl_context> ctx) {
  auto since = std::make_shared<std::string>();
  auto* cmd = ctl.add_subcommand("analytics",
                                 "Stop analytics: counts by reason and outcome, "
                                 "force kills, durations, bytes copied again");
  cmd->footer(exit_footer("shown"));
  cmd->add_option("--since", *since, "Only stops since this time (RFC 3339)");
  cmd->callback([ctx, since] {
    run_ctl(*ctx, [&](const api_client& api) -> ctl_result<ctl_exit> {
      api_query query;
      if (!since->empty()) query.emplace("since", *since);
      return print_answer(*ctx, api.get("/analytics/stops", query), key_values);
    });
  });
}

}  // namespace

void add_ctl_fleet_commands(CLI::App& ctl, std::shared_ptr<ctl_context> ctx) {
  add_maintenance(ctl, ctx);
  add_schedule(ctl, ctx);
  add_analytics(ctl, ctx);
}

}  // namespace mk::cmd
