#include "oma/job_store.hpp"

#include "bus/state.hpp"

namespace mk::actors {

namespace {

std::span<const std::uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

class jetstream_store final : public job_store {
 public:
  explicit jetstream_store(std::shared_ptr<bus::state_store> state) : state_(std::move(state)) {}

  bus::result<stored_job> load(std::string_view id) override {
    auto e = state_->jobs().get(id);
    if (!e) return mk::unexpected(std::move(e.error()));
    return stored_job{std::string(e->value.begin(), e->value.end()), e->revision};
  }
  bus::result<std::uint64_t> create(std::string_view id, std::string_view json) override {
    return state_->jobs().create(id, bytes_of(json));
  }
  bus::result<std::uint64_t> update(std::string_view id, std::string_view json,
                                    std::uint64_t revision) override {
    return state_->jobs().update(id, bytes_of(json), revision);
  }
  bus::result<> erase(std::string_view id) override { return state_->jobs().erase(id); }
  bus::result<std::vector<std::string>> ids() override { return state_->jobs().keys(); }
  bus::result<> append_log(std::string_view id, std::string_view entry) override {
    auto r = state_->log().append(id, bytes_of(entry));
    if (!r) return mk::unexpected(std::move(r.error()));
    return {};
  }
  bus::result<std::vector<std::string>> read_log(std::string_view id) override {
    auto r = state_->log().read(id);
    if (!r) return mk::unexpected(std::move(r.error()));
    std::vector<std::string> out;
    out.reserve(r->size());
    for (const auto& b : *r) out.emplace_back(b.begin(), b.end());
    return out;
  }
  bus::result<> read_all_logs(std::int64_t since_unix_ms,
                              const std::function<void(std::string_view)>& each) override {
    return state_->log().read_all(since_unix_ms, [&each](std::span<const std::uint8_t> b) {
      each({reinterpret_cast<const char*>(b.data()), b.size()});
    });
  }

 private:
  std::shared_ptr<bus::state_store> state_;
};

}  // namespace

std::shared_ptr<job_store> jetstream_job_store(std::shared_ptr<bus::state_store> state) {
  return std::make_shared<jetstream_store>(std::move(state));
}

bus::result<stored_job> memory_job_store::load(std::string_view id) {
  std::lock_guard lock(mutex_);
  auto it = records_.find(id);
  if (it == records_.end())
    return bus::fail(bus::errc::not_found, "job " + std::string(id) + ": no record");
  return it->second;
}

bus::result<std::uint64_t> memory_job_store::create(std::string_view id, std::string_view json) {
  std::lock_guard lock(mutex_);
  if (records_.contains(id))
    return bus::fail(bus::errc::conflict, "job " + std::string(id) + ": exists");
  records_[std::string(id)] = {std::string(json), ++sequence_};
  return sequence_;
}

bus::result<std::uint64_t> memory_job_store::update(std::string_view id, std::string_view json,
                                                    std::uint64_t revision) {
  std::lock_guard lock(mutex_);
  auto it = records_.find(id);
  if (it == records_.end() || it->second.revision != revision)
    return bus::fail(bus::errc::conflict, "job " + std::string(id) + ": revision " +
                                              std::to_string(revision) + " is not the latest");
  it->second = {std::string(json), ++sequence_};
  return sequence_;
}

bus::result<> memory_job_store::erase(std::string_view id) {
  std::lock_guard lock(mutex_);
  if (auto it = records_.find(id); it != records_.end()) records_.erase(it);
  return {};
}

bus::result<std::vector<std::string>> memory_job_store::ids() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [id, _] : records_) out.push_back(id);
  return out;
}

bus::result<> memory_job_store::append_log(std::string_view id, std::string_view entry) {
  std::lock_guard lock(mutex_);
  logs_[std::string(id)].emplace_back(entry);
  appended_.emplace_back(entry);
  return {};
}

bus::result<std::vector<std::string>> memory_job_store::read_log(std::string_view id) {
  std::lock_guard lock(mutex_);
  auto it = logs_.find(id);
  return it == logs_.end() ? std::vector<std::string>{} : it->second;
}

bus::result<> memory_job_store::read_all_logs(std::int64_t,
                                              const std::function<void(std::string_view)>& each) {
  std::vector<std::string> entries;
  {
    // A copy: `each` runs unlocked, so it may use the store.
    std::lock_guard lock(mutex_);
    entries = appended_;
  }
  for (const auto& e : entries) each(e);
  return {};
}

}  // namespace mk::actors
