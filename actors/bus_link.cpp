#include "actors/bus_link.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <random>

namespace mk::actors {

namespace {

// Ids unique per sender across restarts: a random stem per process, then a counter.
std::string random_stem() {
  std::random_device rd;
  return fmt::format("{:08x}", rd());
}

}  // namespace

std::int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

bus_link::bus_link(std::shared_ptr<bus::transport> t, std::string prefix, std::string from)
    : transport_(std::move(t)),
      subjects_(std::move(prefix)),
      from_(std::move(from)),
      id_stem_(random_stem()) {}

msg::header bus_link::header() const {
  return {fmt::format("{}-{}", id_stem_, next_id_.fetch_add(1) + 1), unix_ms(), from_};
}

bus::result<> bus_link::send(std::string_view subject, const msg::bytes& data,
                             std::string_view type) const {
  auto r = transport_->publish(subject, data);
  if (!r) spdlog::warn("{}: {} on {} not sent: {}", from_, type, subject, r.error().message);
  return r;
}

}  // namespace mk::actors
