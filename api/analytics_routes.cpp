// /api/v1/analytics/stops (docs/operations.md): the stop analytics, computed on each request from
// the whole JobLog, which outlives deleted jobs, so that they count too. The read is bounded
// by the store's read timeout; a log that cannot be read whole is an error, never a partial
// answer.
#include "api/routes.hpp"
#include "models/job_record.hpp"
#include "models/stop_analytics.hpp"

namespace mk::api {

namespace {

void stops(const route_context& ctx, const httplib::Request& req, httplib::Response& res) {
  std::optional<std::int64_t> since;
  if (req.has_param("since")) {
    since = actors::parse_rfc3339(req.get_param_value("since"));
    if (!since)
      return send_error(res, bad_request("since: an RFC 3339 time expected, such as "
                                         "2026-11-28T22:00:00Z"));
  }
  actors::stop_analytics analytics(since);
  auto read = ctx.deps.store->read_all_logs(since.value_or(0),
                                            [&analytics](std::string_view e) { analytics.add(e); });
  if (!read) {
    // The store away or slow (nats-server restarting) is worth a retry; anything else is not.
    const auto code = read.error().code;
    const bool retry = code == bus::errc::timeout || code == bus::errc::not_connected;
    return send_error(res, {retry ? 503 : 500, retry ? "unavailable" : "internal",
                            "the JobLog could not be read: " + read.error().message});
  }
  send_json(res, 200, analytics.result());
}

}  // namespace

void add_analytics_routes(httplib::Server& http, const route_context& ctx) {
  http.Get("/api/v1/analytics/stops", [ctx](const auto& req, auto& res) { stops(ctx, req, res); });
}

}  // namespace mk::api
