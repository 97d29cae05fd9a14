#pragma once

#include <map>
#include <optional>
#include <string>

#include "actors/bus_link.hpp"
#include "messages/catalogue.hpp"

namespace mk::actors {

/// What every participant of the stop protocol shares (docs/stop-protocol.md): picking the stop
/// requests addressed to it, and idempotency by stop id. A request that was answered already
/// gets the same answer again, without acting twice; the job actor re-sends until it hears.
/// One answer is kept per job (the latest stop's), so memory follows the number of jobs.
class stop_answers {
 public:
  explicit stop_answers(msg::participant who) : who_(who) {}

  /// The stop request in an envelope from `<prefix>.job.*.stop`, if it is one addressed to this
  /// participant; a malformed one is logged and dropped.
  std::optional<msg::stop_request> accept(const bus::envelope& e) const;

  /// The stop request in the envelope if this participant has yet to act on it. One it has
  /// answered already gets the same answer again (published here), and nothing to act on.
  std::optional<msg::stop_request> take(const bus_link& bus, const bus::envelope& e) const;

  /// The answer given to this job's stop `stop_id`, if it was answered.
  const msg::stop_confirm* answered(const std::string& job, const std::string& stop_id) const;

  /// Builds the confirmation and remembers it, without publishing it (for a participant whose
  /// answer must wait until another actor has recorded what it says).
  msg::stop_confirm remember(const msg::stop_request& request, msg::outcome result,
                             std::string detail, bool completed = false);

  /// Builds the confirmation, remembers it, and publishes it on `<prefix>.job.<job>.stopped`
  /// (an agent's: on its own subject, see answer_for_agent).
  void confirm(const bus_link& bus, const msg::stop_request& request, msg::outcome result,
               std::string detail, bool completed = false);

  /// Publishes a remembered answer again.
  void repeat(const bus_link& bus, const msg::stop_confirm& answer) const;

  msg::participant who() const { return who_; }

  /// The agent whose movers this participant answers for (the vma_process): its answers go to
  /// `<prefix>.vma.<agent>.job.<job>.stopped`, the only subjects its credentials may use.
  void answer_for_agent(std::string agent) { agent_ = std::move(agent); }

 private:
  msg::participant who_;
  std::string agent_;
  std::map<std::string, msg::stop_confirm> by_job_;
};

/// Delivers every `<prefix>.job.*.stop` to `participant` (as bus::envelope).
bus::result<bus::subscription> subscribe_stops(const bus_link& bus, const caf::actor& participant);

}  // namespace mk::actors
