// /api/v1/replications: create, list, show, stop (one, a dry run, a batch), resume, delete,
// and the JobLog. Every change goes to the job's actor through the registry; reads come from
// the job view, which the actors keep current.
#include <spdlog/spdlog.h>

#include <charconv>

#include "actors/atoms.hpp"
#include "api/replies.hpp"
#include "api/routes.hpp"
#include "bus/subjects.hpp"
#include "messages/job_states.hpp"

namespace mk::api {

using nlohmann::json;

namespace {

constexpr const char* base = "/api/v1/replications";

msg::header api_header() {
  msg::header h;
  h.from = "api";
  return h;
}

bool known_state(const std::string& s) { return msg::parse_enum<msg::job_state>(s).has_value(); }

/// A query parameter as a count, or 400 naming it.
checked<std::size_t> count_param(const httplib::Request& req, const char* key,
                                 std::size_t fallback) {
  if (!req.has_param(key)) return fallback;
  const auto text = req.get_param_value(key);
  std::size_t n = 0;
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc{} || p != end || text.empty())
    return unexpected(bad_request(std::string(key) + ": a whole number expected"));
  return n;
}

void create(const route_context& ctx, const httplib::Request& req, httplib::Response& res) {
  auto body = read_body(req, false);
  if (!body) return send_error(res, body.error());
  if (auto e = unknown_fields(*body, {"name", "source", "vma"})) return send_error(res, *e);
  msg::replicate_request r;
  r.hdr = api_header();
  for (auto [key, target] : {std::pair{"name", &r.name}, {"source", &r.source}}) {
    auto v = string_field(*body, key);
    if (!v) return send_error(res, v.error());
    if (!*v) return send_error(res, bad_request(std::string(key) + ": missing"));
    *target = **v;
  }
  auto vma = string_field(*body, "vma");
  if (!vma) return send_error(res, vma.error());
  r.vma = vma->value_or(std::string(defaults::api::vma));
  auto job = ask<actors::job_record>(ctx, r);
  if (!job) return send_error(res, job.error());
  res.set_header("Location", std::string(base) + "/" + job->id);
  send_json(res, 201, job_json(*job));
}

void list(const route_context& ctx, const httplib::Request& req, httplib::Response& res) {
  list_query q;
  q.state = req.get_param_value("state");
  q.vma = req.get_param_value("vma");
  q.cursor = req.get_param_value("cursor");
  if (!q.state.empty() && !known_state(q.state))
    return send_error(res, bad_request("state: not a job state"));
  if (!q.vma.empty() && !msg::valid_id(q.vma))
    return send_error(res, bad_request("vma: ^[a-z0-9][a-z0-9-]{0,62}$ expected"));
  auto limit = count_param(req, "limit", defaults::api::page_size);
  if (!limit) return send_error(res, limit.error());
  q.limit = *limit;
  auto page = ctx.deps.feed->view().list(q);
  if (!page) return send_error(res, bad_request(page.error()));
  send_json(res, 200,
            {{"replications", page->jobs},
             {"next_cursor", page->next_cursor.empty() ? json(nullptr) : json(page->next_cursor)}});
}

void show(const route_context& ctx, const std::string& id, httplib::Response& res) {
  auto job = ctx.deps.feed->view().get(id);
  if (!job) return send_error(res, {404, "not_found", "no job '" + id + "'"});
  send_json(res, 200, *job);
}

void stop(const route_context& ctx, const std::string& id, const httplib::Request& req,
          httplib::Response& res) {
  auto body = read_body(req, true);
  if (!body) return send_error(res, body.error());
  auto r = stop_options(*body, msg::stop_reason::user);
  if (!r) return send_error(res, r.error());
  r->hdr = api_header();
  r->job = id;
  const auto dry_run = req.get_param_value("dry_run");
  if (!dry_run.empty() && dry_run != "true" && dry_run != "false")
    return send_error(res, bad_request("dry_run: true or false expected"));
  if (dry_run == "true") {
    auto plan = ask<actors::stop_plan>(ctx, actors::plan_atom::value, *r);
    if (!plan) return send_error(res, plan.error());
    // The volume's place is the API's to show; the job actor knows only its id.
    json path = nullptr;
    if (auto job = ctx.deps.feed->view().get(id); job && (*job)["volume"].is_object())
      path = (*job)["volume"].value("path", json(nullptr));
    return send_json(res, 200, plan_json(*plan, path));
  }
  auto job = ask<actors::job_record>(ctx, *r);
  if (!job) return send_error(res, job.error());
  send_json(res, 202, job_json(*job));
}

void batch_stop(const route_context& ctx, const httplib::Request& req, httplib::Response& res) {
  auto body = read_body(req, false);
  if (!body) return send_error(res, body.error());
  auto r = stop_options(*body, msg::stop_reason::batch, {"ids", "filter"});
  if (!r) return send_error(res, r.error());
  r->hdr = api_header();
  const bool by_ids = body->contains("ids"), by_filter = body->contains("filter");
  if (by_ids == by_filter)
    return send_error(res, bad_request("ids or filter expected (one of them)"));
  std::vector<std::string> ids;
  if (by_ids) {
    const auto& list = (*body)["ids"];
    if (!list.is_array() || list.empty() || list.size() > defaults::api::max_batch)
      return send_error(
          res, bad_request("ids: an array of 1 to " + std::to_string(defaults::api::max_batch) +
                           " job ids expected"));
    for (const auto& id : list) {
      if (!id.is_string()) return send_error(res, bad_request("ids: strings expected"));
      ids.push_back(id.get<std::string>());
    }
  } else {
    const auto& f = (*body)["filter"];
    if (!f.is_object()) return send_error(res, bad_request("filter: an object expected"));
    if (auto e = unknown_fields(f, {"vma", "state"}))
      return send_error(res, {400, "invalid", "filter: " + e->message});
    auto vma = string_field(f, "vma");
    auto state = string_field(f, "state");
    if (!vma || !state) return send_error(res, bad_request("filter: vma and state are strings"));
    if (*vma && !msg::valid_id(**vma))
      return send_error(res, bad_request("filter.vma: ^[a-z0-9][a-z0-9-]{0,62}$ expected"));
    if (*state && !known_state(**state))
      return send_error(res, bad_request("filter.state: not a job state"));
    // Without a state the filter means the jobs a stop is for: those that may run.
    const std::vector<std::string> states =
        *state ? std::vector<std::string>{**state} : msg::names_where(msg::is_active);
    for (const auto& s : states)
      for (auto& id : ctx.deps.feed->view().ids(s, vma->value_or(""))) ids.push_back(std::move(id));
  }
  json accepted = json::array(), rejected = json::array();
  for (const auto& id : ids) {
    if (auto e = check_id(id)) {
      rejected.push_back(
          {{"id", id.substr(0, 64)}, {"error", {{"code", e->code}, {"message", e->message}}}});
      continue;
    }
    auto one = *r;
    one.job = id;
    if (auto job = ask<actors::job_record>(ctx, one); job)
      accepted.push_back(id);
    else
      rejected.push_back(
          {{"id", id}, {"error", {{"code", job.error().code}, {"message", job.error().message}}}});
  }
  send_json(res, 202, {{"accepted", accepted}, {"rejected", rejected}});
}

void resume(const route_context& ctx, const std::string& id, httplib::Response& res) {
  auto job = ask<actors::job_record>(ctx, actors::resume_atom::value, id);
  if (!job) return send_error(res, job.error());
  send_json(res, 202, job_json(*job));
}

void remove(const route_context& ctx, const std::string& id, httplib::Response& res) {
  msg::stop_request r;
  r.hdr = api_header();
  r.job = id;
  r.reason = msg::stop_reason::user;
  r.volumes = msg::volume_action::remove;
  auto job = ask<actors::job_record>(ctx, actors::remove_atom::value, r);
  if (!job) return send_error(res, job.error());
  send_json(res, 202, job_json(*job));
}

void journal(const route_context& ctx, const std::string& id, httplib::Response& res) {
  auto entries = ctx.deps.store->read_log(id);
  if (!entries && entries.error().code != bus::errc::not_found)
    return send_error(res, {500, "internal", "JobLog of " + id + ": " + entries.error().message});
  json out = json::array();
  if (entries)
    for (const auto& e : *entries) {
      auto j = json::parse(e, nullptr, false);
      if (!j.is_discarded()) out.push_back(std::move(j));
    }
  // The JobLog outlives a deleted job; an id with neither a job nor a log is unknown.
  if (out.empty() && !ctx.deps.feed->view().raw(id))
    return send_error(res, {404, "not_found", "no job '" + id + "'"});
  send_json(res, 200, {{"entries", out}});
}

/// Runs `fn` with the id of the path, once it is known to be an id.
template <class Fn>
auto with_id(Fn fn) {
  return [fn](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    if (auto e = check_id(id)) return send_error(res, *e);
    fn(id, req, res);
  };
}

}  // namespace

