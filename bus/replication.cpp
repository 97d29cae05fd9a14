// JetStream state on a bus of several nodes: copies of each stream, and writes through a
// leader election (a bucket whose leader's node was lost, or whose partition heals, has no
// leader for seconds, and every write to it gets a 503 or no answer meanwhile: STACK.md).

#include <algorithm>
#include <thread>

#include "bus/nats_border.hpp"

namespace mk::bus::detail {

bool during_election(natsStatus s) {
  switch (s) {
    case NATS_TIMEOUT:
    case NATS_NO_RESPONDERS:
    case NATS_NOT_YET_CONNECTED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_STALE_CONNECTION:
      return true;
    default:
      return false;
  }
}

natsStatus retry_through_election(const jetstream& js, const std::function<natsStatus()>& attempt,
                                  bool& retried) {
  using clock = std::chrono::steady_clock;
  const auto until = clock::now() + js.election_wait;
  auto pause = defaults::bus::election_retry_first;
  retried = false;
  for (;;) {
    const auto s = attempt();
    if (s == NATS_OK || !during_election(s) || clock::now() + pause >= until) return s;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, defaults::bus::election_retry_max);
    retried = true;
  }
}

natsStatus retry_through_election(const jetstream& js, const std::function<natsStatus()>& attempt) {
  bool retried = false;
  return retry_through_election(js, attempt, retried);
}

result<> ensure_replicas(const jetstream& js, const std::string& name) {
  const auto what = where(*js.conn, "replicas of stream " + name);
  jsStreamInfo* info = nullptr;
  jsErrCode code{};
  auto s = js_GetStreamInfo(&info, js.js, name.c_str(), nullptr, &code);
  if (s != NATS_OK) return std::unexpected(nats_error(s, what, code));
  if (info->Config->Replicas < js.replicas) {
    info->Config->Replicas = js.replicas;
    jsStreamInfo* updated = nullptr;
    s = js_UpdateStream(&updated, js.js, info->Config, nullptr, &code);
    jsStreamInfo_Destroy(updated);
  }
  jsStreamInfo_Destroy(info);
  if (s != NATS_OK) return std::unexpected(nats_error(s, what, code));
  return {};
}

}  // namespace mk::bus::detail
