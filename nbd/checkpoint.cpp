#include "nbd/checkpoint.hpp"

#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sys/atomic_file.hpp"

namespace mk::nbd {

namespace {

using json = nlohmann::json;

constexpr int format_version = 1;

}  // namespace

std::optional<copy_state> copy_state_from(std::string_view s) {
  for (auto st : {copy_state::copying, copy_state::draining, copy_state::stopped,
                  copy_state::completed, copy_state::failed})
    if (s == to_string(st)) return st;
  return std::nullopt;
}

namespace {

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%FT%TZ", &tm);
  return buf;
}

}  // namespace

const char* to_string(copy_state s) {
  switch (s) {
    case copy_state::copying:
      return "copying";
    case copy_state::draining:
      return "draining";
    case copy_state::stopped:
      return "stopped";
    case copy_state::completed:
      return "completed";
    case copy_state::failed:
      return "failed";
  }
  return "unknown";
}

result<checkpoint> load_checkpoint(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(errc::usage, "checkpoint " + path, "cannot read it: " + errno_text(errno));
  std::stringstream text;
  text << in.rdbuf();
  auto bad = [&](const std::string& why) { return fail(errc::usage, "checkpoint " + path, why); };
  json j = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("not a migratekit checkpoint (invalid JSON)");
  try {
    if (j.value("version", 0) != format_version)
      return bad("unsupported checkpoint version " + j.value("version", json()).dump());
    checkpoint cp;
    auto st = copy_state_from(j.at("state").get<std::string>());
    if (!st) return bad("unknown state " + j.at("state").dump());
    cp.state = *st;
    cp.source = j.at("source").get<std::string>();
    cp.target = j.at("target").get<std::string>();
    cp.source_size = j.at("source_size").get<std::uint64_t>();
    cp.target_size = j.at("target_size").get<std::uint64_t>();
    cp.bytes_skipped = j.value("bytes_skipped", std::uint64_t{0});
    auto hwm = j.at("hwm").get<std::uint64_t>();
    auto above = j.at("done").get<std::vector<std::pair<std::uint64_t, std::uint64_t>>>();
    for (auto [offset, length] : above)
      if (offset + length < offset || offset + length > cp.source_size)
        return bad("a done range lies outside the disk");
    if (hwm > cp.source_size) return bad("the high-water mark lies outside the disk");
    cp.done = range_set(hwm, above);
    if (j.contains("error") && j["error"].is_string()) cp.error = j["error"].get<std::string>();
    return cp;
  } catch (const json::exception& e) {
    return bad(std::string("malformed: ") + e.what());
  }
}

result<> save_checkpoint(const std::string& path, const checkpoint& cp) {
  json j = {{"version", format_version},
            {"state", to_string(cp.state)},
            {"source", cp.source},
            {"target", cp.target},
            {"source_size", cp.source_size},
            {"target_size", cp.target_size},
            {"hwm", cp.done.hwm()},
            {"done", cp.done.above()},
            {"bytes_done", cp.done.bytes()},
            {"bytes_skipped", cp.bytes_skipped},
            {"error", cp.error ? json(*cp.error) : json(nullptr)},
            {"updated_at", utc_now()}};
  // Paths are bytes, not always UTF-8: replace what JSON cannot carry rather than throw.
  const auto text = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  if (auto w = sys::write_file_atomically(path, text, 0644); !w)
    return fail(errc::system, "checkpoint " + path, w.error().message);
  return {};
}

}  // namespace mk::nbd