void add_replication_routes(httplib::Server& http, const route_context& ctx) {
  const std::string one = std::string(base) + "/([^/]+)";
  add_body_route(http, body_method::post, base,
                 [ctx](const auto& req, auto& res) { create(ctx, req, res); });
  http.Get(base, [ctx](const auto& req, auto& res) { list(ctx, req, res); });
  // Before "{id}/stop": "stop" is not an id of the pattern below, but it matches ([^/]+).
  add_body_route(http, body_method::post, std::string(base) + "/stop",
                 [ctx](const auto& req, auto& res) { batch_stop(ctx, req, res); });
  http.Get(one, with_id([ctx](const auto& id, const auto&, auto& res) { show(ctx, id, res); }));
  add_body_route(http, body_method::del, one,
                 with_id([ctx](const auto& id, const auto&, auto& res) { remove(ctx, id, res); }));
  add_body_route(
      http, body_method::post, one + "/stop",
      with_id([ctx](const auto& id, const auto& req, auto& res) { stop(ctx, id, req, res); }));
  add_body_route(http, body_method::post, one + "/resume",
                 with_id([ctx](const auto& id, const auto&, auto& res) { resume(ctx, id, res); }));
  http.Get(one + "/log",
           with_id([ctx](const auto& id, const auto&, auto& res) { journal(ctx, id, res); }));
}

}  // namespace mk::api
