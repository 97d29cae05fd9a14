#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
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
/// (`$SYS.SERVER.<id>.STATSZ`: a node restarted comes with a new id, at once), and pushes when
/// a node is new or was silent for `silence`. Pushes go out from a thread of its own, one at
/// a time; one that fails is tried again a second later.
class node_watch {
 public:
  struct options {
    std::string urls;
    std::filesystem::path ca_file;  ///< empty for a loopback bus
    std::filesystem::path system_creds;
    /// The account's JWT as it stands now, with every revocation (bus_home::account_jwt).
    std::function<result<std::string>()> account_jwt;
    std::chrono::milliseconds silence = defaults::bus::node_silence;
  };

  static result<std::unique_ptr<node_watch>> start(options o);
  ~node_watch();
  node_watch(const node_watch&) = delete;
  node_watch& operator=(const node_watch&) = delete;

  /// Pushes that a node accepted so far.
  std::uint64_t pushes() const;

 private:
  explicit node_watch(options o) : opts_(std::move(o)) {}
  void on_stats(const std::string& subject);
  void run();
  result<> push();

  options opts_;
  std::unique_ptr<nats_transport> transport_;
  subscription sub_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::chrono::steady_clock::time_point> seen_;  ///< node id -> last heard
  bool due_ = false;
  bool quit_ = false;
  std::uint64_t pushes_ = 0;
  std::thread thread_;
};

}  // namespace mk::bus
