#include "bus/nats_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "bus/subjects.hpp"
#include "sys/atomic_file.hpp"
#include "sys/ports.hpp"
#include "sys/unique_fd.hpp"

namespace mk::bus {

namespace fs = std::filesystem;

namespace {

using namespace std::chrono_literals;

// -- files ---------------------------------------------------------------------------------

// Written to a temporary name and renamed: a reader never sees half a file.
result<> write_private_file(const fs::path& path, const std::string& text) {
  if (auto w = sys::write_file_atomically(path, text, 0600); !w)
    return fail(errc::io, w.error().message);
  return {};
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The end of the server's log since `offset`: why it did not start.
std::string log_since(const fs::path& log, std::uintmax_t offset) {
  auto text = read_text(log);
  text.erase(0, std::min<std::size_t>(offset, text.size()));
  constexpr std::size_t keep = 2048;
  if (text.size() > keep) text.erase(0, text.size() - keep);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

// -- credentials and ports -----------------------------------------------------------------

// A TCP port in decimal, 1 to 65535; anything else is nothing.
std::optional<std::uint16_t> parse_port(const std::string& text) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  const auto port = std::stoul(text);
  if (port == 0 || port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(port);
}

// SCHEME://HOST:PORT, as DATA/nats/urls says, for this host; its port, or nothing.
std::optional<std::uint16_t> parse_own_url(std::string text, const std::string& host) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  for (const char* scheme : {"nats://", "tls://"}) {
    const std::string head = scheme + host + ":";
    if (text.starts_with(head)) return parse_port(text.substr(head.size()));
  }
  return std::nullopt;
}

// Whether a NATS server answers on the port: it greets every client with an INFO line, in
// clear also when TLS follows.
bool greets(in_addr host, std::uint16_t port) {
  const sys::unique_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr = host;
  addr.sin_port = htons(port);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
  const timeval limit{0, 200'000};
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  char head[5];
  std::size_t got = 0;
  while (got < sizeof head) {
    const auto n = ::recv(s.get(), head + got, sizeof head - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  return std::string_view(head, sizeof head) == "INFO ";
}

// -- options -------------------------------------------------------------------------------

result<fs::path> find_executable(const fs::path& given) {
  if (!given.empty()) {
    if (::access(given.c_str(), X_OK) == 0) return given;
    return fail(errc::not_found, "nats-server " + given.string() + ": " + errno_text(errno));
  }
  std::string dirs = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  dirs += ":/usr/sbin:/usr/local/sbin";
  std::istringstream in(dirs);
  for (std::string dir; std::getline(in, dir, ':');) {
    if (dir.empty()) continue;
    const auto candidate = fs::path(dir) / "nats-server";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return fail(errc::not_found,
              "nats-server not found on PATH nor in /usr/sbin (Debian package nats-server)");
}

result<> check(const nats_server_options& o) {
  if (o.data_dir.empty()) return fail(errc::invalid, "nats-server: no data folder");
  for (const char c : fs::absolute(o.data_dir).string()) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < ' ') {
      return fail(errc::invalid, "nats-server: the data folder's path " + o.data_dir.string() +
                                     " has a quote, backslash or control character");
    }
  }
  if (o.trust.operator_jwt.empty() || o.trust.system_account.empty())
    return fail(errc::invalid, "nats-server: no operator to trust");
  const auto plain = [](const std::string& text) {
    return !text.empty() && std::none_of(text.begin(), text.end(), [](char c) {
      return c == '"' || c == '\\' || c == ' ' || static_cast<unsigned char>(c) < ' ';
    });
  };
  if (!plain(o.host)) return fail(errc::invalid, "nats-server: bad host \"" + o.host + "\"");
  if (o.tls_cert.empty() != o.tls_key.empty() ||
      (!o.tls_cert.empty() && (!plain(o.tls_cert.string()) || !plain(o.tls_key.string()))))
    return fail(errc::invalid, "nats-server: TLS needs a certificate and a key, at plain paths");
  return {};
}

result<> make_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(errc::io, "create " + dir.string() + ": " + ec.message());
  // Also when it existed: it holds the bus's state and trust.
  if (::chmod(dir.c_str(), 0700) != 0) {
    return fail(errc::io, "chmod " + dir.string() + ": " + errno_text(errno));
  }
  return {};
}

}  // namespace

// -- nats_server ---------------------------------------------------------------------------

result<std::unique_ptr<nats_server>> nats_server::start(const nats_server_options& o) {
  if (auto ok = check(o); !ok) return std::unexpected(std::move(ok.error()));
  auto exe = find_executable(o.executable);
  if (!exe) return std::unexpected(std::move(exe.error()));

  std::unique_ptr<nats_server> server(new nats_server());
  server->dir_ = fs::absolute(o.data_dir) / "nats";
  server->stop_timeout_ = o.stop_timeout;
  const auto& dir = server->dir_;
  if (auto ok = make_private_dir(dir); !ok) return std::unexpected(std::move(ok.error()));

  server_config cfg;
  cfg.store_dir = dir;  // nats-server adds "jetstream"
  cfg.trust = o.trust;
  cfg.operator_jwt_file = dir / "operator.jwt";
  cfg.resolver_dir = dir / "resolver";
  if (auto ok = make_private_dir(cfg.resolver_dir); !ok)
    return std::unexpected(std::move(ok.error()));
  if (auto ok = write_private_file(cfg.operator_jwt_file, o.trust.operator_jwt + "\n"); !ok)
    return std::unexpected(std::move(ok.error()));
  cfg.host = o.host;
  cfg.tls_cert = o.tls_cert;
  cfg.tls_key = o.tls_key;
  cfg.server_name = o.server_name;
  cfg.cluster = o.cluster;
  server->host_ = o.host;
  server->tls_ = !o.tls_cert.empty();
  const auto address = sys::ipv4_of(o.host);
  if (!address) return fail(errc::invalid, "nats-server: no IPv4 address for " + o.host);
  const auto where = [&](std::uint16_t port) { return o.host + ":" + std::to_string(port); };
  std::uint16_t previous_port = 0;
  if (auto old = parse_own_url(read_text(dir / "urls"), o.host)) previous_port = *old;

  // Agents on other hosts (an advertised, TLS bus) know the server by the port of their join
  // files: after a restart it is waited for, as the previous server may still be ending.
  if (previous_port != 0 && o.port == 0 && server->tls_) {
    const auto until = std::chrono::steady_clock::now() + defaults::bus::previous_port_wait;
    while (sys::free_tcp_port(*address, previous_port) != previous_port &&
           std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(100ms);
    if (sys::free_tcp_port(*address, previous_port) != previous_port)
      spdlog::warn(
          "nats-server: {} is still taken; another port is used, and agents that joined "
          "before need a new join file (ctl agent rm, then add)",
          where(previous_port));
  }

  const auto conf = dir / "server.conf";
  const auto log = dir / "server.log";
  for (int attempt = 1;; ++attempt) {
    cfg.port = o.port;
    // Another server on a given port would answer the readiness check in our server's place.
    if (cfg.port != 0 && sys::free_tcp_port(*address, cfg.port) != cfg.port)
      return fail(errc::io, "nats-server: " + where(cfg.port) + " is taken");
    if (cfg.port == 0) cfg.port = sys::free_tcp_port(*address, attempt == 1 ? previous_port : 0);
    if (cfg.port == 0) return fail(errc::io, "nats-server: no free port on " + o.host);
    if (auto ok = write_private_file(conf, render(cfg)); !ok) {
      return std::unexpected(std::move(ok.error()));
    }
    std::error_code ec;
    const auto log_offset = fs::exists(log, ec) ? fs::file_size(log, ec) : 0;
    // A session of its own: a terminal's Ctrl-C is for `up`, which still needs the bus to
    // stop its jobs; the server ends when `up` stops it (or dies: the death signal).
    auto child = sys::child_process::spawn({exe->string(), "-c", conf.string()}, log,
                                           {.death_signal = SIGTERM, .new_session = true});
    if (!child) return fail(errc::io, child.error().message);
    server->child_ = std::move(*child);
    server->port_ = cfg.port;

    bool ready = false;
    const auto deadline = std::chrono::steady_clock::now() + o.ready_timeout;
    while (!ready && server->child_->running() && std::chrono::steady_clock::now() < deadline) {
      ready = greets(*address, cfg.port);
      if (!ready) std::this_thread::sleep_for(10ms);
    }
    if (ready) break;

    const bool exited = !server->child_->running();
    server->stop();
    const auto why = log_since(log, log_offset);
    // Someone took the port between the probe and the server's bind: try another.
    if (exited && o.port == 0 && attempt < 3 && why.find("address already in use") != why.npos) {
      continue;
    }
    return fail(exited ? errc::io : errc::timeout,
                "nats-server on " + where(cfg.port) +
                    (exited ? " exited at start" : " not ready in time") + ": " + why);
  }

  if (auto ok = write_private_file(dir / "urls", server->url() + "\n"); !ok)
    return std::unexpected(std::move(ok.error()));
  spdlog::info("nats-server {} ready on {}{} (data in {})", server->pid(), where(server->port_),
               server->tls_ ? ", TLS required" : "", dir.string());
  return server;
}

nats_server::~nats_server() { stop(); }

void nats_server::stop() {
  if (!child_) return;
  const auto pid = child_->pid();
  if (!child_->running()) {
    spdlog::warn("nats-server {} had ended: {}", pid,
                 sys::describe_wait_status(*child_->wait_for(std::chrono::milliseconds::max())));
    child_.reset();
    return;
  }
  child_->signal(SIGTERM);
  auto status = child_->wait_for(stop_timeout_);
  if (!status) {
    spdlog::warn("nats-server {} still runs {} ms after SIGTERM: killing it", pid,
                 stop_timeout_.count());
    child_->signal(SIGKILL);
    status = child_->wait_for(std::chrono::milliseconds::max());
  }
  // nats-server exits with status 1 after a clean shutdown on SIGTERM.
  if (WIFEXITED(*status) && WEXITSTATUS(*status) <= 1) {
    spdlog::info("nats-server {} stopped", pid);
  } else {
    spdlog::warn("nats-server {} stopped: {}", pid, sys::describe_wait_status(*status));
  }
  child_.reset();
}

std::string nats_server::url() const {
  return (tls_ ? "tls://" : "nats://") + host_ + ":" + std::to_string(port_);
}

pid_t nats_server::pid() const { return child_ ? child_->pid() : -1; }

bool nats_server::running() const { return child_ && child_->running(); }

result<std::vector<std::string>> read_urls(const fs::path& data_dir) {
  const auto path = data_dir / "nats" / "urls";
  std::istringstream in(read_text(path));
  std::vector<std::string> urls;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) urls.push_back(line);
  }
  if (urls.empty()) return fail(errc::not_found, "no server URL in " + path.string());
  return urls;
}

}  // namespace mk::bus
