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
#include "sys/unique_fd.hpp"

namespace mk::bus {

namespace fs = std::filesystem;

namespace {

using namespace std::chrono_literals;

// -- files ---------------------------------------------------------------------------------

// Written to a temporary name and renamed: a reader never sees half a password.
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

bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

result<std::string> random_password() {
  static constexpr std::string_view symbols =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string password;
  while (password.size() < defaults::bus::password_length) {
    unsigned char bytes[64];
    const auto n = ::getrandom(bytes, sizeof bytes, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errc::io, "getrandom: " + errno_text(errno));
    for (ssize_t i = 0; i < n && password.size() < defaults::bus::password_length; ++i) {
      // 248 = 4 x 62: rejecting the rest keeps every symbol equally likely.
      if (bytes[i] < 248) password += symbols[bytes[i] % symbols.size()];
    }
  }
  return password;
}

struct url_parts {
  std::string password;
  std::uint16_t port = 0;
};

// A TCP port in decimal, 1 to 65535; anything else is nothing.
std::optional<std::uint16_t> parse_port(const std::string& text) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  const auto port = std::stoul(text);
  if (port == 0 || port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(port);
}

// nats://ROLE:PASSWORD@127.0.0.1:PORT, as this file writes it; anything else is nothing.
std::optional<url_parts> parse_url(std::string text, role r) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const std::string head = std::string("nats://") + to_string(r) + ":";
  const std::string host = "@127.0.0.1:";
  const auto at = text.find(host);
  if (!text.starts_with(head) || at == std::string::npos) return std::nullopt;
  url_parts parts;
  parts.password = text.substr(head.size(), at - head.size());
  if (parts.password.size() < 16 ||
      !std::all_of(parts.password.begin(), parts.password.end(), alnum)) {
    return std::nullopt;
  }
  auto port = parse_port(text.substr(at + host.size()));
  if (!port) return std::nullopt;
  parts.port = *port;
  return parts;
}

// nats://127.0.0.1:PORT, as DATA/nats/urls says in operator mode; its port, or nothing.
std::optional<std::uint16_t> parse_plain_url(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const std::string head = "nats://127.0.0.1:";
  if (!text.starts_with(head)) return std::nullopt;
  return parse_port(text.substr(head.size()));
}

// Binds 127.0.0.1:port (0: any) as the server will, with SO_REUSEADDR; the port bound, or 0.
std::uint16_t probe_port(std::uint16_t port) {
  const sys::unique_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return 0;
  const int one = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  socklen_t len = sizeof addr;
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return 0;
  }
  return ntohs(addr.sin_port);
}

// Whether a NATS server answers on the port: it greets every client with an INFO line.
bool greets(std::uint16_t port) {
  const sys::unique_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
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
  if (!valid_prefix(o.prefix)) {
    return fail(errc::invalid, "nats-server: bad subject prefix \"" + o.prefix + "\"");
  }
  for (const auto& agent : o.vma_agents) {
    if (!valid_id(agent)) return fail(errc::invalid, "nats-server: bad agent id \"" + agent + "\"");
  }
  return {};
}

result<> make_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(errc::io, "create " + dir.string() + ": " + ec.message());
  // Also when it existed: it holds the passwords.
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
  cfg.prefix = o.prefix;
  cfg.vma_agents = o.vma_agents;
  std::uint16_t previous_port = 0;
  if (o.trust) {
    server->operator_mode_ = true;
    cfg.trust = o.trust;
    cfg.operator_jwt_file = dir / "operator.jwt";
    cfg.resolver_dir = dir / "resolver";
    if (auto ok = make_private_dir(cfg.resolver_dir); !ok)
      return std::unexpected(std::move(ok.error()));
    if (auto ok = write_private_file(cfg.operator_jwt_file, o.trust->operator_jwt + "\n"); !ok)
      return std::unexpected(std::move(ok.error()));
    if (auto old = parse_plain_url(read_text(dir / "urls"))) previous_port = *old;
  }
  for (const auto r : all_roles) {
    if (o.trust) break;  // no passwords in operator mode
    auto& password = cfg.passwords[static_cast<std::size_t>(r)];
    if (auto old = parse_url(read_text(server->url_file(r)), r)) {
      password = old->password;
      previous_port = old->port;
    } else if (auto fresh = random_password()) {
      password = *fresh;
    } else {
      return std::unexpected(std::move(fresh.error()));
    }
  }
  server->passwords_ = cfg.passwords;

  const auto conf = dir / "server.conf";
  const auto log = dir / "server.log";
  for (int attempt = 1;; ++attempt) {
    cfg.port = o.port;
    // Another server on a given port would answer the readiness check in our server's place.
    if (cfg.port != 0 && probe_port(cfg.port) == 0) {
      return fail(errc::io, "nats-server: 127.0.0.1:" + std::to_string(cfg.port) + " is taken");
    }
    if (cfg.port == 0 && attempt == 1 && previous_port != 0) cfg.port = probe_port(previous_port);
    if (cfg.port == 0) cfg.port = probe_port(0);
    if (cfg.port == 0) return fail(errc::io, "nats-server: no free port on 127.0.0.1");
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
      ready = greets(cfg.port);
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
                "nats-server on 127.0.0.1:" + std::to_string(cfg.port) +
                    (exited ? " exited at start" : " not ready in time") + ": " + why);
  }

  if (o.trust) {
    if (auto ok = write_private_file(dir / "urls", server->url() + "\n"); !ok)
      return std::unexpected(std::move(ok.error()));
  }
  for (const auto r : all_roles) {
    if (o.trust) break;
    if (auto ok = write_private_file(server->url_file(r), server->url(r) + "\n"); !ok) {
      return std::unexpected(std::move(ok.error()));
    }
  }
  spdlog::info("nats-server {} ready on 127.0.0.1:{} (data in {})", server->pid(), server->port_,
               dir.string());
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

std::string nats_server::url(role r) const {
  return std::string("nats://") + to_string(r) + ":" + passwords_[static_cast<std::size_t>(r)] +
         "@127.0.0.1:" + std::to_string(port_);
}

std::string nats_server::url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

fs::path nats_server::url_file(role r) const { return dir_ / (std::string(to_string(r)) + ".url"); }

pid_t nats_server::pid() const { return child_ ? child_->pid() : -1; }

bool nats_server::running() const { return child_ && child_->running(); }

result<std::string> read_url(const fs::path& data_dir, role r) {
  const auto path = data_dir / "nats" / (std::string(to_string(r)) + ".url");
  auto text = read_text(path);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) return fail(errc::not_found, "no server URL in " + path.string());
  return text;
}

}  // namespace mk::bus
