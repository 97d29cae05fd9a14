// /api/v1/agents (docs/security.md): enrol an agent (its join file), list the agents with
// their health, revoke one. The registry knows their health (hellos, status answers); the
// agent directory (oma/agent_directory.hpp) enrols and revokes them.
#include <set>

#include "actors/atoms.hpp"
#include "api/replies.hpp"
#include "api/routes.hpp"

namespace mk::api {

namespace {

http_error from_bus(const bus::error& e) {
  switch (e.code) {
    case bus::errc::invalid:
      return {400, "invalid", e.message};
    case bus::errc::not_found:
      return {404, "not_found", e.message};
    case bus::errc::conflict:
      return {409, "conflict", e.message};
    case bus::errc::timeout:
    case bus::errc::not_connected:
    case bus::errc::no_responders:
      return {503, "unavailable", e.message};
    default:
      return {500, "internal", e.message};
  }
}

bool active(msg::job_state s) {
  return s == msg::job_state::queued || s == msg::job_state::starting ||
         s == msg::job_state::replicating || s == msg::job_state::stopping;
}

/// GET /agents/{id} and the agent of a POST: enrolled or known to the registry, else 404.
checked<nlohmann::json> one_agent(const route_context& ctx, const std::string& id) {
  auto status = ask<std::vector<actors::agent_status>>(ctx, actors::agents_atom::value);
  if (!status) return unexpected(status.error());
  auto record = ctx.deps.agents->find(id);
  if (!record) return unexpected(from_bus(record.error()));
  const actors::agent_status* seen = nullptr;
  for (const auto& a : *status)
    if (a.id == id) seen = &a;
  if (!*record && !seen) return unexpected(http_error{404, "not_found", "no agent " + id});
  return agent_json(id, *record ? &**record : nullptr, seen);
}

}  // namespace

void add_agent_routes(httplib::Server& http, const route_context& ctx) {
  const std::string base = "/api/v1/agents";
  http.Get(base, [ctx](const httplib::Request&, httplib::Response& res) {
    auto list = ask<std::vector<actors::agent_status>>(ctx, actors::agents_atom::value);
    if (!list) return send_error(res, list.error());
    std::vector<actors::agent_record> enrolled;
    if (ctx.deps.agents) {
      auto records = ctx.deps.agents->list();
      if (!records) return send_error(res, from_bus(records.error()));
      enrolled = std::move(*records);
    }
    send_json(res, 200, agents_json(*list, enrolled));
  });
  if (!ctx.deps.agents) return;
  http.Get(base + "/([^/]+)", [ctx](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    if (auto e = check_id(id)) return send_error(res, *e);
    auto agent = one_agent(ctx, id);
    if (!agent) return send_error(res, agent.error());
    send_json(res, 200, *agent);
  });
  add_body_route(http, body_method::post, base,
                 [ctx](const httplib::Request& req, httplib::Response& res) {
                   auto body = read_body(req, false);
                   if (!body) return send_error(res, body.error());
                   if (auto e = unknown_fields(*body, {"id"})) return send_error(res, *e);
                   auto id = string_field(*body, "id");
                   if (!id) return send_error(res, id.error());
                   if (!*id) return send_error(res, bad_request("id: required"));
                   if (auto e = check_id(**id)) return send_error(res, *e);
                   auto enrolled = ctx.deps.agents->enrol(**id);
                   if (!enrolled) return send_error(res, from_bus(enrolled.error()));
                   send_json(res, 201,
                             {{"agent", agent_json(**id, &enrolled->first, nullptr)},
                              {"join", to_json(enrolled->second)}});
                 });
  add_body_route(
      http, body_method::del, base + "/([^/]+)",
      [ctx](const httplib::Request& req, httplib::Response& res) {
        const std::string id = req.matches[1];
        if (auto e = check_id(id)) return send_error(res, *e);
        const auto force_text = req.get_param_value("force");
        if (!force_text.empty() && force_text != "true" && force_text != "false")
          return send_error(res, bad_request("force: true or false expected"));
        const bool force = force_text == "true";
        auto record = ctx.deps.agents->find(id);
        if (!record) return send_error(res, from_bus(record.error()));
        if (!*record) return send_error(res, {404, "not_found", "no agent " + id + " is enrolled"});
        auto jobs = ask<std::vector<actors::job_summary>>(ctx, actors::list_atom::value);
        if (!jobs) return send_error(res, jobs.error());
        std::vector<std::string> busy;
        for (const auto& j : *jobs)
          if (j.vma == id && active(j.state)) busy.push_back(j.id);
        if (!busy.empty() && !force) {
          std::string names;
          for (const auto& j : busy) names += (names.empty() ? "" : ", ") + j;
          return send_error(res, {409, "conflict",
                                  "agent " + id + " has active jobs (" + names +
                                      "): stop them first, or DELETE with ?force=true to fail "
                                      "them (resumably, volumes kept)"});
        }
        if ((*record)->builtin)
          return send_error(
              res,
              {409, "conflict", "agent " + id + " runs in this OMA's own process (migratekit up)"});
        // First the jobs: their movers may still write, so they fail with their volumes left
        // as they are, and resume once the agent is back (enrolled again).
        // (A queued job of it does not start without its agent; a stop under way ends
        // stop_unconfirmed at its deadline.)
        std::vector<std::string> failed;
        for (const auto& j : *jobs) {
          if (j.vma != id ||
              (j.state != msg::job_state::starting && j.state != msg::job_state::replicating))
            continue;
          caf::anon_send(ctx.deps.registry, actors::lost_atom::value, j.id,
                         "agent " + id + " was removed");
          failed.push_back(j.id);
        }
        if (auto revoked = ctx.deps.agents->revoke(id); !revoked)
          return send_error(res, from_bus(revoked.error()));
        send_json(res, 200, {{"id", id}, {"revoked", true}, {"jobs_failed", failed}});
      });
}

}  // namespace mk::api
