#include "client/render.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "messages/job_states.hpp"
#include "messages/text.hpp"
#include "sys/units.hpp"

namespace mk::client {

using nlohmann::json;

namespace {

constexpr std::size_t name_width = 32;

/// The states in which a mover may still move data: a stop drains before it settles.
bool copying(const std::string& state) { return state == "replicating" || state == "stopping"; }

/// A stop record belongs on a job's line once the job has left the running states; a
/// replicating job may still carry the stop it was resumed from.
bool stop_relevant(const std::string& state) { return !msg::in_set(msg::is_active, state); }

std::string error_text(const json& job) {
  auto error = field_text(job, "error");
  if (error.empty() && field(job, "stalled") == true) return "stalled";
  return error;
}

/// "2/4 confirmed" for a stop in progress.
std::string confirmations(const json& stop) {
  const auto& parts = field(stop, "participants");
  if (!parts.is_object() || parts.empty()) return "";
  auto done = std::count_if(parts.begin(), parts.end(),
                            [](const json& v) { return v.is_string() && v != "pending"; });
  return fmt::format("{}/{} confirmed", done, parts.size());
}

}  // namespace

std::size_t text_width(std::string_view text) {
  // Every byte but a UTF-8 continuation byte (10xxxxxx) starts a code point.
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string clip(std::string_view text, std::size_t width) {
  if (text_width(text) <= width) return std::string(text);
  constexpr std::string_view ellipsis = "...";
  std::size_t keep = width > ellipsis.size() ? width - ellipsis.size() : 0;
  std::size_t end = 0;
  for (std::size_t points = 0; end < text.size(); ++end) {
    if ((static_cast<unsigned char>(text[end]) & 0xC0) != 0x80 && points++ == keep) break;
  }
  return std::string(text.substr(0, end)) + std::string(ellipsis.substr(0, width - keep));
}

std::string render_table(const table_row& header, const std::vector<table_row>& rows) {
  if (rows.empty()) return "";
  std::size_t columns = header.size();
  for (const auto& row : rows) columns = std::max(columns, row.size());
  auto cell = [](const table_row& row, std::size_t c) -> std::string_view {
    return c < row.size() ? std::string_view(row[c]) : std::string_view();
  };
  std::vector<std::size_t> width(columns, 0);
  std::vector<bool> used(columns, false);
  for (std::size_t c = 0; c < columns; ++c) {
    width[c] = text_width(cell(header, c));
    for (const auto& row : rows) {
      width[c] = std::max(width[c], text_width(cell(row, c)));
      used[c] = used[c] || !cell(row, c).empty();
    }
  }
  std::string out;
  auto line = [&](const table_row& row) {
    std::string text;
    std::size_t pad = 0;
    for (std::size_t c = 0; c < columns; ++c) {
      if (!used[c]) continue;
      auto value = cell(row, c);
      if (!text.empty() || pad) text.append(pad + 2, ' ');
      text.append(value);
      pad = width[c] - text_width(value);
    }
    text.erase(text.find_last_not_of(' ') + 1);
    out += text + "\n";
  };
  if (!header.empty()) line(header);
  for (const auto& row : rows) line(row);
  return out;
}

std::string render_pairs(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<table_row> rows;
  for (const auto& [label, value] : pairs)
    if (!value.empty()) rows.push_back({label, value});
  return render_table({}, rows);
}

std::string format_rate(double bytes_per_second) {
  if (!(bytes_per_second >= 1)) return "";
  return sys::human_bytes(static_cast<std::uint64_t>(bytes_per_second)) + "/s";
}

std::string format_duration(double seconds) {
  auto s = seconds > 0 ? static_cast<std::uint64_t>(seconds + 0.5) : 0;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
}

const json& field(const json& object, std::string_view key) {
  static const json none;
  if (!object.is_object()) return none;
  auto it = object.find(key);
  return it == object.end() ? none : *it;
}

std::string field_text(const json& object, std::string_view key) {
  const auto& v = field(object, key);
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::uint64_t field_u64(const json& object, std::string_view key) {
  const auto& v = field(object, key);
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer())
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, v.get<std::int64_t>()));
  if (v.is_number_float()) return static_cast<std::uint64_t>(std::max(0.0, v.get<double>()));
  return 0;
}

progress_cells progress_of(const json& job) {
  progress_cells cells;
  const auto& p = field(job, "progress");
  if (!p.is_object()) return cells;
  auto done = field_u64(p, "bytes_done");
  auto total = field_u64(p, "bytes_total");
  if (total > 0) {
    cells.percent = fmt::format(
        "{:.1f}%", 100.0 * static_cast<double>(std::min(done, total)) / static_cast<double>(total));
    cells.bytes = sys::human_bytes(done) + " / " + sys::human_bytes(total);
  } else if (done > 0) {
    cells.bytes = sys::human_bytes(done);
  }
  auto state = field_text(job, "state");
  if (!copying(state)) return cells;
  auto rate = static_cast<double>(field_u64(p, "rate_bps"));
  cells.rate = format_rate(rate);
  if (state == "replicating" && rate >= 1 && total > done)
    cells.eta = "eta " + format_duration(static_cast<double>(total - done) / rate);
  return cells;
}

