// The demo's source disk: a rate-limited nbdkit that outlives the `up` that started it.
#include "cmd/demo_source.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "sys/child_process.hpp"
#include "sys/pidfd.hpp"

namespace mk::cmd {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string read_small(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The argument vector as /proc/PID/cmdline shows it: each argument ended by a NUL.
std::string as_cmdline(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    out += a;
    out.push_back('\0');
  }
  return out;
}

/// Waits up to `timeout` for the process behind `pidfd` to end (a pidfd that cannot be
/// waited for counts as ended).
bool ended_within(int pidfd, std::chrono::milliseconds timeout) {
  const auto ended = sys::pidfd_wait(pidfd, timeout);
  return !ended || *ended;
}

void terminate(int pidfd) {
  (void)sys::pidfd_send_signal(pidfd, SIGTERM);
  if (!ended_within(pidfd, defaults::volumes::server_stop_timeout)) {
    (void)sys::pidfd_send_signal(pidfd, SIGKILL);
    ended_within(pidfd, defaults::volumes::server_stop_timeout);
  }
}

/// The server named by the pid file, pinned by a pidfd, with its command line read after the
/// pidfd was opened (so both belong to the same process); nothing if it is gone.
struct found_server {
  sys::unique_fd pidfd{};
  std::string cmdline{};
};

found_server running_server(const fs::path& pidfile) {
  pid_t pid = 0;
  try {
    pid = static_cast<pid_t>(std::stol(read_small(pidfile)));
  } catch (...) {
    return found_server();
  }
  if (pid <= 0) return found_server();
  auto fd = sys::open_pidfd(pid);
  if (!fd) return found_server();
  auto cmdline = read_small("/proc/" + std::to_string(pid) + "/cmdline");
  auto exited = sys::pidfd_exited(fd->get());
  if (!exited || *exited) return found_server();
  return {std::move(*fd), std::move(cmdline)};
}

}  // namespace

expected<std::unique_ptr<demo_source>, std::string> demo_source::start(demo_source_options o) {
  std::unique_ptr<demo_source> src(new demo_source());
  src->dir_ = fs::absolute(o.dir);
  const auto socket = src->dir_ / "source.sock";
  const auto pidfile = src->dir_ / "source.pid";
  if (socket.string().size() >= sizeof(sockaddr_un{}.sun_path))
    return unexpected("the demo source's socket path is too long: " + socket.string());
  std::error_code ec;
  fs::create_directories(src->dir_, ec);
  if (ec) return unexpected("create " + src->dir_.string() + ": " + ec.message());

  // Without -f nbdkit forks into the background once its socket is bound and writes the pid
  // file when it accepts connections.
  const std::vector<std::string> argv = {o.nbdkit.string(),
                                         "--log=stderr",
                                         "-U",
                                         socket.string(),
                                         "-P",
                                         pidfile.string(),
                                         "--filter=noparallel",
                                         "--filter=rate",
                                         "random",
                                         "size=" + std::to_string(o.size),
                                         "seed=1",
                                         "rate=" + o.rate,
                                         "burstiness=0.5",
                                         "serialize=requests"};
  auto [found, cmdline] = running_server(pidfile);
  if (found && cmdline == as_cmdline(argv)) {
    src->pidfd_ = std::move(found);
    return src;
  }
  // A server from an earlier start with other options would serve another disk: replaced.
  if (found && cmdline.find(as_cmdline({"-U", socket.string()})) != std::string::npos)
    terminate(found.get());
  fs::remove(socket, ec);
  fs::remove(pidfile, ec);

  const auto log = src->dir_ / "source.log";
  auto launcher = sys::child_process::spawn(argv, log, {.death_signal = 0, .new_session = true});
  if (!launcher) return unexpected("nbdkit: " + launcher.error().message);
  const auto deadline = std::chrono::steady_clock::now() + defaults::volumes::server_ready_timeout;
  for (;;) {
    if (auto status = (*launcher)->wait_for(0ms);
        status && !(WIFEXITED(*status) && WEXITSTATUS(*status) == 0))
      return unexpected("nbdkit for the demo source ended (" + sys::describe_wait_status(*status) +
                        "); see " + log.string());
    if (auto ready = running_server(pidfile); ready.pidfd) {
      src->pidfd_ = std::move(ready.pidfd);
      return src;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return unexpected("nbdkit for the demo source not ready in time; see " + log.string());
    std::this_thread::sleep_for(defaults::volumes::poll_interval);
  }
}

std::string demo_source::uri() const {
  return "nbd+unix:///?socket=" + (dir_ / "source.sock").string();
}

void demo_source::stop() {
  if (!pidfd_) return;
  terminate(pidfd_.get());
  pidfd_.reset();
  // nbdkit leaves its socket behind (STACK.md); the pid file goes too, so that no later
  // process with the same pid is taken for the server.
  std::error_code ec;
  fs::remove(dir_ / "source.sock", ec);
  fs::remove(dir_ / "source.pid", ec);
}

}  // namespace mk::cmd
