#include "actors/participant.hpp"

#include <spdlog/spdlog.h>

namespace mk::actors {

std::optional<msg::stop_request> stop_answers::accept(const bus::envelope& e) const {
  auto request = msg::decode<msg::stop_request>(e.data);
  if (!request) {
    spdlog::warn("{}: dropped a malformed stop request on {}: {}", msg::name_of(who_), e.subject,
                 request.error().message);
    return std::nullopt;
  }
  if (request->to != msg::name_of(who_) || request->stop_id.empty() || !msg::valid_id(request->job))
    return std::nullopt;
  return std::move(*request);
}

std::optional<msg::stop_request> stop_answers::take(const bus_link& bus,
                                                    const bus::envelope& e) const {
  auto request = accept(e);
  if (!request) return std::nullopt;
  if (const auto* answer = answered(request->job, request->stop_id)) {
    repeat(bus, *answer);
    return std::nullopt;
  }
  return request;
}

const msg::stop_confirm* stop_answers::answered(const std::string& job,
                                                const std::string& stop_id) const {
  auto it = by_job_.find(job);
  return it != by_job_.end() && it->second.stop_id == stop_id ? &it->second : nullptr;
}

msg::stop_confirm stop_answers::remember(const msg::stop_request& request, msg::outcome result,
                                         std::string detail, bool completed) {
  msg::stop_confirm answer;
  answer.job = request.job;
  answer.stop_id = request.stop_id;
  answer.who = who_;
  answer.result = result;
  answer.detail = std::move(detail);
  answer.completed = completed;
  by_job_[request.job] = answer;
  return answer;
}

void stop_answers::confirm(const bus_link& bus, const msg::stop_request& request,
                           msg::outcome result, std::string detail, bool completed) {
  repeat(bus, remember(request, result, std::move(detail), completed));
}

void stop_answers::repeat(const bus_link& bus, const msg::stop_confirm& answer) const {
  const auto& s = bus.subjects();
  if (auto subject =
          agent_.empty() ? s.job_stopped(answer.job) : s.mover_stopped(agent_, answer.job))
    (void)bus.publish(*subject, answer);  // a failure is logged; the job actor asks again
}

bus::result<bus::subscription> subscribe_stops(const bus_link& bus, const caf::actor& participant) {
  return bus::subscribe_actor(bus.transport(), bus.subjects().all_stops(), participant);
}

}  // namespace mk::actors
