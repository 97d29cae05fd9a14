#include "api/body_routes.hpp"

#include "api/http_json.hpp"
#include "config/defaults.hpp"

namespace mk::api {

namespace {

/// Whether the request says how its body is framed; without either header it has none.
bool framed(const httplib::Request& req) {
  return req.has_header("Content-Length") || req.has_header("Transfer-Encoding");
}

httplib::Server::HandlerWithContentReader reading_first(httplib::Server::Handler handler) {
  return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res,
                                        const httplib::ContentReader& reader) {
    httplib::Request full = req;
    bool over_limit = false;
    // cpp-httplib limits a body with a Content-Length (413) but not a chunked one: the limit
    // is kept here for both.
    if (framed(req) && !reader([&](const char* data, std::size_t size) {
          over_limit = full.body.size() + size > defaults::api::max_body;
          if (!over_limit) full.body.append(data, size);
          return !over_limit;
        })) {
      // What is left of such a body cannot be told from the next request: the connection ends.
      res.set_header("Connection", "close");
      if (over_limit || res.status == 413) return send_error(res, too_large());
      return send_error(res, bad_request("body: could not be read"));
    }
    handler(full, res);
  };
}

}  // namespace

void add_body_route(httplib::Server& http, body_method method, const std::string& pattern,
                    httplib::Server::Handler handler) {
  auto route = reading_first(std::move(handler));
  switch (method) {
    case body_method::post:
      http.Post(pattern, std::move(route));
      break;
    case body_method::put:
      http.Put(pattern, std::move(route));
      break;
    case body_method::del:
      http.Delete(pattern, std::move(route));
      break;
  }
}

void add_unrouted_bodies(httplib::Server& http) {
  for (auto method : {body_method::post, body_method::put, body_method::del})
    add_body_route(http, method, ".*", [](const httplib::Request&, httplib::Response& res) {
      send_error(res, {404, "not_found", "no such path"});
    });
}

}  // namespace mk::api
