#include "agent/mover/mover_process.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

#include "config/defaults.hpp"
#include "sys/child.hpp"
#include "sys/pidfd.hpp"

namespace mk::vma {

namespace {

std::string describe(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) return "exit " + std::to_string(info.si_status);
  return "killed by signal " + std::to_string(info.si_status);
}

}  // namespace

const char* to_string(outcome::kind k) {
  switch (k) {
    case outcome::kind::exited:
      return "exited";
    case outcome::kind::killed:
      return "killed";
    case outcome::kind::not_running:
      return "not_running";
  }
  return "unknown";
}

result<mover_process> mover_process::start(const mover_spec& spec) {
  if (spec.binary.empty()) return fail(errc::invalid, "mover: no binary");
  if (spec.checkpoint.empty()) return fail(errc::invalid, "mover: no checkpoint file");
  if (spec.stderr_log.empty()) return fail(errc::invalid, "mover: no stderr log");

  std::vector<std::string> args = {spec.binary.string(), "copy",         spec.source,
                                   spec.target,          "--checkpoint", spec.checkpoint.string()};
  if (spec.resume) args.emplace_back("--resume");
  args.emplace_back("--progress=json");
  args.insert(args.end(), spec.extra_args.begin(), spec.extra_args.end());
  int fds[2];
  // The mover's end blocks (it polls before it writes); ours does not.
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail_errno(errc::system, "pipe", errno);
  sys::unique_fd out_read(fds[0]), out_write(fds[1]);
  if (::fcntl(out_read.get(), F_SETFL, O_NONBLOCK) != 0) {
    return fail_errno(errc::system, "fcntl O_NONBLOCK", errno);
  }
  // No death signal: the mover must outlive a restarting agent (docs/recovery.md). A session of
  // its own: neither the terminal's Ctrl-C nor a signal to the agent's process group reaches
  // the mover; only an explicit stop does.
  auto child = sys::spawn(args, {.out = sys::output::descriptor(out_write.get()),
                                 .err = sys::output::file(spec.stderr_log, true, 0600),
                                 .leads = sys::spawn_options::group::own_session,
                                 .death_signal = 0,
                                 .search_path = false,
                                 .pidfd = true});
  if (!child) return fail(errc::system, child.error().message);
  out_write.reset();
  const pid_t pid = child->pid;

  // Until we wait for it the child cannot be reaped, so its pid stays its own: the start time
  // below is certainly the child's.
  mover_process m;
  m.child_ = true;
  m.id_.pid = pid;
  m.pidfd_ = std::move(child->pidfd);
  auto start_time = read_start_time(pid);
  if (!start_time) {
    // m's destructor kills and reaps the child.
    return std::unexpected(std::move(start_time.error()));
  }
  m.id_.start_time = *start_time;
  m.out_ = std::move(out_read);
  m.checkpoint_ = spec.checkpoint;
  m.reader_ = progress_reader(defaults::vma::max_progress_line);
  return m;
}

result<mover_process> mover_process::adopt(const proc_identity& id,
                                           std::filesystem::path checkpoint) {
  auto fd = open_identified(id);
  if (!fd) return std::unexpected(std::move(fd.error()));
  mover_process m;
  m.id_ = id;
  m.pidfd_ = std::move(*fd);
  m.checkpoint_ = std::move(checkpoint);
  return m;
}

mover_process::~mover_process() {
  if (!pidfd_ || outcome_) return;
  // Still supervised and not known to have ended: the owner gave up on it without detaching.
  [[maybe_unused]] auto sent = send(SIGKILL);
  if (child_) {
    siginfo_t info{};
    while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info,
                    WEXITED) != 0 &&
           errno == EINTR) {
    }
  }
}

proc_identity mover_process::detach() {
  pidfd_.reset();
  out_.reset();
  return id_;
}

std::optional<progress_line> mover_process::poll_progress() {
  drain();
  return reader_.latest();
}

void mover_process::drain() {
  if (!out_) return;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(out_.get(), buf, sizeof buf);
    if (n > 0) {
      reader_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // EAGAIN: nothing more for now. 0: the mover closed stdout; what it wrote is read.
    return;
  }
}

