// /api/v1/maintenance (docs/operations.md): the mode, and switching it.
#include "actors/atoms.hpp"
#include "api/routes.hpp"

namespace mk::api {

namespace {

using nlohmann::json;

/// {"enabled", "reason", "scope", "resume_after", "max_parallel"}, each checked and named.
checked<msg::maintenance> switch_of(const json& body) {
  if (auto bad =
          unknown_fields(body, {"enabled", "reason", "scope", "resume_after", "max_parallel"}))
    return unexpected(*bad);
  msg::maintenance m;
  m.hdr.from = "api";
  auto enabled = body.find("enabled");
  if (enabled == body.end() || !enabled->is_boolean())
    return unexpected(bad_request("enabled: true or false expected"));
  m.enabled = enabled->get<bool>();
  auto reason = string_field(body, "reason");
  if (!reason) return unexpected(reason.error());
  m.reason = reason->value_or("");
  auto scope = string_field(body, "scope");
  if (!scope) return unexpected(scope.error());
  m.scope = scope->value_or("all");
  if (auto r = body.find("resume_after"); r != body.end() && !r->is_null()) {
    if (!r->is_boolean()) return unexpected(bad_request("resume_after: true or false expected"));
    m.resume_after = r->get<bool>();
  }
  if (auto p = body.find("max_parallel"); p != body.end() && !p->is_null()) {
    if (!p->is_number_integer() || p->get<std::int64_t>() < 1 ||
        p->get<std::int64_t>() > defaults::maintenance::max_parallel_limit)
      return unexpected(bad_request("max_parallel: an integer from 1 to " +
                                    std::to_string(defaults::maintenance::max_parallel_limit) +
                                    " expected"));
    m.max_parallel = p->get<std::uint32_t>();
  }
  return m;
}

}  // namespace

void add_maintenance_routes(httplib::Server& http, const route_context& ctx) {
  const std::string path = "/api/v1/maintenance";
  http.Get(path, [ctx](const httplib::Request&, httplib::Response& res) {
    auto mode = ask_actor(ctx, ctx.deps.maintenance, actors::get_atom::value);
    if (!mode) return send_error(res, mode.error());
    send_json(res, 200, *mode);
  });
  add_body_route(http, body_method::put, path,
                 [ctx](const httplib::Request& req, httplib::Response& res) {
                   auto body = read_body(req, false);
                   if (!body) return send_error(res, body.error());
                   auto m = switch_of(*body);
                   if (!m) return send_error(res, m.error());
                   auto mode = ask_actor(ctx, ctx.deps.maintenance, *m);
                   if (!mode) return send_error(res, mode.error());
                   send_json(res, 200, *mode);
                 });
}

}  // namespace mk::api
