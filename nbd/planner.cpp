#include "nbd/planner.hpp"

#include <algorithm>

#include "config/defaults.hpp"

namespace mk::nbd {

result<extent> extent_cursor::at(std::uint64_t pos) {
  while (next_ < cache_.size() && cache_[next_].end() <= pos) ++next_;
  if (next_ == cache_.size() || cache_[next_].offset > pos) {
    auto window = std::min(defaults::copy::extent_window, size_ - pos);
    auto fetched = ep_.extents(pos, window);
    if (!fetched) return std::unexpected(fetched.error());
    cache_ = std::move(*fetched);
    next_ = 0;
    while (next_ < cache_.size() && cache_[next_].end() <= pos) ++next_;
    // A server that answers for some other range gets no second chance to loop us forever:
    // what it did not describe is treated as data.
    if (next_ == cache_.size() || cache_[next_].offset > pos) {
      cache_.assign(1, extent{pos, window, false});
      next_ = 0;
    }
  }
  const auto& e = cache_[next_];
  auto end = std::min(e.end(), size_);
  return extent{pos, end - pos, e.zero};
}

planner::planner(endpoint& src, endpoint& dst, range_set done, limits lim)
    : dst_(dst),
      src_extents_(src, src.size()),
      dst_extents_(dst, dst.size()),
      done_(std::move(done)),
      lim_(lim),
      size_(src.size()) {}

result<std::optional<copy_op>> planner::next() {
  auto [start, stop] = done_.next_gap(pos_, size_);
  if (start >= size_) return std::optional<copy_op>{};
  pos_ = start;
  auto src = src_extents_.at(pos_);
  if (!src) return std::unexpected(src.error());
  std::uint64_t len = std::min(stop, src->end()) - pos_;
  copy_op op{copy_op::kind::data, pos_, 0};
  if (!src->zero) {
    len = std::min(len, lim_.request_size);
  } else {
    len = std::min(len, lim_.max_zero_size);
    op.type = copy_op::kind::zero;
    if (dst_.can_extents()) {
      auto dst = dst_extents_.at(pos_);
      if (!dst) return std::unexpected(dst.error());
      len = std::min(len, dst->length);
      if (dst->zero) op.type = copy_op::kind::skip;
    }
    if (op.type == copy_op::kind::zero && !dst_.can_zero())
      len = std::min(len, lim_.request_size);  // zeroed by writing a buffer of zeroes
  }
  op.length = len;
  pos_ += len;
  return std::optional<copy_op>{op};
}

}  // namespace mk::nbd
