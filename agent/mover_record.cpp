#include "agent/mover_record.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "messages/subjects.hpp"
#include "sys/atomic_file.hpp"

namespace mk::actors {

namespace {

using json = nlohmann::json;

vma::result<> fsync_dir(const std::filesystem::path& dir) {
  if (auto r = sys::fsync_dir(dir); !r) return vma::fail(vma::errc::system, r.error().message);
  return {};
}

json to_json(const mover_record& r) {
  json j = {{"job", r.job},
            {"pid", r.id.pid},
            {"start_time", r.id.start_time},
            {"checkpoint", r.checkpoint},
            {"started_at", r.started_at},
            {"stopping", nullptr},
            {"ended", nullptr}};
  if (r.stopping)
    j["stopping"] = {{"stop_id", r.stopping->stop_id},
                     {"term_sent_at", r.stopping->term_sent_at},
                     {"grace_ms", r.stopping->grace_ms}};
  if (r.ended) {
    j["ended"] = {{"exit_code", r.ended->exit_code},
                  {"detail", r.ended->detail},
                  {"completed", r.ended->completed},
                  {"bytes_done", r.ended->bytes_done},
                  {"ended_at", r.ended->ended_at}};
  }
  return j;
}

// Reads one typed field; false if it is missing or of another type.
template <class T>
bool field(const json& j, const char* key, T& out) {
  const auto it = j.find(key);
  if (it == j.end()) return false;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) return false;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return false;
  } else {
    if (!it->is_number_integer()) return false;
  }
  out = it->get<T>();
  return true;
}

}  // namespace

vma::result<> write_mover_record(const std::filesystem::path& dir, const mover_record& r,
                                 sys::survives what) {
  if (!msg::valid_id(r.job)) return vma::fail(vma::errc::invalid, "mover record: bad job id");
  const std::string text = to_json(r).dump() + "\n";
  if (auto w = sys::write_file_atomically(dir / (r.job + ".json"), text, 0600,
                                          sys::existing::replace, what);
      !w)
    return vma::fail(vma::errc::system, w.error().message);
  return {};
}

vma::result<mover_record> read_mover_record(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return vma::fail_errno(vma::errc::system, "open " + path.string(), errno);
  std::stringstream text;
  text << in.rdbuf();
  const auto j = json::parse(text.str(), nullptr, false);
  const auto bad = [&path](const std::string& why) {
    return vma::fail(vma::errc::invalid, "mover record " + path.string() + ": " + why);
  };
  if (!j.is_object()) return bad("not a JSON object");
  mover_record r;
  std::int64_t pid = 0;
  std::int64_t start_time = 0;
  if (!field(j, "job", r.job) || !field(j, "pid", pid) || !field(j, "start_time", start_time) ||
      !field(j, "checkpoint", r.checkpoint) || !field(j, "started_at", r.started_at))
    return bad("missing or mistyped fields");
  // The names inside must be ids and the job the file's own name: nothing else picks a path
  // or a process.
  if (!msg::valid_id(r.job) || !msg::valid_id(r.checkpoint) || path.filename() != r.job + ".json")
    return bad("wrong job or checkpoint name");
  if (pid <= 0 || start_time <= 0) return bad("bad pid or start time");
  r.id.pid = static_cast<pid_t>(pid);
  r.id.start_time = static_cast<std::uint64_t>(start_time);
  if (const auto s = j.find("stopping"); s != j.end() && !s->is_null()) {
    mover_record::stop_sent sent;
    if (!s->is_object() || !field(*s, "stop_id", sent.stop_id) ||
        !field(*s, "term_sent_at", sent.term_sent_at) || !field(*s, "grace_ms", sent.grace_ms) ||
        !msg::valid_id(sent.stop_id) || sent.grace_ms < 0)
      return bad("missing or mistyped fields in `stopping`");
    r.stopping = std::move(sent);
  }
  if (const auto e = j.find("ended"); e != j.end() && !e->is_null()) {
    if (!e->is_object()) return bad("mistyped `ended`");
    mover_end end;
    std::int64_t bytes = 0;
    if (!field(*e, "exit_code", end.exit_code) || !field(*e, "detail", end.detail) ||
        !field(*e, "completed", end.completed) || !field(*e, "bytes_done", bytes) ||
        !field(*e, "ended_at", end.ended_at) || bytes < 0)
      return bad("missing or mistyped fields in `ended`");
    end.bytes_done = static_cast<std::uint64_t>(bytes);
    r.ended = std::move(end);
  }
  return r;
}

vma::result<std::vector<mover_record>> read_mover_records(const std::filesystem::path& dir) {
  std::vector<mover_record> out;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return out;
    return vma::fail(vma::errc::system, "read " + dir.string() + ": " + ec.message());
  }
  for (const auto& entry : it) {
    if (entry.path().extension() != ".json") continue;  // *.json.tmp: a write that crashed
    auto r = read_mover_record(entry.path());
    if (!r) {
      spdlog::warn("skipped: {}", r.error().message);
      continue;
    }
    out.push_back(std::move(*r));
  }
  return out;
}

checkpoint_view read_checkpoint_view(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  auto cp = nbd::load_checkpoint(path.string());
  if (!cp) return {std::nullopt, cp.error().message};
  return {std::move(*cp), {}};
}

std::string describe_checkpoint(const checkpoint_view& v) {
  if (v.cp) {
    std::string text = std::string(", checkpoint ") + nbd::to_string(v.cp->state);
    if (v.cp->error) text += ": " + *v.cp->error;
    return text;
  }
  if (!v.problem.empty()) return ", checkpoint unreadable: " + v.problem;
  return ", no checkpoint";
}

vma::result<> remove_mover_record(const std::filesystem::path& dir, const std::string& job) {
  if (!msg::valid_id(job)) return vma::fail(vma::errc::invalid, "mover record: bad job id");
  const auto path = dir / (job + ".json");
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return {};
    return vma::fail_errno(vma::errc::system, "remove " + path.string(), errno);
  }
  return fsync_dir(dir);
}

}  // namespace mk::actors
