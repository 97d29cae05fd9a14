#include "client/api_client.hpp"

#include <fmt/format.h>
#include <httplib.h>

#include <exception>

#include "client/render.hpp"
#include "config/defaults.hpp"

namespace mk::client {

using nlohmann::json;

namespace {

constexpr std::string_view base = "/api/v1";

void setup(httplib::Client& cli, const api_endpoint& ep, std::chrono::milliseconds read_timeout) {
  cli.set_bearer_token_auth(ep.token);
  cli.set_connection_timeout(defaults::ctl::connect_timeout);
  cli.set_read_timeout(read_timeout);
  // A request's head and body go out in two writes: without this the body waited for the
  // server's delayed ACK (up to 40 ms) behind Nagle's algorithm.
  cli.set_tcp_nodelay(true);
}

std::string describe(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "could not connect";
    case httplib::Error::ConnectionTimeout:
      return "the connect timed out";
    case httplib::Error::Read:
      return "the connection broke, or no answer came in time";
    case httplib::Error::Write:
      return "the request could not be sent";
    default:
      return httplib::to_string(e);
  }
}

ctl_error no_answer(const api_endpoint& ep, httplib::Error e) {
  auto message = "cannot reach the API at " + ep.url + ": " + describe(e);
  if (!ep.found.empty()) message += " (found in " + ep.found + "; is `migratekit up` running?)";
  return {ctl_errc::unreachable, message};
}

/// The API's error object, {"error":{"code","message"}}, or what else came with the status.
ctl_error refusal(int status, const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  std::string text;
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const auto& e = j["error"];
    text = field_text(e, "code") + ": " + field_text(e, "message");
  } else {
    text = body.substr(0, 200);
    text.erase(text.find_last_not_of(" \r\n\t") + 1);
  }
  auto message = fmt::format("HTTP {}{}{}", status, text.empty() ? "" : " ", text);
  if (status == 401) message += " (check --token or MIGRATEKIT_TOKEN)";
  return {status == 404 ? ctl_errc::not_found : ctl_errc::refused, message};
}

ctl_result<api_reply> answer(const api_endpoint& ep, const httplib::Result& r) {
  if (!r) return unexpected(no_answer(ep, r.error()));
  if (r->status < 200 || r->status >= 300) return unexpected(refusal(r->status, r->body));
  api_reply reply{r->status, r->body, nullptr};
  if (!r->body.empty()) {
    reply.json = json::parse(r->body, nullptr, false);
    if (reply.json.is_discarded())
      return fail(ctl_errc::refused, fmt::format("HTTP {}, but the answer is not JSON: {}",
                                                 r->status, r->body.substr(0, 200)));
  }
  return reply;
}

/// One request on a connection of its own. Whatever the library throws stops here.
template <class Request>
ctl_result<api_reply> call(const api_endpoint& ep, Request&& request) {
  try {
    httplib::Client cli(ep.url);
    setup(cli, ep, defaults::ctl::request_timeout);
    return answer(ep, request(cli));
  } catch (const std::exception& e) {
    return fail(ctl_errc::unreachable, "calling the API at " + ep.url + ": " + e.what());
  }
}

const httplib::Headers json_headers = {{"Accept", "application/json"}};

}  // namespace

ctl_result<api_reply> api_client::get(const std::string& path, const api_query& query) const {
  return call(endpoint_, [&](httplib::Client& cli) {
    return cli.Get(std::string(base) + path, httplib::Params(query.begin(), query.end()),
                   json_headers);
  });
}

ctl_result<api_reply> api_client::post(const std::string& path, const json& body) const {
  return call(endpoint_, [&](httplib::Client& cli) {
    return cli.Post(std::string(base) + path, json_headers, body.dump(), "application/json");
  });
}

ctl_result<api_reply> api_client::put(const std::string& path, const json& body) const {
  return call(endpoint_, [&](httplib::Client& cli) {
    return cli.Put(std::string(base) + path, json_headers, body.dump(), "application/json");
  });
}

ctl_result<api_reply> api_client::del(const std::string& path) const {
  return call(endpoint_, [&](httplib::Client& cli) {
    return cli.Delete(std::string(base) + path, json_headers);
  });
}

ctl_result<void> api_client::stream(const std::string& path, const std::string& last_event_id,
                                    std::chrono::milliseconds idle,
                                    const stream_handlers& handlers) const {
  try {
    httplib::Client cli(endpoint_.url);
    setup(cli, endpoint_, idle);
    httplib::Headers headers = {{"Accept", "text/event-stream"}};
    if (!last_event_id.empty()) headers.emplace("Last-Event-ID", last_event_id);
    int status = 0;
    bool ended_here = false;
    std::string refused_body;
    auto r = cli.Get(
        std::string(base) + path, headers,
        [&](const httplib::Response& res) {
          status = res.status;
          if (status != 200) return true;  // read on: the body says why
          ended_here = !handlers.opened();
          return !ended_here;
        },
        [&](const char* data, std::size_t size) {
          if (status != 200) {
            refused_body.append(data, std::min<std::size_t>(size, 4096));
            return refused_body.size() < 4096;
          }
          ended_here = !handlers.received(std::string_view(data, size));
          return !ended_here;
        });
    if (ended_here) return {};
    if (status != 0 && status != 200) return unexpected(refusal(status, refused_body));
    if (!r) return unexpected(no_answer(endpoint_, r.error()));
    return fail(ctl_errc::unreachable, "the API ended the event stream");
  } catch (const std::exception& e) {
    return fail(ctl_errc::unreachable, "event stream of " + endpoint_.url + ": " + e.what());
  }
}

}  // namespace mk::client
