#include "cmd/ctl_agent_command.hpp"

#include <cstdio>

#include "client/views.hpp"
#include "models/join_file.hpp"

namespace mk::cmd {

using namespace mk::client;  // ctl is written in the client's terms

void add_ctl_agent_command(CLI::App& ctl, std::shared_ptr<ctl_context> ctx) {
  struct args_t {
    std::string id, out;
    bool force = false;
  };
  auto a = std::make_shared<args_t>();
  auto* cmd = ctl.add_subcommand("agent", "Enrol, list and remove VMA agents");
  cmd->require_subcommand(1);

  auto* add = cmd->add_subcommand("add", "Enrol an agent: its bus identity and join file");
  add->footer(
      "The join file holds the agent's credentials: it is written with mode 0600, and the\n"
      "agent takes it with `migratekit vma --join FILE --data DIR` on its host. Without --out\n"
      "the join file is printed.\n" +
      exit_footer("enrolled"));
  add->add_option("ID", a->id, "The agent's id")->required()->check(id_check());
  add->add_option("--out", a->out, "Write the join file here (mode 0600)");
  add->callback([ctx, a] {
    run_ctl(*ctx, [&](const api_client& api) -> ctl_result<ctl_exit> {
      auto answer = api.post("/agents", {{"id", a->id}});
      if (!answer) return unexpected(answer.error());
      if (!a->out.empty()) {
        auto j = actors::join_file_from_json(answer->json.value("join", nlohmann::json()));
        if (!j) return report({ctl_errc::refused, "the OMA's join file: " + j.error()});
        if (auto w = actors::write_join_file(a->out, *j); !w)
          return report({ctl_errc::refused, "--out " + a->out + ": " + w.error()});
      }
      print_reply(*ctx, *answer, [&](const nlohmann::json& body) -> std::string {
        if (a->out.empty()) return body.value("join", nlohmann::json()).dump(2);
        return "enrolled agent " + a->id + "; its join file is " + a->out +
               " (0600). On the agent's host: migratekit vma --join " + a->out + " --data DIR";
      });
      return exit_done;
    });
  });

  cmd->add_subcommand("list", "The agents: enrolled or seen, online or not, their movers")
      ->callback([ctx] {
        run_ctl(*ctx, [&](const api_client& api) -> ctl_result<ctl_exit> {
          return print_answer(*ctx, api.get("/agents"), [](const nlohmann::json& j) {
            auto table = agents_table(j);
            return table.empty() ? std::string("no agents\n") : table;
          });
        });
      })
      ->footer(exit_footer("listed"));

  auto* rm = cmd->add_subcommand("rm", "Remove an agent: its credentials are revoked at once");
  rm->footer(
      "Refused while the agent has active jobs, unless --force, which fails them first\n"
      "(resumably: their volumes are kept).\n" +
      exit_footer("removed"));
  rm->add_option("ID", a->id, "The agent")->required()->check(id_check());
  rm->add_flag("--force", a->force, "Also when it has active jobs");
  rm->callback([ctx, a] {
    run_ctl(*ctx, [&](const api_client& api) -> ctl_result<ctl_exit> {
      return print_answer(
          *ctx, api.del("/agents/" + a->id + (a->force ? "?force=true" : "")),
          [&](const nlohmann::json& j) {
            const auto& failed = j.value("jobs_failed", nlohmann::json::array());
            return "removed " + a->id + " (revoked)" +
                   (failed.empty() ? std::string() : "; jobs failed: " + compact(failed));
          });
    });
  });
}

}  // namespace mk::cmd
