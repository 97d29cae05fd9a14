#include "messages/subjects.hpp"

namespace mk::msg {

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(id.front())) return false;
  for (char c : id)
    if (!lower_or_digit(c) && c != '-') return false;
  return true;
}

bool valid_prefix(std::string_view prefix) {
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (prefix.empty() || prefix.size() > 32 || !lower_or_digit(prefix.front())) return false;
  for (char c : prefix)
    if (!lower_or_digit(c) && c != '-' && c != '_') return false;
  return true;
}

subjects::subjects(std::string prefix) : prefix_(std::move(prefix)) {}

std::optional<std::string> subjects::job(std::string_view id, std::string_view what) const {
  if (!valid_id(id)) return std::nullopt;
  return prefix_ + ".job." + std::string(id) + "." + std::string(what);
}

std::optional<std::string> subjects::vma(std::string_view id, std::string_view what) const {
  if (!valid_id(id)) return std::nullopt;
  return prefix_ + ".vma." + std::string(id) + "." + std::string(what);
}

std::optional<std::string> subjects::job_stop(std::string_view j) const { return job(j, "stop"); }
std::optional<std::string> subjects::job_stopped(std::string_view j) const {
  return job(j, "stopped");
}
std::optional<std::string> subjects::mover(std::string_view v, std::string_view j,
                                           std::string_view what) const {
  if (!valid_id(v) || !valid_id(j)) return std::nullopt;
  return prefix_ + ".vma." + std::string(v) + ".job." + std::string(j) + "." + std::string(what);
}
std::optional<std::string> subjects::mover_stop(std::string_view v, std::string_view j) const {
  return mover(v, j, "stop");
}
std::optional<std::string> subjects::mover_stopped(std::string_view v, std::string_view j) const {
  return mover(v, j, "stopped");
}
std::optional<std::string> subjects::mover_progress(std::string_view v, std::string_view j) const {
  return mover(v, j, "progress");
}
std::optional<std::string> subjects::job_state(std::string_view j) const { return job(j, "state"); }
std::optional<std::string> subjects::vma_start(std::string_view v) const { return vma(v, "start"); }
std::optional<std::string> subjects::vma_status(std::string_view v) const {
  return vma(v, "status");
}
std::optional<std::string> subjects::vma_hello(std::string_view v) const { return vma(v, "hello"); }
std::string subjects::maintenance() const { return prefix_ + ".maintenance"; }
std::string subjects::control_stop() const { return prefix_ + ".control.stop"; }
std::string subjects::control_replicate() const { return prefix_ + ".control.replicate"; }
std::string subjects::control_resume() const { return prefix_ + ".control.resume"; }
std::string subjects::all_stops() const { return prefix_ + ".job.*.stop"; }
std::string subjects::all_stopped() const { return prefix_ + ".job.*.stopped"; }
std::string subjects::all_states() const { return prefix_ + ".job.*.state"; }
std::string subjects::all_hellos() const { return prefix_ + ".vma.*.hello"; }
std::optional<std::string> subjects::agent_of(std::string_view subject) const {
  const auto head = prefix_ + ".vma.";
  if (!subject.starts_with(head)) return std::nullopt;
  const auto rest = subject.substr(head.size());
  const auto id = rest.substr(0, rest.find('.'));
  if (!valid_id(id)) return std::nullopt;
  return std::string(id);
}
std::string subjects::all_movers_stopped() const { return prefix_ + ".vma.*.job.*.stopped"; }
std::string subjects::all_movers_progress() const { return prefix_ + ".vma.*.job.*.progress"; }
std::optional<std::string> subjects::agent_mover_stops(std::string_view v) const {
  return vma(v, "job.*.stop");
}

}  // namespace mk::msg
