#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "nbd/copier.hpp"
#include "nbd/copy_shared.hpp"
#include "nbd/endpoint.hpp"
#include "nbd/planner.hpp"

namespace mk::nbd {

/// One thread driving one connection of each endpoint with its own request slots, whose
/// buffers are allocated once. Worker 0 also plans (it owns connection 0, where extents are
/// asked) and issues the flushes the coordinator requests.
class copy_worker final : public completion_sink {
 public:
  struct config {
    unsigned id;
    unsigned slots;
    std::uint64_t request_size;
    double io_timeout_s;
    std::chrono::steady_clock::duration drain;
    planner* plan;      ///< worker 0 only
    io_ref* flush_ref;  ///< worker 0 only: where the flush completes
    std::size_t queue_target;
    /// Room for gathering small reads into one write (0: each read is written by itself).
    std::uint64_t gather_bytes;
  };

  copy_worker(const config& cfg, endpoint& src, endpoint& dst, copy_shared& shared);
  ~copy_worker();

  void start();
  void join();
  /// Cuts a worker's wait short (after a change of phase, a flush request or quit).
  void wake();
  int wake_fd() const;

  void on_complete(std::uint32_t tag, int err) override { events_.emplace_back(tag, err); }

 private:
  using clock = std::chrono::steady_clock;
  enum class slot_state { idle, reading, writing };
  struct slot {
    copy_op op{};
    slot_state state = slot_state::idle;
    char* buf = nullptr;
    io_ref ref{};
    clock::time_point issued{};
  };

  void run();
  void refill();
  void dispatch();
  void start(slot& s);
  void submitted(slot& s, slot_state state, result<> r);
  void on_read_done(slot& s, int err);
  void on_write_done(slot& s, int err);
  void release(slot& s);
  /// Small reads that follow each other, written as one: see defaults::copy::gather_below.
  struct gathering {
    std::unique_ptr<char[]> buf;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    clock::time_point since{};   ///< when its first read joined
    clock::time_point issued{};  ///< when its write went out
    bool writing = false;
    io_ref ref{};
  };
  bool gather(const slot& s);
  void write_gathered_if_due();
  void write_gathered();
  void on_gathered_written(int err, std::optional<error> why = std::nullopt);
  /// Everything planned was taken (with nothing in flight: the copy is over).
  bool copy_over();
  void poll_once();
  void check_stalls();
  void fail(error e, bool abandon = false);

  config cfg_;
  endpoint& src_;
  endpoint& dst_;
  copy_shared& shared_;
  std::unique_ptr<char[]> buffers_;
  std::vector<char> zeroes_;  ///< for targets that cannot zero cheaply
  std::vector<slot> slots_;
  std::vector<std::uint32_t> free_;
  std::vector<std::pair<std::uint32_t, int>> events_;
  std::vector<slot*> starting_;
  gathering gathered_;
  unsigned reads_out_ = 0;  ///< slots in `reading`
  int wake_fd_ = -1;
  std::thread thread_;
};

}  // namespace mk::nbd
