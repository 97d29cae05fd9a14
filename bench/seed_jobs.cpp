// mk-bench-seed --data DIR --count N
//
// Fills the job store of a `migratekit up` data folder with N finished replications, as an
// OMA that ran them would have left them, for bench/records (docs/performance.md: the OMA with
// 10,000 job records). Starting 10,000 movers through the API would take hours; the records
// are written with the product's own job_record and job_store into the JetStream bucket
// `mk_jobs` of the nats-server that `up` runs on that folder (started here the same way).
// Most are `completed`; every fifth is `stopped` by a user with its volume kept, the rest of
// its stop record filled as a settled stop leaves it. Creation times are spread over the last
// 30 days so that the API's newest-first pages cut through all of them.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <string>

#include "actors/bus_link.hpp"
#include "bus/home.hpp"
#include "bus/nats_server.hpp"
#include "bus/nats_transport.hpp"
#include "bus/state.hpp"
#include "models/ids.hpp"
#include "models/job_record.hpp"
#include "oma/job_store.hpp"

namespace {

using namespace mk;

constexpr std::uint64_t disk_size = 2ull << 30;
constexpr std::int64_t spread_ms = 30LL * 24 * 3600 * 1000;

actors::job_record finished_job(std::size_t i, std::size_t count, std::int64_t now) {
  actors::job_record job;
  job.id = actors::new_job_id();
  job.name = "bench-vm-" + std::to_string(i / 4) + " disk " + std::to_string(i % 4);
  job.source = "nbd+unix:///?socket=/srv/vma/sources/" + std::to_string(i) + ".sock";
  job.vma = "local";
  job.volume_id = actors::volume_id_for(job.id);
  job.size = disk_size;
  job.volume_kept = true;
  job.runs = 1 + static_cast<std::uint32_t>(i % 3);
  const auto step = spread_ms / static_cast<std::int64_t>(count);
  job.created_at = now - spread_ms + static_cast<std::int64_t>(i) * step;
  job.progress = {disk_size, disk_size, disk_size / 4, 0, job.created_at + 600000};
  job.updated_at = job.progress.updated_at;
  if (i % 5 != 4) {
    job.state = msg::job_state::completed;
    return job;
  }
  job.state = msg::job_state::stopped;
  job.progress.bytes_done = disk_size / 2;
  actors::stop_record stop;
  stop.id = actors::new_stop_id();
  stop.reason = msg::stop_reason::user;
  stop.comment = "host maintenance window";
  stop.requested_by = "api";
  stop.requested_at = job.created_at + 300000;
  stop.settled_at = stop.requested_at + 800;
  stop.outcomes = {msg::outcome::ok, msg::outcome::ok, msg::outcome::exited, msg::outcome::ok};
  stop.details[static_cast<std::size_t>(msg::participant::vma_process)] =
      "exit 3, checkpoint stopped at 1073741824 of 2147483648 bytes";
  stop.details[static_cast<std::size_t>(msg::participant::volume)] =
      "kept: flushed, detached, partial";
  job.stop = stop;
  job.updated_at = stop.settled_at;
  return job;
}

int seed(const std::filesystem::path& data, std::size_t count) {
  // The OMA's own keys and server, as `migratekit oma` will find them on this folder.
  auto home = bus::bus_home::open(data, std::string(defaults::bus::prefix));
  if (!home) {
    spdlog::error("the bus's keys on {}: {}", data.string(), home.error().message);
    return 1;
  }
  auto trust = home->server_trust();
  if (!trust) {
    spdlog::error("{}", trust.error().message);
    return 1;
  }
  bus::nats_server_options so;
  so.data_dir = data;
  so.trust = std::move(*trust);
  auto server = bus::nats_server::start(so);
  if (!server) {
    spdlog::error("nats-server on {}: {}", data.string(), server.error().message);
    return 1;
  }
  auto no = bus::local_client_options(data, bus::role::oma);
  if (!no) {
    spdlog::error("{}", no.error().message);
    return 1;
  }
  no->name = "bench seed";
  auto transport = bus::nats_transport::connect(*no);
  if (!transport) {
    spdlog::error("{}", transport.error().message);
    return 1;
  }
  int status = 0;
  {
    auto state = bus::state_store::open(**transport);
    if (!state) {
      spdlog::error("{}", state.error().message);
      return 1;
    }
    auto store = actors::jetstream_job_store(std::move(*state));
    const auto now = actors::unix_ms();
    for (std::size_t i = 0; i < count && status == 0;) {
      const auto job = finished_job(i, count, now);
      auto made = store->create(job.id, actors::to_json(job).dump());
      if (made) {
        ++i;
      } else if (made.error().code != bus::errc::conflict) {  // a conflict: a new id is drawn
        spdlog::error("job {}: {}", job.id, made.error().message);
        status = 1;
      }
    }
  }
  transport->reset();
  if (auto closed = bus::close_nats(); !closed) spdlog::warn("{}", closed.error().message);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Writes finished job records into the job store of a migratekit data folder"};
  std::string data;
  std::size_t count = 10000;
  app.add_option("--data", data, "The data folder of `migratekit up`")->required();
  app.add_option("--count", count, "Job records to write");
  CLI11_PARSE(app, argc, argv);
  return seed(data, count);
}