std::string stop_summary(const json& stop) {
  if (!stop.is_object()) return "";
  auto text = field_text(stop, "id");
  auto reason = field_text(stop, "reason");
  if (!reason.empty()) text += " " + reason;
  if (field_text(stop, "mode") == "force") text += " force";
  if (field_text(stop, "volumes") == "delete") text += " delete";
  return text;
}

std::vector<std::string> participant_order(const json& participants) {
  static constexpr std::array<std::string_view, 4> protocol = {"scheduler", "poller", "vma_process",
                                                               "volume"};
  std::vector<std::string> order;
  if (!participants.is_object()) return order;
  for (auto name : protocol)
    if (participants.contains(name)) order.emplace_back(name);
  for (const auto& [name, outcome] : participants.items())
    if (std::find(protocol.begin(), protocol.end(), name) == protocol.end()) order.push_back(name);
  return order;
}

std::string jobs_table(const json& jobs) {
  std::vector<table_row> rows;
  if (jobs.is_array()) {
    for (const auto& job : jobs) {
      auto state = field_text(job, "state");
      auto p = progress_of(job);
      rows.push_back({field_text(job, "id"), clip(field_text(job, "name"), name_width), state,
                      field_text(job, "vma"), p.percent, p.bytes, p.rate,
                      stop_relevant(state) ? stop_summary(field(job, "stop")) : "",
                      error_text(job)});
    }
  }
  return render_table({"ID", "NAME", "STATE", "VMA", "PROGRESS", "BYTES", "RATE", "STOP", "ERROR"},
                      rows);
}

table_row job_row(const json& job) {
  auto state = field_text(job, "state");
  auto p = progress_of(job);
  std::string note = p.eta;
  const auto& stop = field(job, "stop");
  if (state == "stopping")
    note = "stop " + stop_summary(stop) + ": " + confirmations(stop);
  else if (state == "stopped")
    note = field_text(job, "resumable") == "true" ? "volume kept, resumable" : "volume kept";
  else if (state == "cancelled")
    note = "volume deleted";
  if (auto error = error_text(job); !error.empty())
    note = note.empty() ? error : note + ", " + error;
  return {field_text(job, "id"),
          clip(field_text(job, "name"), name_width),
          state,
          p.percent,
          p.bytes,
          p.rate,
          note};
}

std::string job_detail(const json& job) {
  auto p = progress_of(job);
  std::string progress = p.percent;
  for (const auto& part : {p.bytes, p.rate, p.eta})
    if (!part.empty()) progress += (progress.empty() ? "" : "  ") + part;
  const auto& figures = field(job, "progress");
  if (auto skipped = field_u64(figures, "bytes_skipped"))
    progress += ", " + sys::human_bytes(skipped) + " skipped as holes or zeroes";
  const auto& vol = field(job, "volume");
  std::string volume;
  for (const auto& part :
       {field_text(vol, "id"), field_text(vol, "state"),
        field_u64(vol, "size") ? sys::human_bytes(field_u64(vol, "size")) : std::string(),
        field_text(vol, "path")})
    if (!part.empty()) volume += (volume.empty() ? "" : "  ") + part;

  std::vector<std::pair<std::string, std::string>> pairs = {
      {"id", field_text(job, "id")},
      {"name", field_text(job, "name")},
      {"state", field_text(job, "state")},
      {"source", field_text(job, "source")},
      {"vma", field_text(job, "vma")},
      {"resumable", field_text(job, "resumable") == "true" ? "yes" : "no"},
      {"stalled", field(job, "stalled") == true ? "yes: no progress for a while" : ""},
      {"error", field_text(job, "error")},
      {"progress", progress},
      {"progress at", field_text(figures, "updated_at")},
      {"volume", volume},
      {"created", field_text(job, "created_at")},
      {"updated", field_text(job, "updated_at")}};
  const auto& stop = field(job, "stop");
  if (stop.is_object()) {
    auto grace = field_u64(stop, "grace_seconds");
    pairs.insert(pairs.end(),
                 {{"stop", field_text(stop, "id")},
                  {"  mode", field_text(stop, "mode") + ", volumes " + field_text(stop, "volumes")},
                  {"  reason", field_text(stop, "reason")},
                  {"  comment", field_text(stop, "comment")},
                  {"  grace", grace ? format_duration(static_cast<double>(grace)) : ""},
                  {"  requested by", field_text(stop, "requested_by")},
                  {"  requested at", field_text(stop, "requested_at")},
                  {"  settled at", field_text(stop, "settled_at")}});
    const auto& parts = field(stop, "participants");
    const auto& details = field(stop, "details");
    for (const auto& who : participant_order(parts)) {
      auto outcome = field_text(parts, who);
      if (auto detail = field_text(details, who); !detail.empty()) outcome += ": " + detail;
      pairs.emplace_back("  " + who, outcome);
    }
  }
  return render_pairs(pairs);
}

}  // namespace mk::client
