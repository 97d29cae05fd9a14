// /api/v1/agents (docs/overview.md), read-only for now: the agents the OMA knows, from their
// hellos and their answers to the poller, as the registry keeps them.
#include "actors/atoms.hpp"
#include "api/replies.hpp"
#include "api/routes.hpp"

namespace mk::api {

void add_agent_routes(httplib::Server& http, const route_context& ctx) {
  http.Get("/api/v1/agents", [ctx](const httplib::Request&, httplib::Response& res) {
    auto list = ask<std::vector<actors::agent_status>>(ctx, actors::agents_atom::value);
    if (!list) return send_error(res, list.error());
    send_json(res, 200, agents_json(*list));
  });
}

}  // namespace mk::api
