#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "bus/error.hpp"
#include "bus/nats_transport.hpp"
#include "bus/transport.hpp"
#include "config/defaults.hpp"

namespace mk::bus {

/// Pushes the product account's JWT again to every node that joins the bus, or comes back to
/// it, so that a revocation made while the node was down (or cut off) holds on it at once: its
/// account resolver would otherwise catch up only at its interval (2 min; STACK.md).
///
/// Listens, as the system account's user, to the statistics each node announces
/// (`$SYS.SERVER.<id>.STATSZ`: a node restarted comes with a new id, at once), and takes a node
/// that is new or was silent for `silence` through two steps:
///  1. push: the JWT goes to every node; the step is done when this node answers that it
///     stored it (one just started may not hear a push sent before the others know it
///     listens);
///  2. look: the account as the node runs it (`$SYS.REQ.SERVER.<id>.ACCOUNTZ`) must carry every
///     revocation. A node that was loading the account from its old files while the push came
///     stores the new JWT but runs the old one; a push of the same JWT changes nothing there,
///     so it gets a fresh one (signed a second later), and is looked at again.
/// A node that has not loaded the account is looked at again until `settle` after its return.
/// Everything goes out from a thread of its own; a step that fails is tried again `retry`
/// later, for as long as the node is heard from.
class node_watch {
 public:
  struct options {
    std::string urls;
    std::filesystem::path ca_file;  ///< empty for a loopback bus
    std::filesystem::path system_creds;
    /// The account's JWT as it stands now, with every revocation, signed now
    /// (bus_home::account_jwt).
    std::function<result<std::string>()> account_jwt;
    std::chrono::milliseconds silence = defaults::bus::node_silence;
    std::chrono::milliseconds confirm_wait = defaults::bus::node_confirm_wait;
    std::chrono::milliseconds retry = defaults::bus::node_retry;
    std::chrono::milliseconds settle = defaults::bus::node_settle;
  };

  static result<std::unique_ptr<node_watch>> start(options o);
  ~node_watch();
  node_watch(const node_watch&) = delete;
  node_watch& operator=(const node_watch&) = delete;

  /// Pushes that a node confirmed so far (one per node and push).
  std::uint64_t pushes() const;
  /// Nodes seen running the account with every revocation after they joined or came back.
  std::uint64_t current() const;

 private:
  using clock = std::chrono::steady_clock;
  enum class step { none, push, look };
  struct node {
    clock::time_point heard;   ///< its last statistics
    clock::time_point back;    ///< when it joined or came back
    clock::time_point pushed;  ///< its last confirmed push
    clock::time_point due;     ///< when `next` is due
    step next = step::none;
  };

  explicit node_watch(options o) : opts_(std::move(o)) {}
  void on_stats(const std::string& subject);
  void run();
  /// Pushes to every node and answers those of `ids` that confirmed.
  result<std::set<std::string>> push(const std::set<std::string>& ids);
  /// Takes the node a step on after the look at it found `runs` (see the class comment).
  void after_look(const std::string& id, node& n, const result<std::optional<bool>>& runs,
                  clock::time_point now);

  options opts_;
  std::unique_ptr<nats_transport> transport_;
  subscription sub_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, node> nodes_;  ///< by server id
  bool quit_ = false;
  std::uint64_t pushes_ = 0;
  std::uint64_t current_ = 0;
  std::thread thread_;
};

}  // namespace mk::bus
