// The API's listener: cpp-httplib on its own threads, the bearer token checked before any
// route, bodies limited, every refusal in docs/api.md's error body.
#include "api/server.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <thread>

#include "api/routes.hpp"
#include "sys/atomic_file.hpp"

namespace mk::api {

namespace {

/// Compares without stopping at the first difference, so that timing tells nothing of it.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0 && !b.empty();
}

bool needs_token(const std::string& path) {
  if (path == "/api/v1/healthz") return false;
  return path.starts_with("/api/") || path == "/metrics";
}

bool authorised(const httplib::Request& req, const std::string& token) {
  const auto header = req.get_header_value("Authorization");
  if (header.starts_with("Bearer ") && same_secret(header.substr(7), token)) return true;
  // A browser's EventSource cannot set a header: the events stream also takes the token as a
  // query parameter (only that stream: elsewhere it would end up in logs and histories).
  return req.path == "/api/v1/events" && req.has_param("access_token") &&
         same_secret(req.get_param_value("access_token"), token);
}

/// The body of a refusal that cpp-httplib made itself (no route, a body over the limit).
http_error generic(int status) {
  switch (status) {
    case 400:
      return {400, "invalid", "the HTTP request could not be read"};
    case 404:
      return {404, "not_found", "no such path"};
    case 405:
      return {405, "invalid", "method not allowed here"};
    case 413:
      return too_large();
    case 415:
      return {415, "unsupported_media_type", "Content-Type: application/json expected"};
    default:
      return {status, status >= 500 ? "internal" : "invalid",
              "the request failed with status " + std::to_string(status)};
  }
}

expected<std::pair<std::string, int>, std::string> parse_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return unexpected("listen: HOST:PORT expected, got '" + listen + "'");
  const auto host = listen.substr(0, colon), port_text = listen.substr(colon + 1);
  int port = -1;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || p != port_text.data() + port_text.size() || port < 0 || port > 65535)
    return unexpected("listen: a port from 0 to 65535 expected, got '" + port_text + "'");
  return std::pair{host, port};
}

}  // namespace

struct server::impl {
  httplib::Server http;
  route_context ctx;
  std::string host;
  int port = 0;
  std::thread thread;
  bool stopped = false;
};

server::server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

server::~server() { stop(); }

expected<std::unique_ptr<server>, std::string> server::start(caf::actor_system& system,
                                                             server_options options,
                                                             server_deps deps) {
  auto where = parse_listen(options.listen);
  if (!where) return unexpected(where.error());
  if (options.token.empty()) return unexpected(std::string("the API needs a token"));
  auto p = std::make_unique<impl>();
  p->ctx.system = &system;
  p->ctx.deps = std::move(deps);
  auto& http = p->http;
  http.new_task_queue = [] { return new httplib::ThreadPool(defaults::api::threads); };
  http.set_payload_max_length(defaults::api::max_body);
  // cpp-httplib writes a response's head and its body (and each event of a stream) apart: with
  // Nagle's algorithm on, the second write waited for the client's delayed ACK, up to 40 ms.
  http.set_tcp_nodelay(true);
  http.set_pre_routing_handler(
      [token = options.token](const httplib::Request& req, httplib::Response& res) {
        if (!needs_token(req.path) || authorised(req, token)) {
          if (auto e = foreign_body(req)) {
            send_error(res, *e);
            return httplib::Server::HandlerResponse::Handled;
          }
          return httplib::Server::HandlerResponse::Unhandled;
        }
        res.set_header("WWW-Authenticate", "Bearer");
        send_error(res, {401, "unauthorized",
                         req.has_header("Authorization") ? "the token is wrong"
                                                         : "Authorization: Bearer TOKEN expected"});
        return httplib::Server::HandlerResponse::Handled;
      });
  http.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (res.body.empty()) send_error(res, generic(res.status));
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("api: {} {}: {}", req.method, req.path, what);
        send_error(res, {500, "internal", "the request failed inside the OMA: " + what});
      });
  add_replication_routes(http, p->ctx);
  add_event_routes(http, p->ctx);
  add_maintenance_routes(http, p->ctx);
  add_schedule_routes(http, p->ctx);
  add_analytics_routes(http, p->ctx);
  add_agent_routes(http, p->ctx);
  add_ui_routes(http);
  add_unrouted_bodies(http);

  const auto& [host, port] = *where;
  p->host = host;
  p->port = port == 0 ? http.bind_to_any_port(host) : (http.bind_to_port(host, port) ? port : -1);
  if (p->port <= 0)
    return unexpected("listen: cannot bind " + options.listen + ": " + std::strerror(errno));
  p->thread = std::thread([&http] { http.listen_after_bind(); });
  spdlog::info("api: listening on http://{}:{}", host, p->port);
  return std::unique_ptr<server>(new server(std::move(p)));
}

std::string server::url() const {
  const auto& h = impl_->host;
  const bool v6 = h.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + h + "]" : h) + ":" + std::to_string(impl_->port);
}

void server::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  // The event streams end first: each holds a pool thread that stop() would wait for.
  impl_->ctx.deps.feed->events().close();
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

namespace {

expected<void, std::string> write_private(const std::filesystem::path& file,
                                          const std::string& text, bool exclusive) {
  if (auto w = sys::write_file_atomically(file, text, 0600,
                                          exclusive ? sys::existing::keep : sys::existing::replace);
      !w)
    return unexpected(w.error().message);
  return {};
}

}  // namespace

expected<std::string, std::string> load_or_create_token(const std::filesystem::path& data_dir) {
  const auto file = data_dir / "api-token";
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (std::filesystem::exists(file, ec)) {
    std::ifstream in(file);
    std::string token;
    std::getline(in, token);
    if (token.size() < 32)
      return unexpected(file.string() + ": a token of at least 32 characters expected");
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      spdlog::warn("{}: readable by others; made private (0600)", file.string());
      ::chmod(file.c_str(), 0600);
    }
    return token;
  }
  unsigned char bytes[32];
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes))
    return unexpected(std::string("getrandom: ") + std::strerror(errno));
  std::string token;
  for (unsigned char b : bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    token += hex[b >> 4];
    token += hex[b & 15];
  }
  if (auto w = write_private(file, token + "\n", true); !w) return unexpected(w.error());
  spdlog::info("api: a new token in {}", file.string());
  return token;
}

expected<void, std::string> write_api_url(const std::filesystem::path& data_dir,
                                          const std::string& url) {
  return write_private(data_dir / "api-url", url + "\n", false);
}

}  // namespace mk::api
