#include "models/ids.hpp"

#include <fmt/format.h>

#include <random>

namespace mk::actors {

namespace {

std::string random_id(std::string_view stem) {
  thread_local std::mt19937 gen{std::random_device{}()};
  return fmt::format("{}-{:08x}", stem, static_cast<std::uint32_t>(gen()));
}

}  // namespace

std::string new_job_id() { return random_id("r"); }
std::string new_stop_id() { return random_id("s"); }
std::string new_maintenance_id() { return random_id("m"); }

std::string new_schedule_id() { return random_id("sc"); }

std::string volume_id_for(std::string_view job) {
  if (job.starts_with("r-")) return "v-" + std::string(job.substr(2));
  return ("v-" + std::string(job)).substr(0, 63);
}

std::string checkpoint_ref(std::string_view vma, std::string_view job) {
  return fmt::format("vma:{}/{}", vma, job);
}

}  // namespace mk::actors
