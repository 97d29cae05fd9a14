// The operator's page: `/` is index.html, and /ui/NAME the other files of api/ui/, all built
// into the binary. They need no token: the page asks for it, and every call it makes carries it.
#include <algorithm>
#include <string>

#include "api/routes.hpp"
#include "api/ui_files.hpp"

namespace mk::api {

namespace {

std::string content_type(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

void serve(std::string_view name, httplib::Response& res) {
  const auto& files = ui_files();
  auto it =
      std::find_if(files.begin(), files.end(), [name](const ui_file& f) { return f.name == name; });
  if (it == files.end())
    return send_error(
        res, {404, "not_found", "no such file of the page: " + std::string(name.substr(0, 64))});
  // The page loads nothing from elsewhere and runs no inline script; the token that its URL may
  // carry must not leave in a Referer header.
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                 "form-action 'none'; frame-ancestors 'none'");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Cache-Control", "no-cache");
  res.set_content(std::string(it->bytes), content_type(name));
}

}  // namespace

void add_ui_routes(httplib::Server& http) {
  http.Get("/", [](const httplib::Request&, httplib::Response& res) { serve("index.html", res); });
  http.Get(R"(/ui/([a-z0-9_-]{1,64}\.(?:html|js|css|svg)))",
           [](const httplib::Request& req, httplib::Response& res) {
             serve(req.matches[1].str(), res);
           });
}

}  // namespace mk::api
