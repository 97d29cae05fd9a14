#include "sys/child_process.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>

#include "sys/unique_fd.hpp"

namespace mk::sys {

/// What the forking thread and the owner share. `exited` turns true while the child is still
/// a zombie, so a signal sent under the mutex never reaches a recycled pid.
struct child_process::shared {
  std::mutex mutex;
  std::condition_variable cv;
  pid_t pid = -1;
  bool started = false;
  std::optional<error> spawn_error;
  bool exited = false;
  int status = 0;
  std::thread thread;
};

namespace {

// The body of the forking thread: fork, report, then wait for the child's end.
void run(const std::shared_ptr<child_process::shared>& sh, std::vector<std::string> argv,
         unique_fd out, child_options options) {
  auto started = sys::spawn(argv, {.out = output::descriptor(out.get()),
                                   .err = output::descriptor(out.get()),
                                   .leads = options.new_session ? spawn_options::group::own_session
                                                                : spawn_options::group::ours,
                                   .death_signal = options.death_signal,
                                   .search_path = false,
                                   .pidfd = false});
  out.reset();
  const pid_t pid = started ? started->pid : -1;
  {
    std::lock_guard lock(sh->mutex);
    sh->pid = pid;
    if (!started) sh->spawn_error = std::move(started.error());
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
  if (argv.empty()) return fail(EINVAL, "spawn: no program");
  unique_fd out(::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!out) return fail_errno("spawn " + argv[0] + ": open " + output.string(), errno);
  std::unique_ptr<child_process> child(new child_process());
  auto sh = child->shared_;
  sh->thread = std::thread(run, sh, argv, std::move(out), options);
  std::unique_lock lock(sh->mutex);
  sh->cv.wait(lock, [&sh] { return sh->started; });
  if (sh->spawn_error) {
    auto e = std::move(*sh->spawn_error);
    lock.unlock();
    sh->thread.join();
    return std::unexpected(std::move(e));
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

}  // namespace mk::sys
