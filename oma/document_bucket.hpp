#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bus/error.hpp"

namespace mk::bus {
class kv_bucket;
class state_store;
}  // namespace mk::bus

namespace mk::actors {

/// JSON documents by key in one KeyValue bucket, for values that have a single writer: the
/// maintenance mode in `<prefix>_settings`, the schedules in `<prefix>_schedules`. Every write
/// is durable when it returns. Thread-safe.
class document_bucket {
 public:
  virtual ~document_bucket() = default;
  /// The document, or none if the key was never written (or was erased).
  virtual bus::result<std::optional<std::string>> get(std::string_view key) = 0;
  virtual bus::result<> put(std::string_view key, std::string_view json) = 0;
  virtual bus::result<> erase(std::string_view key) = 0;
  virtual bus::result<std::vector<std::string>> keys() = 0;
};

/// A bucket of a running OMA's JetStream state; `which` picks it (e.g. &state_store::settings).
std::shared_ptr<document_bucket> jetstream_documents(std::shared_ptr<bus::state_store> state,
                                                     bus::kv_bucket& (bus::state_store::*which)());

/// The same in memory, for deterministic tests.
class memory_documents final : public document_bucket {
 public:
  bus::result<std::optional<std::string>> get(std::string_view key) override;
  bus::result<> put(std::string_view key, std::string_view json) override;
  bus::result<> erase(std::string_view key) override;
  bus::result<std::vector<std::string>> keys() override;

 private:
  std::mutex mutex_;
  std::map<std::string, std::string, std::less<>> docs_;
};

}  // namespace mk::actors
