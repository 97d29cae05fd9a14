#pragma once

#include <array>
#include <optional>
#include <string_view>

/// The enumerations of the wire format. On the wire each is its name as a string (docs/states.md to
/// 6), so that any language can read it; a name outside the list is an error.
namespace mk::msg {

enum class stop_mode { graceful, force };
enum class volume_action { keep, remove };  ///< "delete" on the wire
enum class stop_reason { user, schedule, maintenance, batch, shutdown, bus };
enum class participant { scheduler, poller, vma_process, volume };
enum class outcome { ok, exited, killed, not_running, failed };
enum class job_state {
  queued,
  starting,
  replicating,
  stopping,
  stopped,
  cancelled,
  failed,
  completed
};
/// A mover as its agent lists it (hello, status): running, or ended and not yet started again.
enum class mover_state { running, exited };
/// What a mover's progress says it is doing: the mover's own states (its checkpoint's), and
/// `exited` once, from its agent, when the process ended by itself.
enum class progress_state { copying, draining, stopped, completed, failed, exited };

/// Each enumeration's names, in declaration order: the one table both directions use.
template <class E>
struct enum_names;

template <>
struct enum_names<stop_mode> {
  static constexpr std::array<std::string_view, 2> names{"graceful", "force"};
};
template <>
struct enum_names<volume_action> {
  static constexpr std::array<std::string_view, 2> names{"keep", "delete"};
};
template <>
struct enum_names<stop_reason> {
  static constexpr std::array<std::string_view, 6> names{"user",  "schedule", "maintenance",
                                                         "batch", "shutdown", "bus"};
};
template <>
struct enum_names<participant> {
  static constexpr std::array<std::string_view, 4> names{"scheduler", "poller", "vma_process",
                                                         "volume"};
};
template <>
struct enum_names<outcome> {
  static constexpr std::array<std::string_view, 5> names{"ok", "exited", "killed", "not_running",
                                                         "failed"};
};
template <>
struct enum_names<job_state> {
  static constexpr std::array<std::string_view, 8> names{"queued",   "starting", "replicating",
                                                         "stopping", "stopped",  "cancelled",
                                                         "failed",   "completed"};
};
template <>
struct enum_names<mover_state> {
  static constexpr std::array<std::string_view, 2> names{"running", "exited"};
};
template <>
struct enum_names<progress_state> {
  static constexpr std::array<std::string_view, 6> names{"copying",   "draining", "stopped",
                                                         "completed", "failed",   "exited"};
};

template <class E>
concept wire_enum = requires {
  enum_names<E>::names;
};

template <wire_enum E>
constexpr std::string_view name_of(E e) {
  auto i = static_cast<std::size_t>(e);
  return i < enum_names<E>::names.size() ? enum_names<E>::names[i] : std::string_view("?");
}

template <wire_enum E>
constexpr std::optional<E> parse_enum(std::string_view s) {
  const auto& names = enum_names<E>::names;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}

}  // namespace mk::msg