// Through the pidfd, never the bare pid: a signal cannot reach a process that reused it.
// Returns false if the mover has ended.
result<bool> mover_process::send(int sig) {
  if (!pidfd_) return fail(errc::invalid, "mover: detached");
  auto sent = sys::pidfd_send_signal(pidfd_.get(), sig);
  if (sent) return true;
  if (sent.error().code == ESRCH) return false;
  return fail(errc::system, "pid " + std::to_string(id_.pid) + ": " + sent.error().message);
}

result<std::optional<outcome>> mover_process::request_stop(bool force,
                                                           std::chrono::milliseconds grace,
                                                           clock::time_point now) {
  auto ended = tick(now);
  if (!ended) return ended;
  if (*ended) {
    // Ended before this stop reached it (or under an earlier stop): a first stop reports it
    // as not running; a repeated one reports what the first one found.
    if (!stopping_) {
      stopping_ = true;
      outcome_->what = outcome::kind::not_running;
    }
    return outcome_;
  }
  if (force && !kill_sent_) {
    auto sent = send(SIGKILL);
    if (!sent) return std::unexpected(std::move(sent.error()));
    kill_sent_ = true;
  } else if (!stopping_) {
    auto sent = send(SIGTERM);
    if (!sent) return std::unexpected(std::move(sent.error()));
    kill_at_ = now + grace;
  }
  stopping_ = true;
  return std::optional<outcome>();
}

void mover_process::carry_on_stop(clock::time_point kill_at) {
  stopping_ = true;
  kill_at_ = kill_at;
}

result<std::optional<outcome>> mover_process::tick(clock::time_point now) {
  if (outcome_) return outcome_;
  if (!pidfd_) return fail(errc::invalid, "mover: detached");
  drain();
  auto exited = sys::pidfd_exited(pidfd_.get());
  if (!exited) return fail(errc::system, exited.error().message);
  if (*exited) return collect();
  if (stopping_ && !kill_sent_ && now >= kill_at_) {
    auto sent = send(SIGKILL);
    if (!sent) return std::unexpected(std::move(sent.error()));
    kill_sent_ = true;
  }
  return std::optional<outcome>();
}

result<std::optional<outcome>> mover_process::collect() {
  outcome o;
  siginfo_t info{};
  // Only the parent can wait: for an adopted mover this fails with ECHILD (unless the
  // "previous agent" was this very process, as in tests), and then its checkpoint tells.
  int rc;
  do {
    rc = ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info,
                  WEXITED | WNOHANG);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0 && info.si_pid != 0) {
    if (info.si_code == CLD_EXITED) {
      o.exit_code = info.si_status;
    } else {
      o.term_signal = info.si_status;
    }
    o.detail = describe(info);
  } else if (rc != 0 && errno != ECHILD) {
    return fail_errno(errc::system, "pid " + std::to_string(id_.pid) + ": waitid", errno);
  } else if (child_) {
    // Exited per the pidfd but not yet reapable: look again on the next tick.
    return std::optional<outcome>();
  } else {
    o.detail = "exit status unknown (adopted)";
  }
  const bool ours = o.term_signal ? *o.term_signal == SIGKILL : !o.exit_code;
  o.what = kill_sent_ && ours ? outcome::kind::killed : outcome::kind::exited;

  if (auto cp = nbd::load_checkpoint(checkpoint_.string())) {
    o.checkpoint_state = cp->state;
    if (cp->error) o.detail += "; " + *cp->error;
  } else {
    o.detail += "; checkpoint: " + cp.error().message;
  }
  drain();
  out_.reset();  // Nothing more can come: the mover has ended.
  outcome_ = std::move(o);
  return outcome_;
}

result<std::optional<outcome>> mover_process::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  for (;;) {
    const auto now = clock::now();
    auto ended = tick(now);
    if (!ended || *ended || now >= deadline) return ended;
    // Wake for the exit, the deadline, or the SIGKILL that is due, whichever comes first;
    // and at least now and then, should a zombie not be reapable yet.
    auto until = std::min(deadline, now + defaults::vma::wait_slice);
    if (stopping_ && !kill_sent_) until = std::min(until, kill_at_);
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(until - now);
    if (auto waited = sys::pidfd_wait(pidfd_.get(), ms); !waited)
      return fail(errc::system, waited.error().message);
  }
}

}  // namespace mk::vma
