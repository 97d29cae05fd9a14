#include "nbd/progress.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>

#include "config/defaults.hpp"
#include "sys/units.hpp"

namespace mk::nbd {

namespace {

using clock = std::chrono::steady_clock;

}  // namespace

progress_reporter::progress_reporter(progress_mode mode)
    : mode_(mode), fd_(mode == progress_mode::json ? STDOUT_FILENO : STDERR_FILENO) {}

double progress_reporter::rate(clock::time_point now, std::uint64_t bytes_done) {
  samples_.emplace_back(now, bytes_done);
  while (samples_.size() > 2 && now - samples_.front().first > defaults::copy::rate_window)
    samples_.pop_front();
  auto [t0, b0] = samples_.front();
  double secs = std::chrono::duration<double>(now - t0).count();
  return secs > 0 && bytes_done >= b0 ? static_cast<double>(bytes_done - b0) / secs : 0.0;
}

void progress_reporter::update(const progress_sample& s, bool final) {
  if (mode_ == progress_mode::none || broken_) return;
  auto now = clock::now();
  if (!final && now < next_) return;
  if (!final && mode_ == progress_mode::json && !worth_a_line(s, now)) return;
  next_ = now + defaults::copy::progress_interval;
  last_line_ = now;
  last_state_ = s.state;
  last_bytes_ = s.bytes_done;
  double bps = rate(now, s.bytes_done);
  char line[512];
  int n;
  if (mode_ == progress_mode::json) {
    n = std::snprintf(line, sizeof line,
                      "{\"state\":\"%s\",\"bytes_done\":%" PRIu64 ",\"bytes_total\":%" PRIu64
                      ",\"bytes_skipped\":%" PRIu64 ",\"rate_bps\":%.0f,\"elapsed_s\":%.3f}\n",
                      to_string(s.state), s.bytes_done, s.bytes_total, s.bytes_skipped, bps,
                      s.elapsed_s);
  } else {
    double frac = s.bytes_total ? static_cast<double>(s.bytes_done) / s.bytes_total : 1.0;
    constexpr int width = 30;
    char bar[width + 1];
    int filled = static_cast<int>(frac * width);
    for (int i = 0; i < width; ++i) bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    std::string eta = "--:--";
    if (bps > 0 && s.bytes_done < s.bytes_total) {
      auto left = static_cast<long>((s.bytes_total - s.bytes_done) / bps);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%ld:%02ld", left / 60, left % 60);
      eta = buf;
    }
    n = std::snprintf(line, sizeof line, "\r[%s] %5.1f%% %s / %s  %s/s  left %s  %-9s%s", bar,
                      frac * 100, sys::human_bytes(s.bytes_done).c_str(),
                      sys::human_bytes(s.bytes_total).c_str(),
                      sys::human_bytes(static_cast<std::uint64_t>(bps)).c_str(), eta.c_str(),
                      to_string(s.state), final ? "\n" : "");
  }
  if (n > 0) emit(line, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof line - 1), final);
}

bool progress_reporter::worth_a_line(const progress_sample& s, clock::time_point now) const {
  if (s.state != last_state_ || now - last_line_ >= defaults::copy::progress_quiet_interval)
    return true;
  const auto step = s.bytes_total / 1000 * defaults::copy::progress_step_per_mille;
  const auto moved =
      s.bytes_done > last_bytes_ ? s.bytes_done - last_bytes_ : last_bytes_ - s.bytes_done;
  return moved > 0 && moved >= step;
}

void progress_reporter::emit(const char* text, std::size_t length, bool final) {
  // Ask first whether the line fits: a reader that stopped reading must not block the copy.
  pollfd p{fd_, POLLOUT, 0};
  int ready = poll(&p, 1, final ? 200 : 0);
  if (ready <= 0) return;
  if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) {
    broken_ = true;
    return;
  }
  ssize_t n = ::write(fd_, text, length);
  if (n == -1 && (errno == EPIPE || errno == EBADF)) broken_ = true;
}

}  // namespace mk::nbd
