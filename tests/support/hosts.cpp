#include "support/hosts.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <exception>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "support/files.hpp"
#include "sys/unique_fd.hpp"

namespace mk::test {

namespace {

using namespace std::chrono_literals;

/// `ip ARGS...` to its end; its status and what it printed.
exit_status run_ip(const std::vector<std::string>& args, const std::filesystem::path& out) {
  std::vector<std::string> argv = {"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = process::spawn(argv, {.stdout_path = out, .stderr_path = out});
  auto status = p.wait_for(30s);
  return status ? *status : exit_status::signalled(SIGKILL);
}

/// Every process in network namespace `ns` killed, then the namespace deleted (best effort:
/// it may be gone already).
void remove_namespace(const std::string& ns, const std::filesystem::path& scratch) {
  if (run_ip({"netns", "pids", ns}, scratch) == exit_status::exited(0)) {
    std::istringstream pids(read_text(scratch));
    for (pid_t pid = 0; pids >> pid;)
      if (pid > 0) ::kill(pid, SIGKILL);
  }
  (void)run_ip({"netns", "del", ns}, scratch);
}

/// The namespaces of hosts whose owner died without tearing them down: a lock file that
/// nobody holds any more names their tag.
void remove_abandoned(const std::filesystem::path& scratch) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(hosts::lock_dir(), ec)) {
    if (entry.path().extension() != ".lock") continue;
    const sys::unique_fd fd(::open(entry.path().c_str(), O_RDWR | O_CLOEXEC));
    if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // its owner lives
    const auto tag = entry.path().stem().string();
    for (const auto& ns : std::filesystem::directory_iterator("/run/netns", ec)) {
      const auto name = ns.path().filename().string();
      if (name == tag + "sw" || name.starts_with(tag + "-")) remove_namespace(name, scratch);
    }
    std::filesystem::remove(entry.path(), ec);
  }
}

}  // namespace

std::filesystem::path hosts::lock_dir() { return "/run/migratekit-test-hosts"; }

hosts::hosts(const std::map<std::string, int>& names)
    : tag_("mk" + std::to_string(::getpid() % 100000)),
      scratch_(std::filesystem::temp_directory_path() / (tag_ + "-ip.out")),
      hosts_(names) {
  std::filesystem::create_directories(lock_dir());
  remove_abandoned(scratch_);
  // Locked before it bears its name: a sweep never finds this lock free while we live.
  const auto lock = lock_dir() / (tag_ + ".lock");
  const auto locking = lock_dir() / (tag_ + ".locking");
  lock_fd_ = ::open(locking.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0 ||
      ::rename(locking.c_str(), lock.c_str()) != 0) {
    const int error = errno;
    if (lock_fd_ >= 0) ::close(lock_fd_);
    throw std::system_error(error, std::generic_category(), "lock " + lock.string());
  }
  try {
    ip({"netns", "add", tag_ + "sw"});
    ip({"-n", tag_ + "sw", "link", "add", "br0", "type", "bridge"});
    ip({"-n", tag_ + "sw", "link", "set", "br0", "up"});
    for (const auto& [host, n] : hosts_) {
      ip({"netns", "add", ns(host)});
      ip({"-n", ns(host), "link", "set", "lo", "up"});
      ip({"link", "add", "eth0", "netns", ns(host), "type", "veth", "peer", "name", port(host),
          "netns", tag_ + "sw"});
      ip({"-n", tag_ + "sw", "link", "set", port(host), "master", "br0"});
      ip({"-n", tag_ + "sw", "link", "set", port(host), "up"});
      ip({"-n", ns(host), "addr", "add", address(host) + "/24", "dev", "eth0"});
      ip({"-n", ns(host), "link", "set", "eth0", "up"});
    }
  } catch (...) {
    teardown();
    throw;
  }
}

hosts::~hosts() { teardown(); }

void hosts::teardown() {
  for (auto& p : processes_) p.reset();  // killed and reaped (process's destructor)
  processes_.clear();
  // What those started (servers, movers in sessions of their own) runs on inside: every
  // process left in a host goes before the host does.
  for (const auto& name : namespaces()) remove_namespace(name, scratch_);
  std::error_code ec;
  std::filesystem::remove(scratch_, ec);
  if (lock_fd_ >= 0) {
    std::filesystem::remove(lock_dir() / (tag_ + ".lock"), ec);
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
}

std::vector<std::string> hosts::namespaces() const {
  std::vector<std::string> out;
  for (const auto& [host, n] : hosts_) out.push_back(ns(host));
  out.push_back(tag_ + "sw");
  return out;
}

std::string hosts::ns(const std::string& host) const { return tag_ + "-" + host; }

std::string hosts::port(const std::string& host) const {
  return "p" + std::to_string(hosts_.at(host));
}

std::string hosts::address(const std::string& host) const {
  return "10.77.0." + std::to_string(hosts_.at(host));
}

void hosts::ip(const std::vector<std::string>& args) {
  const auto status = run_ip(args, scratch_);
  if (status != exit_status::exited(0)) {
    std::string command = "ip";
    for (const auto& a : args) command += " " + a;
    throw std::runtime_error(command + ": " + to_string(status) + ": " + read_text(scratch_));
  }
}

process& hosts::run(const std::string& host, const std::vector<std::string>& argv,
                    const spawn_options& opts) {
  std::vector<std::string> in = {"ip", "netns", "exec", ns(host)};
  in.insert(in.end(), argv.begin(), argv.end());
  processes_.push_back(std::make_unique<process>(process::spawn(in, opts)));
  return *processes_.back();
}

exit_status hosts::run_to_end(const std::string& host, const std::vector<std::string>& argv,
                              std::string* out, std::string* err) {
  const auto base = std::filesystem::temp_directory_path() / (tag_ + "-run");
  std::vector<std::string> in = {"ip", "netns", "exec", ns(host)};
  in.insert(in.end(), argv.begin(), argv.end());
  auto p = process::spawn(
      in, {.stdout_path = base.string() + ".out", .stderr_path = base.string() + ".err"});
  const auto status = p.wait_for(60s);
  if (out) *out = read_text(base.string() + ".out");
  if (err) *err = read_text(base.string() + ".err");
  return status ? *status : exit_status::signalled(SIGKILL);
}

void hosts::inside(const std::string& host, const std::function<void()>& fn) const {
  std::exception_ptr failed;
  // A thread of its own: the namespace is the thread's, and the test's thread stays home.
  std::thread in([&] {
    try {
      const auto path = "/run/netns/" + ns(host);
      const sys::unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd || ::setns(fd.get(), CLONE_NEWNET) != 0)
        throw std::system_error(errno, std::generic_category(), "setns " + path);
      fn();
    } catch (...) {
      failed = std::current_exception();
    }
  });
  in.join();
  if (failed) std::rethrow_exception(failed);
}

void hosts::partition(const std::string& host) {
  ip({"-n", tag_ + "sw", "link", "set", port(host), "down"});
}

void hosts::heal(const std::string& host) {
  ip({"-n", tag_ + "sw", "link", "set", port(host), "up"});
}

}  // namespace mk::test
