#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "nbd/endpoint.hpp"
#include "nbd/range_set.hpp"

namespace mk::nbd {

/// One step of a copy, in disk order.
struct copy_op {
  enum class kind {
    data,  ///< read from the source, write to the target
    zero,  ///< the source reads as zeroes and the target may not: zero it there
    skip,  ///< zeroes on both sides already: nothing to do
  } type;
  std::uint64_t offset;
  std::uint64_t length;
};

/// Walks an endpoint's extents in order, fetching a window at a time.
class extent_cursor {
 public:
  extent_cursor(endpoint& ep, std::uint64_t size) : ep_(ep), size_(size) {}

  /// The extent that holds `pos`, starting at `pos`. Positions must not go backwards.
  result<extent> at(std::uint64_t pos);

 private:
  endpoint& ep_;
  std::uint64_t size_;
  std::vector<extent> cache_;
  std::size_t next_ = 0;
};

/// Hands out the work of a copy in fixed slices, from one place, in disk order: data in
/// request-size slices, zeroes in large ones, and nothing for what a checkpoint says is done.
class planner {
 public:
  struct limits {
    std::uint64_t request_size;
    std::uint64_t max_zero_size;
  };

  planner(endpoint& src, endpoint& dst, range_set done, limits lim);

  /// The next step, or nothing once the whole disk is planned.
  result<std::optional<copy_op>> next();

 private:
  endpoint& dst_;
  extent_cursor src_extents_;
  extent_cursor dst_extents_;
  range_set done_;
  limits lim_;
  std::uint64_t size_;
  std::uint64_t pos_ = 0;
};

}  // namespace mk::nbd
