#include "oma/volumes/metadata.hpp"

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "messages/subjects.hpp"
#include "sys/atomic_file.hpp"

namespace mk::volumes {

result<volume_record> read_record(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return fail(errc::not_found, "no volume record " + path.string());
    return fail_errno(errc::system, "open " + path.string(), errno);
  }
  std::stringstream text;
  text << in.rdbuf();
  const auto json = nlohmann::json::parse(text.str(), nullptr, false);
  const auto bad = [&path](const std::string& why) {
    return fail(errc::system, "volume record " + path.string() + ": " + why);
  };
  if (!json.is_object()) return bad("not a JSON object");
  volume_record r;
  const auto id = json.find("id");
  const auto size = json.find("size");
  const auto state = json.find("state");
  const auto resting = json.find("resting");
  const auto checkpoint = json.find("checkpoint");
  if (id == json.end() || !id->is_string() || size == json.end() || !size->is_number_unsigned() ||
      state == json.end() || !state->is_string() || resting == json.end() ||
      !resting->is_string() || checkpoint == json.end() || !checkpoint->is_string()) {
    return bad("missing or mistyped fields");
  }
  r.id = id->get<std::string>();
  r.size = size->get<std::uint64_t>();
  r.checkpoint = checkpoint->get<std::string>();
  if (const auto at = json.find("served_at"); at != json.end() && at->is_string())
    r.served_at = at->get<std::string>();
  // The id inside must be the one in the file name: nothing else may pick a path.
  if (!msg::valid_id(r.id) || path.filename() != r.id + ".json") return bad("wrong id");
  const auto s = parse_volume_state(state->get<std::string>());
  const auto rs = parse_volume_state(resting->get<std::string>());
  if (!s || !rs || *rs == volume_state::attached) return bad("bad state");
  r.state = *s;
  r.resting = *rs;
  return r;
}

result<void> write_record(const std::filesystem::path& path, const volume_record& record) {
  const nlohmann::json json = {{"id", record.id},
                               {"size", record.size},
                               {"state", to_string(record.state)},
                               {"resting", to_string(record.resting)},
                               {"checkpoint", record.checkpoint},
                               {"served_at", record.served_at}};
  const std::string text = json.dump() + "\n";
  if (auto w = sys::write_file_atomically(path, text, 0600); !w)
    return fail(errc::system, w.error().message);
  return {};
}

}  // namespace mk::volumes
