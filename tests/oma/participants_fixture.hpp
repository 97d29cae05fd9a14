#pragma once

// The OMA's stop participants step by step (see participants_test.cpp): the fixture shared by
// their deterministic tests.
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "actors/actor_config.hpp"
#include "actors/atoms.hpp"
#include "actors/errors.hpp"
#include "bus/in_memory_transport.hpp"
#include "deterministic.hpp"
#include "messages/caf_types.hpp"
#include "models/ids.hpp"
#include "oma/poller_actor.hpp"
#include "oma/scheduler_actor.hpp"
#include "oma/volume_actor.hpp"
#include "oma/volumes/local_backend.hpp"
#include "support/temp_dir.hpp"

namespace mk::actors {
namespace participants_test {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

/// What the registry got, in order.
using inbox = std::vector<caf::message>;

inline caf::behavior recorder(caf::event_based_actor* self, std::shared_ptr<inbox> got) {
  self->set_default_handler(
      [got](caf::scheduled_actor*, caf::message_view& m) -> caf::result<caf::message> {
        got->push_back(m.copy_content_to_message());
        return caf::message{};
      });
  return {[](const std::string&) {}};  // anything at all goes to the default handler
}

class participants : public deterministic_actors {
 protected:
  participants() : got_(std::make_shared<inbox>()) {
    registry_ = system_.spawn(recorder, got_);
    auto confirms = transport_->subscribe("mk.job.*.stopped", [this](bus::envelope e) {
      auto c = msg::decode<msg::stop_confirm>(e.data);
      ASSERT_TRUE(c) << c.error().message;
      confirms_.push_back(*c);
    });
    EXPECT_TRUE(confirms);
    subscriptions_.push_back(std::move(*confirms));
  }

  ~participants() override {
    subscriptions_.clear();
    for (const auto& a : spawned_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(registry_, caf::exit_reason::user_shutdown);
    consume();
  }

  template <class Handle>
  Handle keep(Handle a) {
    spawned_.push_back(caf::actor_cast<caf::actor>(a));
    return a;
  }

  /// The recorder behind the registry's interface: it takes whatever it is sent.
  registry_hdl registry() const { return caf::actor_cast<registry_hdl>(registry_); }

  /// Asks `to` and runs the system until it answered: the reply, or the error.
  template <class... R, class Handle, class... Ts>
  caf::expected<std::tuple<R...>> ask(const Handle& to, Ts... xs) {
    auto slot = std::make_shared<std::optional<caf::expected<std::tuple<R...>>>>();
    system_.spawn([=](caf::event_based_actor* self) {
      self->request(to, caf::infinite, xs...)
          .then([slot](R... r) { *slot = std::tuple<R...>(std::move(r)...); },
                [slot](caf::error& e) { *slot = std::move(e); });
    });
    consume();
    if (!*slot) return caf::make_error(caf::sec::request_timeout);
    return std::move(**slot);
  }

  void publish_stop(const std::string& job, const std::string& stop_id, const std::string& to,
                    msg::volume_action volumes = msg::volume_action::keep,
                    const std::string& vma = "local") {
    msg::stop_request r;
    r.job = job;
    r.stop_id = stop_id;
    r.to = to;
    r.vma = vma;
    r.volumes = volumes;
    ASSERT_TRUE(oma_->publish(*oma_->subjects().job_stop(job), r));
  }

  void publish_progress(const std::string& job, std::uint64_t done,
                        msg::progress_state state = msg::progress_state::copying,
                        std::uint64_t total = 1000) {
    msg::progress p;
    p.job = job;
    p.state = state;
    p.bytes_done = done;
    p.bytes_total = total;
    ASSERT_TRUE(agent_->publish(*agent_->subjects().mover_progress("local", job), p));
  }

  /// The registry's messages of one kind, as (job, payload) pairs.
  template <class Atom, class T>
  std::vector<std::pair<std::string, T>> sent() const {
    std::vector<std::pair<std::string, T>> out;
    for (const auto& m : *got_) {
      if (m.match_elements<Atom, std::string, T>())
        out.emplace_back(m.get_as<std::string>(1), m.get_as<T>(2));
    }
    return out;
  }

  auto snapshots() const { return sent<snapshot_atom, msg::progress>(); }
  auto exits() const { return sent<exited_atom, msg::progress>(); }
  auto losses() const { return sent<lost_atom, std::string>(); }
  auto stalls() const { return sent<stalled_atom, std::uint64_t>(); }
  auto fired() const { return sent<trigger_atom, trigger_action>(); }

  /// Answers `mk.vma.<vma>.status` inline with `movers` (or not at all while `silent`).
  void agent_answers(const std::string& vma) {
    auto sub = transport_->subscribe("mk.vma." + vma + ".status", [this, vma](bus::envelope e) {
      ++status_requests_;
      if (silent_) return;
      msg::vma_status s;
      s.vma = vma;
      s.movers = movers_;
      ASSERT_TRUE(agent_->reply(e, s));
    });
    ASSERT_TRUE(sub);
    subscriptions_.push_back(std::move(*sub));
  }

  std::shared_ptr<inbox> got_;
  caf::actor registry_;
  std::vector<caf::actor> spawned_;
  std::vector<msg::stop_confirm> confirms_;
  std::vector<msg::mover_info> movers_;
  bool silent_ = false;
  int status_requests_ = 0;
};

inline msg::mover_info running(const std::string& job, std::uint64_t done) {
  msg::mover_info m;
  m.job = job;
  m.pid = 4242;
  m.state = msg::mover_state::running;
  m.bytes_done = done;
  return m;
}

// ---------------------------------------------------------------------------------------------
// The poller

inline poller_options quick_poller() {
  poller_options o;
  o.stall_after = 60s;
  o.status_interval = 5s;
  o.status_timeout = 1ms;  // real time: a silent responder costs the test a millisecond
  o.missed_limit = 3;
  o.snapshot_interval = 500ms;
  o.list_grace = 10s;
  o.detach_requests = false;
  return o;
}

}  // namespace participants_test
}  // namespace mk::actors
