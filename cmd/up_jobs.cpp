// `up`'s stops at shutdown and resumes at start, through the OMA's registry.
#include "cmd/up_jobs.hpp"

#include <spdlog/spdlog.h>

#include <caf/all.hpp>

#include "actors/atoms.hpp"
#include "actors/errors.hpp"
#include "config/defaults.hpp"
#include "messages/caf_types.hpp"
#include "messages/job_states.hpp"

namespace mk::cmd::up_jobs {

namespace {

using nlohmann::json;

/// Why the registry did not answer with a job.
struct refusal {
  actors::errc code = actors::errc::internal;
  std::string message;
};

/// A request to the registry from this (non-actor) thread; the job it answers with.
template <class... Ts>
expected<actors::job_record, refusal> ask(oma_node& oma, Ts&&... xs) {
  caf::scoped_actor self{oma.system()};
  expected<actors::job_record, refusal> out =
      unexpected(refusal{actors::errc::internal, "no answer"});
  self->request(oma.registry(), defaults::jobs::answer_timeout, std::forward<Ts>(xs)...)
      .receive([&](actors::job_record& job) { out = std::move(job); },
               [&](const caf::error& err) {
                 out = unexpected(refusal{actors::code_of(err), actors::message_of(err)});
               });
  return out;
}

std::string text_at(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/// Whether the job's last stop was a shutdown's: the read model's object.
bool stopped_by_shutdown(const json& job) {
  auto it = job.find("stop");
  return it != job.end() && it->is_object() && text_at(*it, "reason") == "shutdown";
}

bool stopped_by_shutdown(const actors::job_record& job) {
  return job.stop && job.stop->reason == msg::stop_reason::shutdown;
}

void resume(oma_node& oma, const std::string& id) {
  auto answer = ask(oma, actors::resume_atom::value, id);
  if (answer)
    spdlog::info("job {} ({}): stopped at the last shutdown, resumed", id, answer->name);
  else
    spdlog::error("job {}: stopped at the last shutdown, but cannot be resumed: {}", id,
                  answer.error().message);
}

}  // namespace

std::vector<actors::job_record> recovered(oma_node& oma) {
  std::vector<actors::job_record> out;
  auto ids = oma.store()->ids();
  if (!ids) {
    spdlog::error("cannot list the jobs: {}", ids.error().message);
    return out;
  }
  for (const auto& id : *ids) {
    auto job = ask(oma, actors::get_atom::value, id);
    if (job)
      out.push_back(std::move(*job));
    else
      spdlog::warn("job {}: {}", id, job.error().message);  // a damaged record, already logged
  }
  return out;
}

void resumer::start(oma_node& oma, const std::vector<actors::job_record>& jobs) {
  for (const auto& job : jobs) {
    if (!stopped_by_shutdown(job)) continue;
    if (job.state == msg::job_state::stopped)
      resume(oma, job.id);
    else if (job.state == msg::job_state::stopping)
      settling_.insert(job.id);
  }
  if (!settling_.empty())
    spdlog::info("{} job(s) still settling the stop of the last shutdown; resumed once stopped",
                 settling_.size());
}

void resumer::tick(oma_node& oma) {
  for (auto it = settling_.begin(); it != settling_.end();) {
    auto job = oma.feed().view().raw(*it);
    const auto state = job ? text_at(*job, "state") : std::string();
    if (state == "stopping") {
      ++it;
      continue;
    }
    // Stopped as a shutdown asked: resumed. Settled otherwise (failed, or stopped again by
    // an operator meanwhile): left as it is.
    if (state == "stopped" && stopped_by_shutdown(*job)) resume(oma, *it);
    it = settling_.erase(it);
  }
}

expected<actors::job_record, std::string> create_demo(oma_node& oma, const std::string& source) {
  msg::replicate_request r;
  r.hdr = oma.bus().header();
  r.name = "demo disk 0";
  r.source = source;
  r.vma = std::string(defaults::vma::agent_id);
  auto job = ask(oma, std::move(r));
  if (!job) return unexpected(job.error().message);
  return std::move(*job);
}

stops stop_active(oma_node& oma) {
  stops out;
  for (const auto& state : msg::names_where(msg::is_active)) {
    for (const auto& id : oma.feed().view().ids(state, "")) {
      msg::stop_request r;
      r.hdr = oma.bus().header();
      r.job = id;
      r.mode = msg::stop_mode::graceful;
      r.volumes = msg::volume_action::keep;
      r.reason = msg::stop_reason::shutdown;
      r.comment = "migratekit up is shutting down; resumed at its next start";
      auto answer = ask(oma, std::move(r));
      if (answer) {
        spdlog::info("job {} ({}): stopping for the shutdown", id, answer->name);
        out.accepted.push_back(id);
      } else if (answer.error().code == actors::errc::conflict ||
                 answer.error().code == actors::errc::not_found) {
        // It settled (completed, failed) or went meanwhile: nothing to stop.
        spdlog::info("job {}: not stopped: {}", id, answer.error().message);
      } else {
        spdlog::error("job {}: the shutdown could not stop it: {}", id, answer.error().message);
        out.failed.push_back(id);
      }
    }
  }
  return out;
}

bool any_stopping(oma_node& oma) {
  auto counts = oma.feed().view().count_by_state();
  auto it = counts.find("stopping");
  return it != counts.end() && it->second > 0;
}

std::string describe(oma_node& oma, const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) {
    auto job = oma.feed().view().raw(id);
    out += "  " + id;
    if (!job) {
      out += "  (gone)\n";
      continue;
    }
    out += "  " + text_at(*job, "state") + "  " + text_at(*job, "name");
    if (auto error = text_at(*job, "error"); !error.empty()) out += "  (" + error + ")";
    out += "\n";
  }
  return out;
}

}  // namespace mk::cmd::up_jobs
