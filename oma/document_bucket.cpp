#include "oma/document_bucket.hpp"

#include "bus/state.hpp"

namespace mk::actors {

namespace {

class jetstream_bucket final : public document_bucket {
 public:
  jetstream_bucket(std::shared_ptr<bus::state_store> state, bus::kv_bucket& bucket)
      : state_(std::move(state)), bucket_(bucket) {}

  bus::result<std::optional<std::string>> get(std::string_view key) override {
    auto e = bucket_.get(key);
    if (!e) {
      if (e.error().code == bus::errc::not_found) return std::optional<std::string>();
      return mk::unexpected(std::move(e.error()));
    }
    return std::optional<std::string>(std::string(e->value.begin(), e->value.end()));
  }
  bus::result<> put(std::string_view key, std::string_view json) override {
    auto r = bucket_.put(key, {reinterpret_cast<const std::uint8_t*>(json.data()), json.size()});
    if (!r) return mk::unexpected(std::move(r.error()));
    return {};
  }
  bus::result<> erase(std::string_view key) override { return bucket_.erase(key); }
  bus::result<std::vector<std::string>> keys() override { return bucket_.keys(); }

 private:
  std::shared_ptr<bus::state_store> state_;  // keeps the bucket alive
  bus::kv_bucket& bucket_;
};

}  // namespace

std::shared_ptr<document_bucket> jetstream_documents(std::shared_ptr<bus::state_store> state,
                                                     bus::kv_bucket& (bus::state_store::*which)()) {
  auto& bucket = ((*state).*which)();
  return std::make_shared<jetstream_bucket>(std::move(state), bucket);
}

bus::result<std::optional<std::string>> memory_documents::get(std::string_view key) {
  std::lock_guard lock(mutex_);
  auto it = docs_.find(key);
  return it == docs_.end() ? std::optional<std::string>() : std::optional(it->second);
}

bus::result<> memory_documents::put(std::string_view key, std::string_view json) {
  std::lock_guard lock(mutex_);
  docs_[std::string(key)] = std::string(json);
  return {};
}

bus::result<> memory_documents::erase(std::string_view key) {
  std::lock_guard lock(mutex_);
  if (auto it = docs_.find(key); it != docs_.end()) docs_.erase(it);
  return {};
}

bus::result<std::vector<std::string>> memory_documents::keys() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [k, v] : docs_) out.push_back(k);
  return out;
}

}  // namespace mk::actors
