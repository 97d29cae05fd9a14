#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <utility>

#include "nbd/checkpoint.hpp"

namespace mk::nbd {

enum class progress_mode { none, bar, json };

struct progress_sample {
  copy_state state;
  std::uint64_t bytes_done;  ///< settled: copied, or skipped as holes and zeroes
  std::uint64_t bytes_total;
  std::uint64_t bytes_skipped;  ///< never read: the source reported holes or zeroes
  double elapsed_s;
};

/// Shows a copy's progress: JSON lines on stdout for supervisors, or a bar on a terminal.
/// A reader that goes away or stops reading never blocks or stops the copy: lines that
/// cannot be written at once are dropped, and a closed pipe ends the output for good.
class progress_reporter {
 public:
  explicit progress_reporter(progress_mode mode);

  /// Called as often as the copier likes; prints at most every progress interval, and always
  /// when `final` is set.
  void update(const progress_sample& s, bool final);

 private:
  double rate(std::chrono::steady_clock::time_point now, std::uint64_t bytes_done);
  /// JSON lines only: whether the copy moved enough, changed state, or was quiet long enough
  /// (defaults::copy::progress_quiet_interval) to be worth a line. A supervisor relays every
  /// line, so a slow copy's lines cost more than the copy.
  bool worth_a_line(const progress_sample& s, std::chrono::steady_clock::time_point now) const;
  void emit(const char* text, std::size_t length, bool final);

  progress_mode mode_;
  int fd_;
  bool broken_ = false;
  std::chrono::steady_clock::time_point next_;
  std::chrono::steady_clock::time_point last_line_;
  copy_state last_state_ = copy_state::copying;
  std::uint64_t last_bytes_ = 0;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> samples_;
};

}  // namespace mk::nbd
