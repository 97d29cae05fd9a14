#include "oma/volume_actor.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <caf/all.hpp>
#include <set>

#include "actors/atoms.hpp"
#include "actors/blocking_lanes.hpp"
#include "actors/errors.hpp"
#include "actors/participant.hpp"
#include "messages/caf_types.hpp"
#include "messages/text.hpp"
#include "models/ids.hpp"
#include "sys/units.hpp"

namespace mk::actors {

namespace {

/// What the work on the lanes needs: nothing of the actor's own state.
struct volume_work {
  std::shared_ptr<volumes::volume_backend> backend;
  volume_actor_options options;
};

struct volume_actor_state {
  std::shared_ptr<bus_link> bus;
  std::shared_ptr<volume_work> work;
  /// Volume work, one lane per volume id at a time (the same volume's steps in the order they
  /// were asked for), different volumes at once, as many as there are lanes. A start that
  /// finds every lane busy waits its turn; it does not fail.
  std::unique_ptr<blocking_lanes> lanes;
  stop_answers answers{msg::participant::volume};
  std::set<std::string> stops_under_way;  ///< stop ids being acted on: a repeat waits for it
  bus::subscription stops;
  static inline const char* name = "volume";
};

using volume_self = volume_hdl::stateful_pointer<volume_actor_state>;

/// The backend's kinds as the API's: a busy or existing volume is a state conflict.
caf::error to_caf(const volumes::error& e) {
  switch (e.code) {
    case volumes::errc::invalid:
      return make_error(errc::invalid, e.message);
    case volumes::errc::not_found:
      return make_error(errc::not_found, e.message);
    case volumes::errc::exists:
    case volumes::errc::busy:
      return make_error(errc::conflict, e.message);
    case volumes::errc::timeout:
    case volumes::errc::system:
      break;
  }
  return make_error(errc::internal, e.message);
}

/// Bytes the file system holds for a volume's data (st_blocks); nothing for a path that is
/// not a local file.
std::optional<std::uint64_t> allocated(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(st.st_blocks) * 512u;
}

std::string allocated_text(const volumes::volume_info& v) {
  const auto bytes = allocated(v.path);
  return bytes ? ", " + sys::human_bytes(*bytes) + " allocated" : "";
}

using attached = caf::expected<std::pair<std::string, std::uint64_t>>;

/// `size` is the source's, as its agent measured it: the OMA never opens a source.
attached attach(const volume_work& st, const std::string& id, std::uint64_t size,
                const std::string& agent) {
  if (!msg::valid_id(id)) return make_error(errc::invalid, "invalid volume id \"" + id + "\"");
  if (size == 0) return make_error(errc::invalid, "volume " + id + ": the source is empty");
  auto info = st.backend->info(id);
  if (!info && info.error().code != volumes::errc::not_found) return to_caf(info.error());
  if (info) {
    // A resume must write to a volume of the same disk.
    if (info->size != size) {
      return make_error(errc::conflict, "volume " + id + " holds " + std::to_string(info->size) +
                                            " bytes, the source " + std::to_string(size));
    }
  } else {
    auto created = st.backend->create(id, size);
    if (!created) return to_caf(created.error());
    spdlog::info("volume {}: created, {} bytes", id, size);
  }
  const auto remote = st.options.remote_for ? st.options.remote_for(agent)
                                            : std::optional<volumes::remote_access>();
  auto uri = st.backend->attach(id, remote);
  if (!uri) return to_caf(uri.error());
  return std::pair{std::move(*uri), size};
}

caf::expected<void> finish(const volume_work& st, const std::string& id, bool complete,
                           const std::string& checkpoint) {
  auto info = st.backend->info(id);
  if (!info) return to_caf(info.error());
  if (auto r = st.backend->detach(id, true); !r) return to_caf(r.error());
  if (info->state != volumes::volume_state::complete) {
    auto marked =
        complete ? st.backend->mark_complete(id) : st.backend->mark_partial(id, checkpoint);
    if (!marked) return to_caf(marked.error());
  }
  return caf::unit;
}

caf::expected<volumes::volume_info> get(const volume_work& st, const std::string& id) {
  auto info = st.backend->info(id);
  if (!info) return to_caf(info.error());
  return std::move(*info);
}

/// Phase 2 of a stop with volumes `keep`: flushed, detached, resumable.
std::pair<msg::outcome, std::string> keep(const volume_work& st, const msg::stop_request& stop) {
  auto& backend = *st.backend;
  const auto id = volume_id_for(stop.job);
  auto info = backend.info(id);
  if (!info && info.error().code == volumes::errc::not_found)
    return {msg::outcome::ok, "no volume"};
  if (!info) return {msg::outcome::failed, info.error().message};
  if (info->state != volumes::volume_state::complete && !msg::valid_id(stop.vma)) {
    // Checked before acting: a volume marked partial without its checkpoint could not resume.
    return {msg::outcome::failed, "volume " + id +
                                      ": the stop names no agent, so the "
                                      "checkpoint of the mover cannot be referenced"};
  }
  if (auto r = backend.detach(id, true); !r) return {msg::outcome::failed, r.error().message};
  if (info->state == volumes::volume_state::complete)
    return {msg::outcome::ok, "kept, complete" + allocated_text(*info)};
  if (auto r = backend.mark_partial(id, checkpoint_ref(stop.vma, stop.job)); !r)
    return {msg::outcome::failed, r.error().message};
  return {msg::outcome::ok, "kept as partial" + allocated_text(*info)};
}

/// Phase 2 of a stop with volumes `delete`.
std::pair<msg::outcome, std::string> remove(const volume_work& st, const msg::stop_request& stop) {
  auto& backend = *st.backend;
  const auto id = volume_id_for(stop.job);
  auto info = backend.info(id);
  if (!info && info.error().code == volumes::errc::not_found)
    return {msg::outcome::ok, "no volume"};
  if (!info) return {msg::outcome::failed, info.error().message};
  // No flush: the data goes.
  if (auto r = backend.detach(id, false); !r) return {msg::outcome::failed, r.error().message};
  if (auto r = backend.remove(id); !r) return {msg::outcome::failed, r.error().message};
  return {msg::outcome::ok, "deleted"};
}

void on_stop(volume_self self, const bus::envelope& e) {
  auto& st = self->state;
  auto stop = st.answers.take(*st.bus, e);
  if (!stop || !st.stops_under_way.insert(stop->stop_id).second) return;
  on_lane<meanwhile::goes_on>(
      self, *st.lanes, volume_id_for(stop->job),
      [work = st.work, stop = *stop] {
        return stop.volumes == msg::volume_action::keep ? keep(*work, stop) : remove(*work, stop);
      },
      [self, stop = *stop](std::pair<msg::outcome, std::string> done) {
        auto& [result, detail] = done;
        spdlog::info("volume: stop {} of job {}: {} ({})", stop.stop_id, stop.job,
                     msg::name_of(result), detail);
        self->state.stops_under_way.erase(stop.stop_id);
        self->state.answers.confirm(*self->state.bus, stop, result, std::move(detail));
      });
}

/// Runs `work` for volume `id` on its lane and answers the request with what it returns.
template <class... Ts, class Work>
caf::typed_response_promise<Ts...> answer_from_lane(volume_self self, const std::string& id,
                                                    Work work) {
  auto rp = self->template make_response_promise<Ts...>();
  on_lane<meanwhile::goes_on>(
      self, *self->state.lanes, id, std::move(work), [rp](auto result) mutable {
        if (!result)
          rp.deliver(std::move(result.error()));
        else if constexpr (std::is_same_v<decltype(result), caf::expected<void>>)
          static_cast<caf::response_promise&>(rp).deliver(caf::unit);
        else if constexpr (sizeof...(Ts) == 2)
          rp.deliver(std::move(result->first), result->second);
        else
          rp.deliver(std::move(*result));
      });
  return rp;
}

volume_hdl::behavior_type volume_actor(volume_self self, std::shared_ptr<bus_link> bus,
                                       std::shared_ptr<volumes::volume_backend> backend,
                                       volume_actor_options options) {
  auto& st = self->state;
  st.bus = std::move(bus);
  st.lanes = std::make_unique<blocking_lanes>(
      self->system(), defaults::volumes::lanes,
      options.detached ? blocking_lanes::threads::own : blocking_lanes::threads::scheduler);
  st.work = std::make_shared<volume_work>(volume_work{std::move(backend), std::move(options)});
  auto sub = subscribe_stops(*st.bus, caf::actor_cast<caf::actor>(self));
  if (!sub) {
    // Without its stops the volume could never be kept or deleted: every stop would miss its
    // deadline. Better to end loudly at start.
    spdlog::error("volume: cannot subscribe to stops: {}", sub.error().message);
    self->quit(make_error(errc::internal, "volume: subscribe: " + sub.error().message));
    return {volume_hdl::behavior_type::unsafe_init{}, caf::behavior{}};
  }
  st.stops = std::move(*sub);
  log_stray_errors(self, "volume");
  return {
      [self](attach_atom, const std::string& id, std::uint64_t size, const std::string& agent) {
        return answer_from_lane<std::string, std::uint64_t>(
            self, id,
            [work = self->state.work, id, size, agent] { return attach(*work, id, size, agent); });
      },
      [self](finish_atom, const std::string& id, bool complete, const std::string& checkpoint) {
        return caf::result<void>(
            answer_from_lane<void>(self, id, [work = self->state.work, id, complete, checkpoint] {
              return finish(*work, id, complete, checkpoint);
            }));
      },
      [self](get_atom, const std::string& id) {
        return answer_from_lane<volumes::volume_info>(
            self, id, [work = self->state.work, id] { return get(*work, id); });
      },
      [self](const bus::envelope& e) { on_stop(self, e); },
      [self](shutdown_atom) {
        self->state.stops.reset();
        self->quit();
      },
  };
}

}  // namespace

volume_hdl spawn_volume_actor(caf::actor_system& system, std::shared_ptr<bus_link> bus,
                              std::shared_ptr<volumes::volume_backend> backend,
                              volume_actor_options options) {
  return system.spawn(volume_actor, std::move(bus), std::move(backend), std::move(options));
}

}  // namespace mk::actors
