// The live side of the API: /api/v1/events (Server-Sent Events), /healthz and /metrics.
#include <spdlog/spdlog.h>

#include <charconv>

#include "api/routes.hpp"
#include "messages/codec.hpp"

namespace mk::api {

using nlohmann::json;

namespace {

std::string sse(const event& e) {
  // A job's JSON is one line (dump() without indent), so one data line carries it.
  return "id: " + std::to_string(e.seq) + "\nevent: " + e.type + "\ndata: " + e.data + "\n\n";
}

/// Where a stream starts: after the client's Last-Event-ID if it reconnects (events still
/// kept are sent again), else after the newest event.
std::uint64_t start_after(const httplib::Request& req, const event_stream& events) {
  const auto last = req.get_header_value("Last-Event-ID");
  std::uint64_t seq = 0;
  auto [p, ec] = std::from_chars(last.data(), last.data() + last.size(), seq);
  if (!last.empty() && ec == std::errc{} && p == last.data() + last.size() && seq <= events.last())
    return seq;
  return events.last();
}

void events(const route_context& ctx, const httplib::Request& req, httplib::Response& res) {
  if (ctx.streams->fetch_add(1) >= defaults::api::max_event_streams) {
    ctx.streams->fetch_sub(1);
    return send_error(res, {503, "unavailable",
                            "too many /events streams are open (" +
                                std::to_string(defaults::api::max_event_streams) + ")"});
  }
  auto feed = ctx.deps.feed;
  auto streams = ctx.streams;
  auto after = std::make_shared<std::uint64_t>(start_after(req, feed->events()));
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [feed, after, first = std::make_shared<bool>(true)](std::size_t, httplib::DataSink& sink) {
        if (*first) {
          *first = false;
          // Tells the client how long to wait before it reconnects, and that it is connected.
          const std::string hello = "retry: 2000\n: connected\n\n";
          return sink.write(hello.data(), hello.size());
        }
        auto batch = feed->events().wait(*after, defaults::api::keepalive);
        if (feed->events().closed()) {
          sink.done();
          return true;
        }
        std::string out;
        for (const auto& e : batch) {
          out += sse(e);
          *after = e.seq;
        }
        if (out.empty()) out = ": keepalive\n\n";
        return sink.write(out.data(), out.size());
      },
      [streams](bool) { streams->fetch_sub(1); });
}

}  // namespace

void add_event_routes(httplib::Server& http, const route_context& ctx) {
  http.Get("/api/v1/events", [ctx](const auto& req, auto& res) { events(ctx, req, res); });
  auto health = [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"status", "ok"}});
  };
  http.Get("/healthz", health);
  http.Get("/api/v1/healthz", health);
  auto metrics = [ctx](const httplib::Request&, httplib::Response& res) {
    auto& feed = *ctx.deps.feed;
    const auto slow = ctx.deps.slow_consumer_drops ? ctx.deps.slow_consumer_drops() : 0;
    res.set_content(feed.stats().render(feed.view().count_by_state(), msg::decode_failures(), slow),
                    "text/plain; version=0.0.4");
  };
  http.Get("/metrics", metrics);
  http.Get("/api/v1/metrics", metrics);
}

}  // namespace mk::api
