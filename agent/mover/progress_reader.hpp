#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent/mover/error.hpp"
#include "nbd/checkpoint.hpp"

namespace mk::vma {

/// One line of `migratekit copy --progress=json` (docs/mover.md).
struct progress_line {
  nbd::copy_state state = nbd::copy_state::copying;
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
  std::uint64_t bytes_skipped = 0;
  std::uint64_t rate_bps = 0;

  friend bool operator==(const progress_line&, const progress_line&) = default;
};

/// Parses one line; nothing if it is not a JSON object with the documented fields.
std::optional<progress_line> parse_progress_line(std::string_view line);

/// Splits what arrives on a mover's stdout into lines and keeps the last one that parses.
/// A line longer than `max_line` cannot be progress: it is dropped (and counted) rather than
/// buffered without bound.
class progress_reader {
 public:
  explicit progress_reader(std::size_t max_line) : max_line_(max_line) {}

  /// Takes the next bytes read from the pipe; returns whether a new line parsed.
  bool feed(std::string_view bytes);

  const std::optional<progress_line>& latest() const { return latest_; }
  std::uint64_t malformed() const { return malformed_; }

 private:
  void take_line(std::string_view line);

  std::size_t max_line_;
  std::string partial_;
  bool overlong_ = false;  ///< the partial line was dropped; skip up to its newline
  std::optional<progress_line> latest_;
  bool fresh_ = false;
  std::uint64_t malformed_ = 0;
};

}  // namespace mk::vma
