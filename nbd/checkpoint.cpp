#include "nbd/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace mk::nbd {

namespace {

using json = nlohmann::json;

constexpr int format_version = 1;

std::optional<copy_state> state_from(const std::string& s) {
  for (auto st : {copy_state::copying, copy_state::draining, copy_state::stopped,
                  copy_state::completed, copy_state::failed})
    if (s == to_string(st))
      return st;
  return std::nullopt;
}

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%FT%TZ", &tm);
  return buf;
}

result<> write_fully(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n == -1 && errno == EINTR)
      continue;
    if (n <= 0)
      return fail(errc::system, errno_text(n == 0 ? EIO : errno));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

result<> fsync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd == -1)
    return fail(errc::system, "open " + path + ": " + errno_text(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc == -1)
    return fail(errc::system, "fsync " + path + ": " + errno_text(err));
  return {};
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
  if (!in)
    return fail(errc::usage, "checkpoint " + path, "cannot read it: " + errno_text(errno));
  std::stringstream text;
  text << in.rdbuf();
  auto bad = [&](const std::string& why) {
    return fail(errc::usage, "checkpoint " + path, why);
  };
  json j = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return bad("not a migratekit checkpoint (invalid JSON)");
  try {
    if (j.value("version", 0) != format_version)
      return bad("unsupported checkpoint version " + j.value("version", json()).dump());
    checkpoint cp;
    auto st = state_from(j.at("state").get<std::string>());
    if (!st)
      return bad("unknown state " + j.at("state").dump());
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
    if (hwm > cp.source_size)
      return bad("the high-water mark lies outside the disk");
    cp.done = range_set(hwm, above);
    if (j.contains("error") && j["error"].is_string())
      cp.error = j["error"].get<std::string>();
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
  auto where = "checkpoint " + path;
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd == -1)
    return fail(errc::system, where, "cannot create " + tmp + ": " + errno_text(errno));
  // Paths are bytes, not always UTF-8: replace what JSON cannot carry rather than throw.
  auto written =
      write_fully(fd, j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
  int sync_rc = written ? ::fsync(fd) : 0;
  int sync_err = errno;
  ::close(fd);
  if (!written)
    return fail(errc::system, where, "cannot write " + tmp + ": " + written.error().message);
  if (sync_rc == -1)
    return fail(errc::system, where, "cannot fsync " + tmp + ": " + errno_text(sync_err));
  if (std::rename(tmp.c_str(), path.c_str()) == -1)
    return fail(errc::system, where, "cannot rename " + tmp + ": " + errno_text(errno));
  auto dir = std::filesystem::path(path).parent_path();
  if (auto synced = fsync_path(dir.empty() ? "." : dir.string(), O_RDONLY | O_DIRECTORY);
      !synced)
    return std::unexpected(std::move(synced.error()).context(where));
  return {};
}

}  // namespace mk::nbd
