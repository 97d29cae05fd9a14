#include "support/nbdkit.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include "support/files.hpp"
#include "sys/unique_fd.hpp"

namespace mk::test {

using sys::unique_fd;

namespace {

// A loopback port that was free a moment ago. Another process may take it before nbdkit
// binds it: start() then tries another.
int free_tcp_port() {
  const unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::system_error(errno, std::generic_category(), "bind 127.0.0.1:0");
  }
  return ntohs(addr.sin_port);
}

}  // namespace

nbdkit_server nbdkit_server::start(const std::filesystem::path& dir, const std::string& name,
                                   const std::vector<std::string>& filters,
                                   const std::vector<std::string>& plugin_args, listen on) {
  nbdkit_server server;
  server.pidfile_ = dir / (name + ".pid");
  if (on == listen::unix_socket) {
    server.socket_ = dir / (name + ".sock");
    server.uri_ = "nbd+unix:///?socket=" + server.socket_.string();
    server.launch(dir, name, {"-U", server.socket_.string()}, filters, plugin_args);
    return server;
  }
  for (int attempt = 1;; ++attempt) {
    const auto port = std::to_string(free_tcp_port());
    server.uri_ = "nbd://127.0.0.1:" + port + "/";
    if (server.launch(dir, name, {"-i", "127.0.0.1", "-p", port}, filters, plugin_args) ||
        attempt == 3) {
      return server;
    }
  }
}

// Returns false if nbdkit exited before it was ready and a TCP port may have been taken.
bool nbdkit_server::launch(const std::filesystem::path& dir, const std::string& name,
                           const std::vector<std::string>& listen_args,
                           const std::vector<std::string>& filters,
                           const std::vector<std::string>& plugin_args) {
  const auto errfile = dir / (name + ".err");
  if (!socket_.empty()) std::filesystem::remove(socket_);
  std::filesystem::remove(pidfile_);

  std::vector<std::string> argv = {"nbdkit", "-f", "--exit-with-parent", "-P", pidfile_.string()};
  argv.insert(argv.end(), listen_args.begin(), listen_args.end());
  for (const auto& f : filters) argv.push_back("--filter=" + f);
  argv.insert(argv.end(), plugin_args.begin(), plugin_args.end());
  proc_ = process::spawn(argv, {.stdout_path = errfile, .stderr_path = errfile});

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    std::error_code ec;
    if (std::filesystem::file_size(pidfile_, ec) > 0 && !ec) return true;
    if (!proc_.running()) {
      const auto text = read_text(errfile);
      if (socket_.empty() && text.find("Address already in use") != std::string::npos) {
        return false;
      }
      throw std::runtime_error("nbdkit " + name + " exited (" + to_string(*proc_.wait_for({})) +
                               "): " + text);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("nbdkit " + name + " not ready after 10 s: " + read_text(errfile));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

nbdkit_server::~nbdkit_server() { stop(); }

nbdkit_server::nbdkit_server(nbdkit_server&& other) noexcept
    : proc_(std::move(other.proc_)),
      uri_(std::move(other.uri_)),
      socket_(std::exchange(other.socket_, {})),
      pidfile_(std::exchange(other.pidfile_, {})) {}

nbdkit_server& nbdkit_server::operator=(nbdkit_server&& other) noexcept {
  if (this != &other) {
    stop();
    proc_ = std::move(other.proc_);
    uri_ = std::move(other.uri_);
    socket_ = std::exchange(other.socket_, {});
    pidfile_ = std::exchange(other.pidfile_, {});
  }
  return *this;
}

void nbdkit_server::stop() {
  if (proc_.pid() > 0) {
    proc_.signal(SIGTERM);
    proc_.signal(SIGCONT);
    if (!proc_.wait_for(std::chrono::seconds(5))) proc_.kill();
  }
  std::error_code ignored;
  if (!socket_.empty()) std::filesystem::remove(socket_, ignored);
  if (!pidfile_.empty()) std::filesystem::remove(pidfile_, ignored);
  socket_.clear();
  pidfile_.clear();
}

void rate_file::set(const std::string& bits_per_second) const {
  auto tmp = path_;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << bits_per_second;
    if (!out.flush()) throw std::system_error(errno, std::generic_category(), tmp.string());
  }
  std::filesystem::rename(tmp, path_);
}

}  // namespace mk::test
