#include "sys/child.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <string_view>

#include "sys/pidfd.hpp"

extern char** environ;

namespace mk::sys {

namespace {

/// The step of the child's start that failed, as the child reports it through a pipe.
enum class step : int { session, group, redirect, exec };

struct report {
  step failed;
  int err;
};

const char* to_string(step s) {
  switch (s) {
    case step::session:
      return "setsid";
    case step::group:
      return "setpgid";
    case step::redirect:
      return "dup2";
    case step::exec:
      return "exec";
  }
  return "start";
}

/// Where execve is tried, in order: argv[0] itself, or each PATH folder's entry for it.
std::vector<std::string> candidates(const std::string& program, bool search_path) {
  if (!search_path || program.find('/') != std::string::npos) return {program};
  const char* env = std::getenv("PATH");
  const std::string_view path = env != nullptr ? env : "/bin:/usr/bin";
  std::vector<std::string> out;
  for (std::size_t at = 0;;) {
    const auto end = path.find(':', at);
    const auto dir = path.substr(at, end == std::string_view::npos ? end : end - at);
    // An empty entry is the current folder.
    out.push_back(dir.empty() ? program : std::string(dir) + "/" + program);
    if (end == std::string_view::npos) return out;
    at = end + 1;
  }
}

// After fork, in the child: only async-signal-safe calls until exec.
[[noreturn]] void fail_in_child(int report_fd, step s, int err) {
  const report r{s, err};
  [[maybe_unused]] auto n = ::write(report_fd, &r, sizeof r);
  ::_exit(127);
}

/// `from` as the child's descriptor `to`, open across exec.
bool redirect(int from, int to) {
  if (from == to) return ::fcntl(to, F_SETFD, 0) == 0;
  return ::dup2(from, to) == to;
}

[[noreturn]] void exec_child(const std::vector<char*>& argv, const std::vector<char*>& paths,
                             const int (&stdio)[3], int report_fd, const spawn_options& o,
                             pid_t parent) {
  if (o.death_signal != 0 &&
      (::prctl(PR_SET_PDEATHSIG, o.death_signal) != 0 || ::getppid() != parent))
    ::_exit(127);
  if (o.leads == spawn_options::group::own_session && ::setsid() < 0)
    fail_in_child(report_fd, step::session, errno);
  if (o.leads == spawn_options::group::own_group && ::setpgid(0, 0) != 0)
    fail_in_child(report_fd, step::group, errno);
  // Handlers do not survive exec, but ignored signals and the mask do: both are reset, so that
  // what the child does with SIGPIPE or SIGTERM is its own behaviour, not ours.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
  for (int fd = 0; fd < 3; ++fd)
    if (!redirect(stdio[fd], fd)) fail_in_child(report_fd, step::redirect, errno);
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  // As execvp: a folder where the program is not, or may not be run, is passed over.
  int err = ENOENT;
  bool denied = false;
  for (char* path : paths) {
    ::execve(path, argv.data(), environ);
    err = errno;
    if (err == EACCES) {
      denied = true;
    } else if (err != ENOENT && err != ENOTDIR && err != ESTALE && err != ENODEV &&
               err != ETIMEDOUT) {
      fail_in_child(report_fd, step::exec, err);
    }
  }
  fail_in_child(report_fd, step::exec, denied ? EACCES : err);
}

/// What the child's stdout or stderr is made of: a file or /dev/null opened here (none for a
/// descriptor of the caller's).
result<unique_fd> open_output(const output& o) {
  if (o.where == output::to::descriptor) return unique_fd();
  const bool null = o.where == output::to::null;
  const auto path = null ? std::filesystem::path("/dev/null") : o.path;
  const int flags = null ? O_WRONLY : O_WRONLY | O_CREAT | (o.append ? O_APPEND : O_TRUNC);
  unique_fd fd(::open(path.c_str(), flags | O_CLOEXEC, o.mode));
  if (!fd) return fail_errno("open " + path.string(), errno);
  return fd;
}

void reap(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

result<child> spawn(const std::vector<std::string>& argv, const spawn_options& options) {
  if (argv.empty()) return fail(EINVAL, "spawn: no program");
  const auto& program = argv[0];
  // Everything the child needs is made before the fork: after it, no allocation.
  std::vector<std::string> args = argv;
  std::vector<char*> args_c;
  for (auto& a : args) args_c.push_back(a.data());
  args_c.push_back(nullptr);
  auto paths = candidates(program, options.search_path);
  std::vector<char*> paths_c;
  for (auto& p : paths) paths_c.push_back(p.data());

  const unique_fd in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!in) return fail_errno("open /dev/null", errno);
  auto out = open_output(options.out);
  if (!out) return std::unexpected(std::move(out.error()));
  auto err = open_output(options.err);
  if (!err) return std::unexpected(std::move(err.error()));
  const int stdio[3] = {in.get(), *out ? out->get() : options.out.fd,
                        *err ? err->get() : options.err.fd};
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail_errno("pipe", errno);
  unique_fd report_read(fds[0]), report_write(fds[1]);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) exec_child(args_c, paths_c, stdio, report_write.get(), options, parent);
  if (pid < 0) return fail_errno("fork", errno);
  report_write.reset();

  // Until we wait for it the child cannot be reaped, so its pid stays its own: the pidfd is
  // certainly the child's.
  result<unique_fd> pidfd = unique_fd();
  if (options.pidfd) pidfd = open_pidfd(pid);

  // The report pipe closes on a successful exec; otherwise the child writes what failed first.
  report r{step::exec, 0};
  ssize_t n;
  do {
    n = ::read(report_read.get(), &r, sizeof r);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof r && r.err != 0) {
    reap(pid);
    const std::string what = r.failed == step::exec
                                 ? "exec " + program
                                 : std::string(to_string(r.failed)) + " for " + program;
    return fail_errno(what, r.err);
  }
  if (!pidfd) {
    ::kill(pid, SIGKILL);
    reap(pid);
    return std::unexpected(std::move(pidfd.error()));
  }
  return child{.pid = pid, .pidfd = std::move(*pidfd)};
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

}  // namespace mk::sys
