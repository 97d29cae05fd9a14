// /api/v1/schedules (docs/operations.md): add, list and remove schedules. The scheduler actor
// checks and keeps them; these routes only carry the bodies and its answers.
#include "actors/atoms.hpp"
#include "api/routes.hpp"

namespace mk::api {

void add_schedule_routes(httplib::Server& http, const route_context& ctx) {
  const std::string base = "/api/v1/schedules";
  http.Get(base, [ctx](const httplib::Request&, httplib::Response& res) {
    auto list = ask_actor(ctx, ctx.deps.scheduler, actors::list_atom::value);
    if (!list) return send_error(res, list.error());
    send_json(res, 200, *list);
  });
  add_body_route(http, body_method::post, base,
                 [ctx](const httplib::Request& req, httplib::Response& res) {
                   auto body = read_body(req, false);
                   if (!body) return send_error(res, body.error());
                   auto added = ask_actor(ctx, ctx.deps.scheduler, actors::schedule_atom::value,
                                          body->dump(), std::string("api"));
                   if (!added) return send_error(res, added.error());
                   send_json(res, 201, *added);
                 });
  add_body_route(http, body_method::del, base + "/([^/]+)",
                 [ctx](const httplib::Request& req, httplib::Response& res) {
                   const std::string id = req.matches[1];
                   if (auto e = check_id(id)) return send_error(res, *e);
                   auto removed =
                       ask_actor(ctx, ctx.deps.scheduler, actors::remove_atom::value, id);
                   if (!removed) return send_error(res, removed.error());
                   send_json(res, 200, *removed);
                 });
}

}  // namespace mk::api
