#include "cmd/ctl_stop_command.hpp"

#include <cstdio>

#include "client/render.hpp"
#include "client/views.hpp"
#include "messages/job_states.hpp"

namespace mk::cmd {

using namespace mk::client;  // ctl is written in the client's terms

namespace {

using nlohmann::json;

struct stop_args {
  std::vector<std::string> ids;
  bool force = false;
  bool remove = false;  ///< --delete
  bool dry_run = false;
  std::string reason, comment, filter_vma, filter_state;
  unsigned grace_s = 0;
  const CLI::Option* grace = nullptr;
  wait_args wait;

  bool by_filter() const { return !filter_vma.empty() || !filter_state.empty(); }
};

/// The stop options of docs/stop-protocol.md, only those given: the server fills in its defaults
/// (and a batch's reason is `batch`).
json stop_options(const stop_args& a) {
  json o = json::object();
  if (a.force) o["mode"] = "force";
  if (a.remove) o["volumes"] = "delete";
  if (!a.reason.empty()) o["reason"] = a.reason;
  if (!a.comment.empty()) o["comment"] = a.comment;
  if (a.grace->count()) o["grace_seconds"] = a.grace_s;
  return o;
}

ctl_result<ctl_exit> stop_one(const ctl_context& ctx, const api_client& api, const stop_args& a) {
  const auto& id = a.ids.front();
  if (a.dry_run)
    return print_answer(
        ctx, api.post("/replications/" + id + "/stop?dry_run=true", stop_options(a)), plan_text);
  return answer_or_wait(ctx, api, api.post("/replications/" + id + "/stop", stop_options(a)), id,
                        stop_goal(a.remove), a.wait);
}

/// The jobs a batch would stop: the ids given, or what the filter finds. Without a state the
/// filter means the jobs that may run, as the API's batch takes it.
ctl_result<std::vector<std::string>> batch_targets(const api_client& api, const stop_args& a) {
  if (!a.by_filter()) return a.ids;
  std::vector<std::string> ids;
  auto states = a.filter_state.empty() ? msg::names_where(msg::is_active)
                                       : std::vector<std::string>{a.filter_state};
  for (const auto& state : states) {
    api_query query{{"state", state}};
    if (!a.filter_vma.empty()) query.emplace("vma", a.filter_vma);
    auto jobs = list_all(api, query);
    if (!jobs) return unexpected(jobs.error());
    for (const auto& job : *jobs) ids.push_back(field_text(job, "id"));
  }
  return ids;
}

/// --dry-run of a batch: the plan of each job, one dry run each (the batch endpoint has
/// none); the jobs that a stop would refuse are shown with the API's reason.
ctl_result<ctl_exit> plan_many(const ctl_context& ctx, const api_client& api, const stop_args& a) {
  auto ids = batch_targets(api, a);
  if (!ids) return unexpected(ids.error());
  json plans = json::array(), rejected = json::array();
  std::string text;
  for (const auto& id : *ids) {
    auto plan = api.post("/replications/" + id + "/stop?dry_run=true", stop_options(a));
    if (plan) {
      plans.push_back(plan->json);
      text += plan_text(plan->json) + "\n";
    } else if (plan.error().code == ctl_errc::refused || plan.error().code == ctl_errc::not_found) {
      rejected.push_back({{"id", id}, {"error", plan.error().message}});
      text += id + ": would be refused: " + plan.error().message + "\n\n";
    } else {
      return unexpected(plan.error());
    }
  }
  if (ids->empty()) text = "no job matches\n";
  json all = {{"plans", plans}, {"rejected", rejected}};
  print_reply(ctx, {200, all.dump(), all}, [&](const json&) { return text; });
  return rejected.empty() ? exit_done : exit_refused;
}

ctl_result<ctl_exit> stop_many(const ctl_context& ctx, const api_client& api, const stop_args& a) {
  if (a.dry_run) return plan_many(ctx, api, a);
  json body = stop_options(a);
  if (a.by_filter()) {
    body["filter"] = json::object();
    if (!a.filter_vma.empty()) body["filter"]["vma"] = a.filter_vma;
    if (!a.filter_state.empty()) body["filter"]["state"] = a.filter_state;
  } else {
    body["ids"] = a.ids;
  }
  auto r = api.post("/replications/stop", body);
  if (!r) return unexpected(r.error());
  print_reply(ctx, *r, batch_text);
  std::vector<std::string> accepted;
  if (const auto& ids = field(r->json, "accepted"); ids.is_array())
    for (const auto& id : ids)
      if (id.is_string()) accepted.push_back(id.get<std::string>());
  const auto& rejected = field(r->json, "rejected");
  const auto refused = rejected.is_array() && !rejected.empty() ? exit_refused : exit_done;
  if (!a.wait.wait || accepted.empty()) return refused;
  auto waited = wait_for(ctx, api, accepted, stop_goal(a.remove), {}, a.wait);
  if (waited && refused != exit_done) return refused;
  return waited;
}

}  // namespace

void add_ctl_stop_command(CLI::App& ctl, std::shared_ptr<ctl_context> ctx) {
  auto a = std::make_shared<stop_args>();
  auto* cmd = ctl.add_subcommand(
      "stop", "Stop jobs cleanly: the mover drains and checkpoints, every participant confirms");
  cmd->footer(
      "One ID: POST /replications/{id}/stop. Several IDs or a filter: one batch request, "
      "POST /replications/stop.\n"
      "--dry-run changes nothing: it shows what each participant would do (a batch: each "
      "job's plan).\n" +
      exit_footer("accepted (with --wait: stopped with the volume kept, or cancelled with "
                  "--delete)",
                  "with --wait: a job ended, but not as asked: failed, or completed because "
                  "its copy finished first") +
      "\nA batch exits 1 if the API rejected any of its jobs.");
  cmd->add_option("ID", a->ids, "The jobs")->check(id_check());
  cmd->add_flag("--force", a->force, "SIGKILL the mover at once instead of a graceful drain");
  cmd->add_flag("--delete", a->remove, "Delete the volume (default: keep it, to resume later)");
  cmd->add_option("--reason", a->reason, "Why (default: user; batch for several jobs)")
      ->check(CLI::IsMember({"user", "schedule", "maintenance", "batch", "shutdown", "bus"}));
  cmd->add_option("--comment", a->comment, "A note kept with the stop and in the JobLog");
  a->grace = cmd->add_option("--grace", a->grace_s,
                             "Seconds the mover may drain before SIGKILL (default: 30)")
                 ->check(CLI::PositiveNumber);
  auto* dry = cmd->add_flag("--dry-run", a->dry_run, "Show the plan; change nothing");
  add_wait_options(cmd, a->wait, "it settles");
  dry->excludes("--wait");
  cmd->add_option("--filter-vma", a->filter_vma, "A batch: the jobs of this VMA agent")
      ->check(id_check());
  cmd->add_option("--filter-state", a->filter_state,
                  "A batch: the jobs in this state (default: queued, starting, replicating)")
      ->check(CLI::IsMember(job_states()));
  cmd->callback([ctx, a] {
    if (a->ids.empty() == !a->by_filter()) {
      std::fputs("migratekit ctl stop: give job IDs, or --filter-vma/--filter-state, not both\n",
                 stderr);
      *ctx->exit_code = exit_usage;
      return;
    }
    run_ctl(*ctx, [&](const api_client& api) {
      return a->ids.size() == 1 ? stop_one(*ctx, api, *a) : stop_many(*ctx, api, *a);
    });
  });
}

}  // namespace mk::cmd
