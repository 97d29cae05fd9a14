#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// What `migratekit ctl` shows a person: aligned tables, sizes, rates and durations, and the
/// API's job objects in them. Pure functions of their arguments; a field that is missing or
/// null shows as an empty cell, never as an error, so that a newer server's answers still print.
namespace mk::client {

using table_row = std::vector<std::string>;

/// Columns two spaces apart, each as wide as its widest cell (in UTF-8 code points), the
/// header first unless it is empty; a column empty in every row is left out, and without rows
/// there is no table at all (""). Lines end in "\n" and carry no trailing spaces.
std::string render_table(const table_row& header, const std::vector<table_row>& rows);

/// "label  value" lines with the values aligned; a pair with an empty value is left out.
std::string render_pairs(const std::vector<std::pair<std::string, std::string>>& pairs);

/// Code points in UTF-8 text: its width on a terminal, near enough for names and ids.
std::size_t text_width(std::string_view text);

/// At most `width` code points: longer text is cut and ends in "...".
std::string clip(std::string_view text, std::size_t width);

/// "100.0 MiB/s"; empty for no rate.
std::string format_rate(double bytes_per_second);

/// "45s", "3m05s", "2h14m", "3d04h": whole seconds, the two largest units.
std::string format_duration(double seconds);

/// A member of an object; a null value when `object` is no object or lacks it (unlike
/// json::value, never throws).
const nlohmann::json& field(const nlohmann::json& object, std::string_view key);

/// A member as text: a string as it is, a number or boolean in JSON, null or missing as "".
std::string field_text(const nlohmann::json& object, std::string_view key);

/// A member as an unsigned number; 0 when missing, null or not a number.
std::uint64_t field_u64(const nlohmann::json& object, std::string_view key);

/// The progress cells of a job: "50.0%", "1.0 GiB / 2.0 GiB", "100.0 MiB/s" (the rate only
/// while the job moves data), each empty where the job has no figure for it.
struct progress_cells {
  std::string percent;
  std::string bytes;
  std::string rate;
  std::string eta;  ///< "eta 3m05s" while replicating at a known rate
};
progress_cells progress_of(const nlohmann::json& job);

/// "s-91ab user", with " force" and " delete" when the stop is not the default kind.
std::string stop_summary(const nlohmann::json& stop);

/// The participants of a stop in the order the protocol involves them, then any others.
std::vector<std::string> participant_order(const nlohmann::json& participants);

/// `ctl list`: one row per job (id, name, state, vma, progress, bytes, rate, stop, error).
std::string jobs_table(const nlohmann::json& jobs);

/// One job's row without a header, for the live display: id, name, state, progress, bytes,
/// rate, and what matters in its state (eta, the stop's confirmations, the error).
table_row job_row(const nlohmann::json& job);

/// `ctl show`: every field of a job, the stop and its participants included.
std::string job_detail(const nlohmann::json& job);

}  // namespace mk::client
