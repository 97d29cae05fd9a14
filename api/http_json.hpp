#pragma once

#include <httplib.h>

#include <caf/error.hpp>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "config/expected.hpp"
#include "messages/catalogue.hpp"

namespace mk::api {

/// A refusal as the API answers it: a status and docs/api.md's error body.
struct http_error {
  int status = 400;
  std::string code;
  std::string message;
};

http_error bad_request(std::string message);
/// 413: a body over `defaults::api::max_body`.
http_error too_large();

template <class T>
using checked = expected<T, http_error>;

void send_json(httplib::Response& res, int status, const nlohmann::json& body);
void send_error(httplib::Response& res, const http_error& e);
/// An actor's error as a status: invalid 400, not_found 404, conflict 409, unavailable 503,
/// anything else (the store, a timeout) 500 or 503.
http_error from_actor(const caf::error& e);

/// 415 for a request with a body of another Content-Type than application/json: told before
/// the body is read, since cpp-httplib would parse a multipart body itself and answer a bare
/// 400 where it fails.
std::optional<http_error> foreign_body(const httplib::Request& req);

/// The request's JSON object body. An absent body is `{}` where `optional` says so; a body
/// that is not application/json is 415; one that does not parse, nests too deep or is not an
/// object is 400 with the reason.
checked<nlohmann::json> read_body(const httplib::Request& req, bool optional);

/// 400 naming the first key of `body` that is not one of `known`.
std::optional<http_error> unknown_fields(const nlohmann::json& body,
                                         std::initializer_list<std::string_view> known);

/// A string field, absent (or null) as nullopt; 400 naming it when it is not a string.
checked<std::optional<std::string>> string_field(const nlohmann::json& body, const char* key);

/// The stop options of docs/stop-protocol.md from a body (mode, volumes, reason, comment,
/// grace_seconds), each checked and named when wrong; `reason` defaults to `default_reason`.
/// `extra` lists other keys the body may carry (a batch's ids or filter).
checked<msg::stop_request> stop_options(const nlohmann::json& body, msg::stop_reason default_reason,
                                        std::initializer_list<std::string_view> extra = {});

/// 400 unless `id` is a job id (`^[a-z0-9][a-z0-9-]{0,62}$`): nothing else reaches a subject.
std::optional<http_error> check_id(const std::string& id);

}  // namespace mk::api
