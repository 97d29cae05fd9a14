#include "support/process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

extern char** environ;

namespace mk::test {

std::string to_string(const exit_status& s) {
  if (s.kind == exit_status::how::exited) return "exit " + std::to_string(s.value);
  return "killed by signal " + std::to_string(s.value) + " (" + ::strsignal(s.value) + ")";
}

void PrintTo(const exit_status& s, std::ostream* os) { *os << to_string(s); }

namespace {

// posix_spawn reports failures as return values; these turn them into exceptions.
void check(int err, const char* what) {
  if (err != 0) throw std::system_error(err, std::generic_category(), what);
}

class spawn_setup {
 public:
  spawn_setup() {
    check(::posix_spawn_file_actions_init(&actions_), "posix_spawn_file_actions_init");
    if (int err = ::posix_spawnattr_init(&attr_); err != 0) {
      ::posix_spawn_file_actions_destroy(&actions_);
      check(err, "posix_spawnattr_init");
    }
  }
  ~spawn_setup() {
    ::posix_spawnattr_destroy(&attr_);
    ::posix_spawn_file_actions_destroy(&actions_);
  }
  spawn_setup(const spawn_setup&) = delete;
  spawn_setup& operator=(const spawn_setup&) = delete;

  void open(int fd, const std::filesystem::path& path, int flags) {
    const char* name = path.empty() ? "/dev/null" : path.c_str();
    check(::posix_spawn_file_actions_addopen(&actions_, fd, name, flags, 0644),
          "posix_spawn_file_actions_addopen");
  }
  void dup2(int from, int to) {
    check(::posix_spawn_file_actions_adddup2(&actions_, from, to),
          "posix_spawn_file_actions_adddup2");
  }
  // Signal handlers do not survive exec, but ignored signals and the mask do: reset both, so
  // that what the child does with SIGPIPE or SIGTERM is its own behaviour, not ours.
  void default_signals(bool own_group) {
    sigset_t all;
    sigset_t none;
    sigfillset(&all);
    sigemptyset(&none);
    check(::posix_spawnattr_setsigdefault(&attr_, &all), "posix_spawnattr_setsigdefault");
    check(::posix_spawnattr_setsigmask(&attr_, &none), "posix_spawnattr_setsigmask");
    short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    if (own_group) {
      check(::posix_spawnattr_setpgroup(&attr_, 0), "posix_spawnattr_setpgroup");
      flags |= POSIX_SPAWN_SETPGROUP;
    }
    check(::posix_spawnattr_setflags(&attr_, flags), "posix_spawnattr_setflags");
  }

  const posix_spawn_file_actions_t* actions() const { return &actions_; }
  const posix_spawnattr_t* attr() const { return &attr_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

}  // namespace

process process::spawn(const std::vector<std::string>& argv, const spawn_options& opts) {
  if (argv.empty()) throw std::invalid_argument("process::spawn: empty argv");
  spawn_setup setup;
  const int out_flags = O_WRONLY | O_CREAT | (opts.append ? O_APPEND : O_TRUNC);
  setup.open(STDIN_FILENO, {}, O_RDONLY);
  if (opts.stdout_fd >= 0) {
    setup.dup2(opts.stdout_fd, STDOUT_FILENO);
  } else {
    setup.open(STDOUT_FILENO, opts.stdout_path, out_flags);
  }
  setup.open(STDERR_FILENO, opts.stderr_path, out_flags);
  setup.default_signals(opts.own_process_group);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = -1;
  check(::posix_spawnp(&pid, args[0], setup.actions(), setup.attr(), args.data(), environ),
        argv[0].c_str());
  return process(pid);
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

std::vector<pid_t> running_under(const std::filesystem::path& dir) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), {});
    if (cmdline.find(dir.string()) != std::string::npos)
      out.push_back(static_cast<pid_t>(std::stoi(name)));
  }
  return out;
}

void kill_processes_under(const std::filesystem::path& dir) {
  for (int round = 0; round < 50; ++round) {
    auto left = running_under(dir);
    if (left.empty())
      return;
    for (auto pid : left)
      ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace mk::test
