#include "models/maintenance_mode.hpp"

#include "config/defaults.hpp"
#include "messages/subjects.hpp"
#include "messages/text.hpp"
#include "models/job_record.hpp"

namespace mk::actors {

using nlohmann::json;

std::optional<maintenance_scope> maintenance_scope::parse(std::string_view text) {
  if (text == "all") return maintenance_scope{};
  if (text.starts_with("vma:") && msg::valid_id(text.substr(4)))
    return maintenance_scope{std::string(text.substr(4))};
  return std::nullopt;
}

json to_json(const maintenance_mode& m) {
  return {{"enabled", m.enabled},
          {"id", m.id.empty() ? json(nullptr) : json(m.id)},
          {"reason", m.reason},
          {"scope", m.scope.name()},
          {"max_parallel", m.max_parallel},
          {"resume_after", m.resume_after},
          {"since", m.since_ms ? json(rfc3339(m.since_ms)) : json(nullptr)},
          {"since_ms", m.since_ms},
          {"requested_by", m.requested_by},
          {"stopping", m.stopping},
          {"stopped", m.stopped},
          {"to_resume", m.to_resume},
          {"resumed", m.resumed}};
}

expected<maintenance_mode, std::string> maintenance_from_json(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return unexpected(std::string("not a JSON object"));
  try {
    maintenance_mode m;
    m.enabled = j.at("enabled").get<bool>();
    if (j.at("id").is_string()) m.id = j["id"].get<std::string>();
    m.reason = j.at("reason").get<std::string>();
    const auto scope = j.at("scope").get<std::string>();
    auto parsed = maintenance_scope::parse(scope);
    if (!parsed) return unexpected("scope: \"all\" or \"vma:ID\" expected, got \"" + scope + "\"");
    m.scope = std::move(*parsed);
    m.max_parallel = j.at("max_parallel").get<std::uint32_t>();
    m.resume_after = j.at("resume_after").get<bool>();
    m.since_ms = j.at("since_ms").get<std::int64_t>();
    m.requested_by = j.at("requested_by").get<std::string>();
    m.stopping = j.at("stopping").get<std::map<std::string, std::string>>();
    m.stopped = j.at("stopped").get<std::vector<std::string>>();
    m.to_resume = j.at("to_resume").get<std::vector<std::string>>();
    m.resumed = j.at("resumed").get<std::vector<std::string>>();
    return m;
  } catch (const json::exception& e) {
    return unexpected(std::string(e.what()));
  }
}

expected<void, std::string> check_switch(const msg::maintenance& m) {
  if (!maintenance_scope::parse(m.scope))
    return unexpected("scope: \"all\" or \"vma:ID\" expected, got \"" + m.scope.substr(0, 70) +
                      "\"");
  if (m.reason.size() > defaults::maintenance::max_reason)
    return unexpected("reason: at most " + std::to_string(defaults::maintenance::max_reason) +
                      " characters expected");
  if (!msg::printable(m.reason))
    return unexpected(std::string("reason: printable characters expected"));
  if (m.max_parallel > defaults::maintenance::max_parallel_limit)
    return unexpected("max_parallel: 1 to " +
                      std::to_string(defaults::maintenance::max_parallel_limit) + " expected");
  return {};
}

}  // namespace mk::actors
