#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace mk::nbd {

/// The parts of a disk that are done: a high-water mark below which everything is done, plus
/// the disjoint ranges done above it. Copies proceed in disk order with a bounded number of
/// requests in flight, so the ranges above the mark stay few whatever the disk's size.
class range_set {
 public:
  range_set() = default;
  range_set(std::uint64_t hwm, const std::vector<std::pair<std::uint64_t, std::uint64_t>>& above);

  /// Adds [offset, offset + length), merging with neighbours and advancing the mark.
  void insert(std::uint64_t offset, std::uint64_t length);

  /// The first run not done inside [from, end): {start, stop}, or {end, end} when all is done.
  std::pair<std::uint64_t, std::uint64_t> next_gap(std::uint64_t from, std::uint64_t end) const;

  std::uint64_t hwm() const { return hwm_; }
  /// Bytes done, below and above the mark.
  std::uint64_t bytes() const { return bytes_; }
  /// The ranges above the mark as {offset, length}, in order.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> above() const;

 private:
  std::uint64_t hwm_ = 0;
  std::uint64_t bytes_ = 0;
  std::map<std::uint64_t, std::uint64_t> above_;  // start -> end, disjoint, not touching
};

}  // namespace mk::nbd
