#include "agent/mover/progress_reader.hpp"

#include <nlohmann/json.hpp>

namespace mk::vma {

namespace {

bool count(const nlohmann::json& j, const char* key, std::uint64_t& out) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) return false;
  out = it->get<std::uint64_t>();
  return true;
}

}  // namespace

std::optional<progress_line> parse_progress_line(std::string_view line) {
  const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  const auto state = j.find("state");
  if (state == j.end() || !state->is_string()) return std::nullopt;
  auto named = nbd::copy_state_from(state->get<std::string>());
  if (!named) return std::nullopt;
  progress_line p;
  p.state = *named;
  if (!count(j, "bytes_done", p.bytes_done) || !count(j, "bytes_total", p.bytes_total) ||
      !count(j, "bytes_skipped", p.bytes_skipped) || !count(j, "rate_bps", p.rate_bps)) {
    return std::nullopt;
  }
  return p;
}

bool progress_reader::feed(std::string_view bytes) {
  fresh_ = false;
  while (!bytes.empty()) {
    const auto nl = bytes.find('\n');
    const auto piece = bytes.substr(0, nl);
    if (!overlong_) {
      if (partial_.size() + piece.size() > max_line_) {
        partial_.clear();
        overlong_ = true;
        ++malformed_;
      } else {
        partial_.append(piece);
      }
    }
    if (nl == std::string_view::npos) break;
    if (!overlong_) take_line(partial_);
    partial_.clear();
    overlong_ = false;
    bytes.remove_prefix(nl + 1);
  }
  return fresh_;
}

void progress_reader::take_line(std::string_view line) {
  if (line.empty()) return;
  if (auto p = parse_progress_line(line)) {
    latest_ = std::move(*p);
    fresh_ = true;
  } else {
    ++malformed_;
  }
}

}  // namespace mk::vma
