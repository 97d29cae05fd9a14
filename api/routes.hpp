#pragma once

#include <httplib.h>

#include <atomic>
#include <caf/all.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "api/body_routes.hpp"
#include "api/http_json.hpp"
#include "api/server.hpp"
#include "config/defaults.hpp"
#include "messages/caf_types.hpp"
#include "oma/interfaces.hpp"

namespace mk::api {

/// What every route works with.
struct route_context {
  caf::actor_system* system = nullptr;
  server_deps deps;
  /// /events streams open now (each holds a thread of the pool).
  std::shared_ptr<std::atomic<std::size_t>> streams = std::make_shared<std::atomic<std::size_t>>(0);
};

/// /api/v1/replications and below (docs/api.md).
void add_replication_routes(httplib::Server& http, const route_context& ctx);
/// /api/v1/events, /healthz and /metrics.
void add_event_routes(httplib::Server& http, const route_context& ctx);
/// /api/v1/analytics/stops (docs/operations.md).
void add_analytics_routes(httplib::Server& http, const route_context& ctx);
/// /api/v1/agents: the agents the OMA knows (docs/overview.md), read-only.
void add_agent_routes(httplib::Server& http, const route_context& ctx);
/// The operator's page: `/` and its files under /ui/.
void add_ui_routes(httplib::Server& http);

/// Maintenance mode: GET and PUT /api/v1/maintenance.
void add_maintenance_routes(httplib::Server& http, const route_context& ctx);
/// Schedules: POST and GET /api/v1/schedules, DELETE /api/v1/schedules/{id}.
void add_schedule_routes(httplib::Server& http, const route_context& ctx);

/// Asks an actor and waits for its answer: the JSON it replies with, parsed, or the refusal
/// as a status.
template <class... Ts>
checked<nlohmann::json> ask_actor(const route_context& ctx, const caf::actor& dest, Ts&&... xs) {
  caf::scoped_actor self{*ctx.system};
  checked<nlohmann::json> out = unexpected(http_error{500, "internal", "no answer"});
  if (!dest) return unexpected(http_error{404, "not_found", "not offered by this OMA"});
  self->request(dest, defaults::api::request_timeout, std::forward<Ts>(xs)...)
      .receive(
          [&](const std::string& text) {
            auto j = nlohmann::json::parse(text, nullptr, false);
            if (j.is_discarded())
              out = unexpected(http_error{500, "internal", "the OMA answered with bad JSON"});
            else
              out = std::move(j);
          },
          [&](const caf::error& e) { out = unexpected(from_actor(e)); });
  return out;
}

/// Asks the registry and waits for its answer: the value it replies with (a job_record, a
/// stop_plan, ...: the compiler holds `T` to the registry's interface), or the refusal as a
/// status.
template <class T, class... Ts>
checked<T> ask(const route_context& ctx, Ts&&... xs) {
  caf::scoped_actor self{*ctx.system};
  checked<T> out = unexpected(http_error{500, "internal", "no answer"});
  if (!ctx.deps.registry)
    return unexpected(http_error{404, "not_found", "not offered by this OMA"});
  self->request(ctx.deps.registry, defaults::api::request_timeout, std::forward<Ts>(xs)...)
      .receive([&](T& value) { out = std::move(value); },
               [&](const caf::error& e) { out = unexpected(from_actor(e)); });
  return out;
}

}  // namespace mk::api
