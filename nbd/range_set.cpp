#include "nbd/range_set.hpp"

#include <algorithm>

namespace mk::nbd {

range_set::range_set(std::uint64_t hwm,
                     const std::vector<std::pair<std::uint64_t, std::uint64_t>>& above)
    : hwm_(hwm), bytes_(hwm) {
  for (auto [offset, length] : above) insert(offset, length);
}

void range_set::insert(std::uint64_t offset, std::uint64_t length) {
  std::uint64_t start = std::max(offset, hwm_);
  std::uint64_t stop = offset + length;
  if (stop <= start) return;
  // Absorb every range that overlaps or touches [start, stop).
  auto it = above_.upper_bound(start);
  if (it != above_.begin() && std::prev(it)->second >= start) --it;
  std::uint64_t covered = 0;
  while (it != above_.end() && it->first <= stop) {
    start = std::min(start, it->first);
    stop = std::max(stop, it->second);
    covered += it->second - it->first;
    it = above_.erase(it);
  }
  bytes_ += (stop - start) - covered;
  if (start == hwm_)
    hwm_ = stop;
  else
    above_.emplace(start, stop);
}

std::pair<std::uint64_t, std::uint64_t> range_set::next_gap(std::uint64_t from,
                                                            std::uint64_t end) const {
  std::uint64_t pos = std::max(from, hwm_);
  auto it = above_.upper_bound(pos);
  if (it != above_.begin() && std::prev(it)->second > pos)
    pos = std::prev(it)->second;  // inside a done range: skip to its end
  if (pos >= end) return {end, end};
  std::uint64_t stop = it != above_.end() ? std::min(end, it->first) : end;
  return {pos, stop};
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> range_set::above() const {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  out.reserve(above_.size());
  for (auto [start, stop] : above_) out.emplace_back(start, stop - start);
  return out;
}

}  // namespace mk::nbd
