#include "bus/child_process.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <mutex>
#include <thread>

extern char** environ;

namespace mk::bus {

/// What the forking thread and the owner share. `exited` turns true while the child is still
/// a zombie, so a signal sent under the mutex never reaches a recycled pid.
struct child_process::shared {
  std::mutex mutex;
  std::condition_variable cv;
  pid_t pid = -1;
  bool started = false;
  int spawn_errno = 0;
  bool exited = false;
  int status = 0;
  std::thread thread;
};

namespace {

// After fork, in the child: only async-signal-safe calls until exec.
[[noreturn]] void exec_child(char* const* argv, int out_fd, int err_pipe,
                             const child_options& options, pid_t parent) {
  // The parent may have died between fork and prctl: then the signal would never come.
  if (options.death_signal != 0 &&
      (::prctl(PR_SET_PDEATHSIG, options.death_signal) != 0 || ::getppid() != parent))
    ::_exit(127);
  if (options.new_session && ::setsid() < 0) {
    const int err = errno;
    [[maybe_unused]] auto n = ::write(err_pipe, &err, sizeof err);
    ::_exit(127);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
  const int in_fd = ::open("/dev/null", O_RDONLY);
  if (in_fd < 0 || ::dup2(in_fd, STDIN_FILENO) < 0 || ::dup2(out_fd, STDOUT_FILENO) < 0 ||
      ::dup2(out_fd, STDERR_FILENO) < 0) {
    const int err = errno;
    [[maybe_unused]] auto n = ::write(err_pipe, &err, sizeof err);
    ::_exit(127);
  }
  ::execve(argv[0], argv, environ);
  const int err = errno;
  [[maybe_unused]] auto n = ::write(err_pipe, &err, sizeof err);
  ::_exit(127);
}

// The body of the forking thread: fork, report, then wait for the child's end.
void run(const std::shared_ptr<child_process::shared>& sh, std::vector<std::string> argv_text,
         int out_fd, child_options options) {
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  int err = 0;
  pid_t pid = -1;
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    err = errno;
  } else {
    const pid_t parent = ::getpid();
    pid = ::fork();
    if (pid == 0) exec_child(argv.data(), out_fd, pipe_fds[1], options, parent);
    if (pid < 0) err = errno;
    ::close(pipe_fds[1]);
    // The pipe closes on a successful exec; otherwise the child writes its errno first.
    if (pid > 0) {
      ssize_t n;
      do {
        n = ::read(pipe_fds[0], &err, sizeof err);
      } while (n < 0 && errno == EINTR);
      if (n != sizeof err) err = 0;
    }
    ::close(pipe_fds[0]);
  }
  ::close(out_fd);
  {
    std::lock_guard lock(sh->mutex);
    sh->pid = pid;
    sh->spawn_errno = err;
    sh->started = true;
  }
  sh->cv.notify_all();
  if (pid < 0) return;

  siginfo_t info{};
  while (::waitid(P_PID, pid, &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
  }
  std::lock_guard lock(sh->mutex);
  sh->exited = true;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  sh->status = status;
  sh->cv.notify_all();
}

}  // namespace

child_process::child_process() : shared_(std::make_shared<shared>()) {}

result<std::unique_ptr<child_process>> child_process::spawn(const std::vector<std::string>& argv,
                                                            const std::filesystem::path& output,
                                                            int death_signal) {
  return spawn(argv, output, child_options{.death_signal = death_signal, .new_session = false});
}

result<std::unique_ptr<child_process>> child_process::spawn(const std::vector<std::string>& argv,
                                                            const std::filesystem::path& output,
                                                            const child_options& options) {
  if (argv.empty()) return fail(errc::invalid, "spawn: no program");
  const int out_fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (out_fd < 0) {
    return fail(errc::io,
                "spawn " + argv[0] + ": open " + output.string() + ": " + std::strerror(errno));
  }
  std::unique_ptr<child_process> child(new child_process());
  auto sh = child->shared_;
  sh->thread = std::thread(run, sh, argv, out_fd, options);
  std::unique_lock lock(sh->mutex);
  sh->cv.wait(lock, [&sh] { return sh->started; });
  if (sh->spawn_errno != 0) {
    const int err = sh->spawn_errno;
    lock.unlock();
    sh->thread.join();
    return fail(errc::io, "spawn " + argv[0] + ": " + std::strerror(err));
  }
  return child;
}

child_process::~child_process() {
  signal(SIGKILL);
  wait_for(std::chrono::milliseconds::max());
  if (shared_->thread.joinable()) shared_->thread.join();
}

pid_t child_process::pid() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->pid;
}

bool child_process::running() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->pid > 0 && !shared_->exited;
}

void child_process::signal(int sig) {
  std::lock_guard lock(shared_->mutex);
  if (shared_->pid > 0 && !shared_->exited) ::kill(shared_->pid, sig);
}

std::optional<int> child_process::wait_for(std::chrono::milliseconds timeout) {
  std::unique_lock lock(shared_->mutex);
  const auto reaped = [this] { return shared_->pid <= 0 || shared_->exited; };
  if (timeout == std::chrono::milliseconds::max()) {
    shared_->cv.wait(lock, reaped);
  } else if (!shared_->cv.wait_for(lock, timeout, reaped)) {
    return std::nullopt;
  }
  return shared_->status;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

}  // namespace mk::bus
