#include "api/http_json.hpp"

#include <caf/sec.hpp>
#include <set>
#include <vector>

#include "actors/errors.hpp"
#include "config/defaults.hpp"
#include "messages/subjects.hpp"
#include "messages/text.hpp"

namespace mk::api {

using nlohmann::json;

http_error bad_request(std::string message) { return {400, "invalid", std::move(message)}; }

http_error too_large() {
  return {413, "too_large",
          "the body is over " + std::to_string(defaults::api::max_body) + " bytes"};
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  // A message may quote a client's text cut to a length, possibly inside a UTF-8 sequence:
  // that is replaced (U+FFFD), where dump() would throw and turn a 400 into a 500.
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, const http_error& e) {
  send_json(res, e.status, {{"error", {{"code", e.code}, {"message", e.message}}}});
}

http_error from_actor(const caf::error& e) {
  using actors::errc;
  if (e == caf::sec::request_timeout)
    return {503, "unavailable", "the OMA did not answer in time; try again"};
  const auto code = actors::code_of(e);
  static constexpr std::pair<errc, int> statuses[] = {{errc::invalid, 400},
                                                      {errc::not_found, 404},
                                                      {errc::conflict, 409},
                                                      {errc::unavailable, 503},
                                                      {errc::internal, 500}};
  int status = 500;
  for (const auto& [c, s] : statuses)
    if (c == code) status = s;
  return {status, std::string(actors::to_string(code)), actors::message_of(e)};
}

namespace {

/// The deepest nesting of arrays and objects in `text`, counted outside strings: checked
/// before parsing, so that no hostile body costs more than a scan.
std::size_t nesting(std::string_view text) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '[' || c == '{')
      deepest = std::max(deepest, ++depth);
    else if ((c == ']' || c == '}') && depth > 0)
      --depth;
  }
  return deepest;
}

bool is_json(const std::string& content_type) {
  const auto semi = content_type.find(';');
  auto type = content_type.substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.pop_back();
  for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type == "application/json";
}

http_error not_json() {
  return {415, "unsupported_media_type", "Content-Type: application/json expected"};
}

}  // namespace

std::optional<http_error> foreign_body(const httplib::Request& req) {
  const auto length = req.get_header_value("Content-Length");
  const bool body = (!length.empty() && length != "0") || req.has_header("Transfer-Encoding");
  if (body && req.has_header("Content-Type") && !is_json(req.get_header_value("Content-Type")))
    return not_json();
  return std::nullopt;
}

checked<json> read_body(const httplib::Request& req, bool optional) {
  if (req.body.empty()) {
    if (optional) return json::object();
    return unexpected(bad_request("body: a JSON object expected"));
  }
  if (!is_json(req.get_header_value("Content-Type"))) return unexpected(not_json());
  if (nesting(req.body) > defaults::api::max_depth)
    return unexpected(bad_request("body: nested deeper than " +
                                  std::to_string(defaults::api::max_depth) + " levels"));
  // A key given twice in one object is refused rather than read as its last value, so that
  // no other reader of the same body (a proxy, a log) can take it to mean something else.
  std::vector<std::set<std::string>> keys;  // of each object open at this point of the text
  std::string twice;
  json body = json::parse(
      req.body,
      [&keys, &twice](int, json::parse_event_t event, json& parsed) {
        if (event == json::parse_event_t::object_start)
          keys.emplace_back();
        else if (event == json::parse_event_t::object_end)
          keys.pop_back();
        else if (event == json::parse_event_t::key &&
                 !keys.back().insert(parsed.get<std::string>()).second && twice.empty())
          twice = parsed.get<std::string>();
        return true;
      },
      false);
  if (body.is_discarded()) return unexpected(bad_request("body: not valid JSON"));
  if (!twice.empty())
    return unexpected(bad_request(twice.substr(0, 64) + ": given twice in one object"));
  if (!body.is_object()) return unexpected(bad_request("body: a JSON object expected"));
  return body;
}

std::optional<http_error> unknown_fields(const json& body,
                                         std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : body.items()) {
    bool ok = false;
    for (auto k : known) ok = ok || key == k;
    if (!ok) return bad_request("unknown field '" + key.substr(0, 64) + "'");
  }
  return std::nullopt;
}

checked<std::optional<std::string>> string_field(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<std::string>{};
  if (!it->is_string()) return unexpected(bad_request(std::string(key) + ": a string expected"));
  return std::optional<std::string>{it->get<std::string>()};
}

namespace {

template <msg::wire_enum E>
checked<std::optional<E>> enum_field(const json& body, const char* key) {
  auto text = string_field(body, key);
  if (!text) return unexpected(text.error());
  if (!*text) return std::optional<E>{};
  auto e = msg::parse_enum<E>(**text);
  if (!e) {
    std::string names;
    for (auto n : msg::enum_names<E>::names) names += (names.empty() ? "" : ", ") + std::string(n);
    return unexpected(bad_request(std::string(key) + ": one of " + names + " expected"));
  }
  return std::optional<E>{*e};
}

}  // namespace

checked<msg::stop_request> stop_options(const json& body, msg::stop_reason default_reason,
                                        std::initializer_list<std::string_view> extra) {
  for (const auto& [key, value] : body.items()) {
    bool ok = false;
    for (auto k : {"mode", "volumes", "reason", "comment", "grace_seconds"}) ok = ok || key == k;
    for (auto k : extra) ok = ok || key == k;
    if (!ok) return unexpected(bad_request("unknown field '" + key.substr(0, 64) + "'"));
  }
  msg::stop_request r;
  r.reason = default_reason;
  auto mode = enum_field<msg::stop_mode>(body, "mode");
  if (!mode) return unexpected(mode.error());
  r.mode = mode->value_or(msg::stop_mode::graceful);
  auto volumes = enum_field<msg::volume_action>(body, "volumes");
  if (!volumes) return unexpected(volumes.error());
  r.volumes = volumes->value_or(msg::volume_action::keep);
  auto reason = enum_field<msg::stop_reason>(body, "reason");
  if (!reason) return unexpected(reason.error());
  r.reason = reason->value_or(default_reason);
  auto comment = string_field(body, "comment");
  if (!comment) return unexpected(comment.error());
  if (*comment) {
    if ((*comment)->size() > defaults::jobs::max_comment || !msg::printable(**comment))
      return unexpected(bad_request("comment: at most " +
                                    std::to_string(defaults::jobs::max_comment) +
                                    " printable characters expected"));
    r.comment = **comment;
  }
  if (auto g = body.find("grace_seconds"); g != body.end() && !g->is_null()) {
    if (!g->is_number_integer() || g->get<std::int64_t>() < 1 ||
        g->get<std::int64_t>() > defaults::jobs::max_grace_seconds)
      return unexpected(bad_request("grace_seconds: an integer from 1 to " +
                                    std::to_string(defaults::jobs::max_grace_seconds) +
                                    " expected"));
    r.grace_seconds = static_cast<std::uint32_t>(g->get<std::int64_t>());
  }
  return r;
}

std::optional<http_error> check_id(const std::string& id) {
  if (msg::valid_id(id)) return std::nullopt;
  return bad_request("id: ^[a-z0-9][a-z0-9-]{0,62}$ expected");
}

}  // namespace mk::api
