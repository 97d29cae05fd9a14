#include "support/process.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include "sys/child.hpp"

namespace mk::test {

std::string to_string(const exit_status& s) {
  if (s.kind == exit_status::how::exited) return "exit " + std::to_string(s.value);
  return "killed by signal " + std::to_string(s.value) + " (" + ::strsignal(s.value) + ")";
}

void PrintTo(const exit_status& s, std::ostream* os) { *os << to_string(s); }

process process::spawn(const std::vector<std::string>& argv, const spawn_options& opts) {
  if (argv.empty()) throw std::invalid_argument("process::spawn: empty argv");
  const auto file = [&opts](const std::filesystem::path& path) {
    return path.empty() ? sys::output::null() : sys::output::file(path, opts.append, 0644);
  };
  auto child =
      sys::spawn(argv, {.out = opts.stdout_fd >= 0 ? sys::output::descriptor(opts.stdout_fd)
                                                   : file(opts.stdout_path),
                        .err = file(opts.stderr_path),
                        .leads = opts.own_process_group ? sys::spawn_options::group::own_group
                                                        : sys::spawn_options::group::ours,
                        .death_signal = 0,
                        .search_path = true,
                        .pidfd = false});
  if (!child)
    throw std::system_error(child.error().code, std::generic_category(), child.error().message);
  return process(child->pid);
}

process::~process() {
  if (pid_ > 0 && !status_) kill();
}

process::process(process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(std::exchange(other.status_, std::nullopt)) {}

process& process::operator=(process&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !status_) kill();
    pid_ = std::exchange(other.pid_, -1);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

void process::reap(bool block) {
  if (pid_ <= 0 || status_) return;
  int raw = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &raw, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r != pid_) return;
  status_ = WIFEXITED(raw) ? exit_status::exited(WEXITSTATUS(raw))
                           : exit_status::signalled(WTERMSIG(raw));
}

bool process::running() {
  reap(false);
  return pid_ > 0 && !status_;
}

void process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

void process::signal_group(int sig) {
  if (running()) ::kill(-pid_, sig);
}

std::optional<exit_status> process::wait_for(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

exit_status process::kill() {
  if (pid_ <= 0) throw std::logic_error("process::kill: no child");
  if (!status_) {
    ::kill(pid_, SIGKILL);
    reap(true);
  }
  return *status_;
}

std::vector<std::string> command_line(pid_t pid) {
  // getline, unlike an istreambuf_iterator, turns the ESRCH of a process that ends
  // mid-read into a stream state instead of an exception.
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::vector<std::string> out;
  for (std::string arg; std::getline(in, arg, '\0');) out.push_back(arg);
  return out;
}

std::string command_text(pid_t pid) {
  std::string out;
  for (const auto& arg : command_line(pid)) out += (out.empty() ? "" : " ") + arg;
  return out;
}

std::vector<pid_t> running_under(const std::filesystem::path& dir) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto pid = static_cast<pid_t>(std::stoi(name));
    if (command_text(pid).find(dir.string()) != std::string::npos) out.push_back(pid);
  }
  return out;
}

void kill_processes_under(const std::filesystem::path& dir) {
  for (int round = 0; round < 50; ++round) {
    auto left = running_under(dir);
    if (left.empty()) return;
    for (auto pid : left) ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace mk::test
