#pragma once

#include <nlohmann/json.hpp>
#include <string>

/// Job objects shaped as the API sends them (docs/api.md), for the ctl tests.
namespace mk::client::samples {

/// A job half copied: 1 GiB of 2 GiB at 100 MiB/s.
inline nlohmann::json job(const std::string& id = "r-7f3a9c21",
                          const std::string& state = "replicating") {
  return {{"id", id},
          {"name", "web-01 disk 0"},
          {"state", state},
          {"source", "nbd+unix:///?socket=/run/src.sock"},
          {"vma", "local"},
          {"resumable", false},
          {"error", nullptr},
          {"stalled", false},
          {"volume",
           {{"id", "v-1c2d"},
            {"state", "attached"},
            {"size", 2147483648},
            {"path", "/srv/mk/volumes/v-1c2d.img"}}},
          {"progress",
           {{"bytes_done", 1073741824},
            {"bytes_total", 2147483648},
            {"bytes_skipped", 0},
            {"rate_bps", 104857600},
            {"updated_at", "2026-11-28T22:00:00.000Z"}}},
          {"stop", nullptr},
          {"created_at", "2026-11-28T21:50:00.000Z"},
          {"updated_at", "2026-11-28T22:00:00.000Z"}};
}

/// The stop record of a job, its participants "pending" but those named in `confirmed`.
inline nlohmann::json stop(const std::string& id = "s-91ab",
                           const nlohmann::json& confirmed = nlohmann::json::object()) {
  nlohmann::json parts = {{"scheduler", "pending"},
                          {"poller", "pending"},
                          {"vma_process", "pending"},
                          {"volume", "pending"}};
  for (const auto& [who, outcome] : confirmed.items()) parts[who] = outcome;
  return {{"id", id},
          {"mode", "graceful"},
          {"volumes", "keep"},
          {"reason", "user"},
          {"comment", nullptr},
          {"grace_seconds", 30},
          {"requested_by", "api"},
          {"requested_at", "2026-11-28T22:00:01.000Z"},
          {"settled_at", nullptr},
          {"participants", parts},
          {"details", nlohmann::json::object()}};
}

/// `job` in `state` with `stop`, updated at `updated_at`.
inline nlohmann::json stopping(const std::string& state, const nlohmann::json& stop,
                               const std::string& updated_at) {
  auto j = job("r-7f3a9c21", state);
  j["stop"] = stop;
  j["updated_at"] = updated_at;
  return j;
}

}  // namespace mk::client::samples
