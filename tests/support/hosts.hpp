#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace mk::test {

/// Several hosts on this machine (STACK.md, "Several hosts"): one network namespace per host,
/// joined by a bridge in a switch namespace of its own, so that the test's own namespace is
/// never touched. Each host has one address 10.77.0.N/24; traffic goes only to them. The
/// names carry the test process's pid, so that parallel tests never meet. Processes started
/// with run() live inside a host. Destruction, passed or failed: every such process is killed,
/// then every namespace (and with it every link) is deleted. A test binary killed before its
/// destructors ran (a ctest timeout, a signal) leaves its hosts behind: each hosts holds a lock
/// in `lock_dir()` while it lives, and the next hosts made on the machine removes those whose
/// lock nobody holds, their processes first.
class hosts {
 public:
  /// `names`: host name -> last byte of its address. Throws std::runtime_error with the
  /// output of the command that failed.
  explicit hosts(const std::map<std::string, int>& names);
  ~hosts();
  hosts(const hosts&) = delete;
  hosts& operator=(const hosts&) = delete;

  /// Where each living hosts holds its lock (`TAG.lock`).
  static std::filesystem::path lock_dir();
  /// The network namespaces of this hosts: its hosts' and its switch's.
  std::vector<std::string> namespaces() const;

  /// 10.77.0.N of a host.
  std::string address(const std::string& host) const;
  /// `argv` run inside `host` (`ip netns exec`); kept until the end, or until stop().
  process& run(const std::string& host, const std::vector<std::string>& argv,
               const spawn_options& opts = {});
  /// `argv` run inside `host` to its end (at most 60 s); its exit status, stdout in `out`.
  exit_status run_to_end(const std::string& host, const std::vector<std::string>& argv,
                         std::string* out = nullptr, std::string* err = nullptr);

  /// `fn` run on a thread of this process that has joined the host's network namespace (its
  /// sockets, and those of threads it starts, are the host's); an exception is passed on.
  void inside(const std::string& host, const std::function<void()>& fn) const;

  /// Pulls the host's cable at the switch (its port down: traffic is dropped silently), and
  /// plugs it back.
  void partition(const std::string& host);
  void heal(const std::string& host);

 private:
  std::string ns(const std::string& host) const;
  std::string port(const std::string& host) const;
  void ip(const std::vector<std::string>& args);
  void teardown();

  std::string tag_;
  int lock_fd_ = -1;
  std::filesystem::path scratch_;
  std::map<std::string, int> hosts_;
  std::vector<std::unique_ptr<process>> processes_;
};

}  // namespace mk::test
