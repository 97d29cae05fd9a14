#include "models/stop_protocol.hpp"

#include <algorithm>

namespace mk::actors {

using msg::participant;

namespace {

constexpr std::array<participant, 3> quiesce_parts{participant::vma_process, participant::scheduler,
                                                   participant::poller};

}  // namespace

stop_protocol::stop_protocol(options opts, timing t, time_point now)
    : opts_(opts), timing_(t), started_(now), quiesce_deadline_(now + t.grace + t.quiesce_extra) {}

std::vector<stop_protocol::send_stop> stop_protocol::begin() {
  std::vector<send_stop> out;
  for (auto p : quiesce_parts) ask(p, started_, out);
  return out;
}

void stop_protocol::ask(participant who, time_point now, std::vector<send_stop>& out) {
  auto& s = at(who);
  s.asked = true;
  s.last_sent = now;
  // A mover that finished its copy leaves a complete volume: it is never deleted.
  auto volumes = mover_completed_ ? msg::volume_action::keep : opts_.volumes;
  out.push_back(send_stop{who, opts_.mode, volumes});
}

std::vector<stop_protocol::send_stop> stop_protocol::confirm(participant who, msg::outcome result,
                                                             std::string detail, time_point now,
                                                             bool mover_completed) {
  std::vector<send_stop> out;
  auto& s = at(who);
  // Idempotent: late, repeated or unasked confirmations change nothing.
  if (settled_ || s.result || !s.asked) return out;
  s.result = result;
  s.detail = std::move(detail);
  if (who == participant::vma_process) {
    if (result == msg::outcome::failed) {
      // A mover may still write: the volume must not be touched.
      settle(msg::job_state::failed, "stop_failed: vma_process: " + s.detail);
      return out;
    }
    mover_completed_ = mover_completed;
    phase_ = phase::volumes;
    volumes_deadline_ = now + timing_.volumes_deadline;
    ask(participant::volume, now, out);
  } else if (who == participant::volume && result == msg::outcome::failed) {
    settle(msg::job_state::failed, "stop_failed: volume: " + s.detail);
    return out;
  }
  maybe_settle(now, out);
  return out;
}

void stop_protocol::maybe_settle(time_point, std::vector<send_stop>&) {
  for (const auto& s : parts_)
    if (!s.result) return;
  // Scheduler and poller failures are reported in the participants, but they touch no data:
  // the stop itself still holds.
  if (mover_completed_)
    settle(msg::job_state::completed, "");
  else if (opts_.volumes == msg::volume_action::remove)
    settle(msg::job_state::cancelled, "");
  else
    settle(msg::job_state::stopped, "");
}

void stop_protocol::settle(msg::job_state st, std::string error) {
  settled_ = settlement{st, std::move(error)};
  phase_ = phase::settled;
}

std::vector<stop_protocol::send_stop> stop_protocol::escalate(time_point now) {
  std::vector<send_stop> out;
  if (settled_ || opts_.mode == msg::stop_mode::force) return out;
  opts_.mode = msg::stop_mode::force;
  if (!at(participant::vma_process).result) ask(participant::vma_process, now, out);
  return out;
}

std::vector<stop_protocol::send_stop> stop_protocol::tick(time_point now) {
  std::vector<send_stop> out;
  if (settled_) return out;
  if (now >= quiesce_deadline_)
    for (auto p : quiesce_parts)
      if (!at(p).result) {
        settle(msg::job_state::failed, "stop_unconfirmed: " + std::string(msg::name_of(p)));
        return out;
      }
  if (now >= volumes_deadline_ && !at(participant::volume).result) {
    settle(msg::job_state::failed, "stop_unconfirmed: volume");
    return out;
  }
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    auto& s = parts_[i];
    if (s.asked && !s.result && now - s.last_sent >= timing_.republish)
      ask(static_cast<participant>(i), now, out);
  }
  return out;
}

const std::optional<msg::outcome>& stop_protocol::outcome_of(participant who) const {
  return at(who).result;
}

const std::string& stop_protocol::detail_of(participant who) const { return at(who).detail; }

stop_protocol::time_point stop_protocol::next_deadline() const {
  auto next = time_point::max();
  if (settled_) return next;
  bool quiesce_pending = std::any_of(quiesce_parts.begin(), quiesce_parts.end(),
                                     [&](participant p) { return !at(p).result; });
  if (quiesce_pending) next = std::min(next, quiesce_deadline_);
  if (at(participant::volume).asked && !at(participant::volume).result)
    next = std::min(next, volumes_deadline_);
  for (const auto& s : parts_)
    if (s.asked && !s.result) next = std::min(next, s.last_sent + timing_.republish);
  return next;
}

}  // namespace mk::actors
