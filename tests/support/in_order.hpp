#pragma once

#include <algorithm>
#include <string>
#include <vector>

namespace mk::test {

/// Whether `events` holds `wanted` in this order (other events may come in between): how tests
/// read a JobLog.
inline bool in_order(const std::vector<std::string>& events,
                     const std::vector<std::string>& wanted) {
  auto it = events.begin();
  for (const auto& w : wanted) {
    it = std::find(it, events.end(), w);
    if (it == events.end()) return false;
    ++it;
  }
  return true;
}

}  // namespace mk::test
