#include <algorithm>
#include <climits>
#include <functional>

#include "bus/nats_border.hpp"
#include "bus/state.hpp"
#include "bus/subjects.hpp"

namespace mk::bus {

struct kv_bucket::impl {
  std::shared_ptr<detail::jetstream> js;
  kvStore* kv = nullptr;
  std::string name;

  impl() = default;
  ~impl() { kvStore_Destroy(kv); }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  std::string where(std::string_view op, std::string_view key) const {
    return detail::where(*js->conn, std::string(op) + " " + name + "/" + std::string(key));
  }

  // A key must be an id before it becomes part of the subject $KV.<bucket>.<key>.
  result<std::string> checked(std::string_view op, std::string_view key,
                              std::span<const std::uint8_t> value = {}) const {
    if (!valid_id(key)) return fail(errc::invalid, where(op, key) + ": not a valid key");
    if (value.size() > INT_MAX) return fail(errc::invalid, where(op, key) + ": value too big");
    return std::string(key);
  }

  /// A write, tried again through a leader election. One that was tried again and then lost
  /// its revision check may have been stored by an earlier try whose answer was lost: if the
  /// key holds exactly `value` now, that revision is the write's.
  result<std::uint64_t> write(std::string_view op, std::string_view key,
                              std::span<const std::uint8_t> value,
                              const std::function<natsStatus(std::uint64_t*)>& attempt,
                              std::string_view context = {}) const {
    std::uint64_t rev = 0;
    bool retried = false;
    const auto s = detail::retry_through_election(
        *js, [&] { return attempt(&rev); }, retried);
    if (s == NATS_OK) return rev;
    auto err = detail::nats_error(s, where(op, key) + std::string(context));
    if (retried && err.code == errc::conflict) {
      kvEntry* e = nullptr;
      if (kvStore_Get(&e, kv, std::string(key).c_str()) == NATS_OK) {
        const auto* data = static_cast<const std::uint8_t*>(kvEntry_Value(e));
        const bool ours = std::equal(value.begin(), value.end(), data, data + kvEntry_ValueLen(e));
        const auto stored = kvEntry_Revision(e);
        kvEntry_Destroy(e);
        if (ours) return stored;
      }
    }
    return std::unexpected(std::move(err));
  }
};

namespace detail {

result<std::unique_ptr<kv_bucket>> open_kv_bucket(std::shared_ptr<jetstream> js,
                                                  const std::string& name) {
  auto p = std::make_unique<kv_bucket::impl>();
  p->js = std::move(js);
  p->name = name;
  // A bus of several nodes just started elects its JetStream leaders first.
  auto s =
      retry_through_election(*p->js, [&] { return js_KeyValue(&p->kv, p->js->js, name.c_str()); });
  if (s == NATS_NOT_FOUND) {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = name.c_str();
    cfg.History = static_cast<uint8_t>(defaults::bus::kv_history);
    cfg.StorageType = js_FileStorage;
    cfg.Replicas = p->js->replicas;
    // Another process creating it at the same moment is fine: the same config is accepted.
    s = retry_through_election(*p->js, [&] { return js_CreateKeyValue(&p->kv, p->js->js, &cfg); });
  }
  if (s != NATS_OK)
    return std::unexpected(nats_error(s, where(*p->js->conn, "open bucket " + name)));
  return std::make_unique<kv_bucket>(std::move(p));
}

}  // namespace detail

kv_bucket::kv_bucket(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

kv_bucket::~kv_bucket() = default;

const std::string& kv_bucket::name() const { return impl_->name; }

result<kv_entry> kv_bucket::get(std::string_view key) {
  auto k = impl_->checked("get", key);
  if (!k) return std::unexpected(std::move(k.error()));
  kvEntry* e = nullptr;
  const auto s = detail::retry_through_election(
      *impl_->js, [&] { return kvStore_Get(&e, impl_->kv, k->c_str()); });
  if (s != NATS_OK) {
    return std::unexpected(detail::nats_error(s, impl_->where("get", key)));
  }
  const auto* data = static_cast<const std::uint8_t*>(kvEntry_Value(e));
  kv_entry entry{bytes(data, data + kvEntry_ValueLen(e)), kvEntry_Revision(e)};
  kvEntry_Destroy(e);
  return entry;
}

result<std::uint64_t> kv_bucket::create(std::string_view key, std::span<const std::uint8_t> value) {
  auto k = impl_->checked("create", key, value);
  if (!k) return std::unexpected(std::move(k.error()));
  return impl_->write("create", key, value, [&](std::uint64_t* rev) {
    return kvStore_Create(rev, impl_->kv, k->c_str(), value.data(), static_cast<int>(value.size()));
  });
}

result<std::uint64_t> kv_bucket::update(std::string_view key, std::span<const std::uint8_t> value,
                                        std::uint64_t revision) {
  auto k = impl_->checked("update", key, value);
  if (!k) return std::unexpected(std::move(k.error()));
  return impl_->write(
      "update", key, value,
      [&](std::uint64_t* rev) {
        return kvStore_Update(rev, impl_->kv, k->c_str(), value.data(),
                              static_cast<int>(value.size()), revision);
      },
      " from revision " + std::to_string(revision));
}

result<std::uint64_t> kv_bucket::put(std::string_view key, std::span<const std::uint8_t> value) {
  auto k = impl_->checked("put", key, value);
  if (!k) return std::unexpected(std::move(k.error()));
  return impl_->write("put", key, value, [&](std::uint64_t* rev) {
    return kvStore_Put(rev, impl_->kv, k->c_str(), value.data(), static_cast<int>(value.size()));
  });
}

result<> kv_bucket::erase(std::string_view key) {
  auto k = impl_->checked("erase", key);
  if (!k) return std::unexpected(std::move(k.error()));
  const auto s = detail::retry_through_election(
      *impl_->js, [&] { return kvStore_Delete(impl_->kv, k->c_str()); });
  if (s != NATS_OK) return std::unexpected(detail::nats_error(s, impl_->where("erase", key)));
  return {};
}

result<kv_bucket::placement_info> kv_bucket::placement() {
  const auto stream = "KV_" + impl_->name;
  jsStreamInfo* info = nullptr;
  jsErrCode code{};
  const auto s = js_GetStreamInfo(&info, impl_->js->js, stream.c_str(), nullptr, &code);
  if (s != NATS_OK) {
    return std::unexpected(detail::nats_error(
        s, detail::where(*impl_->js->conn, "placement of " + impl_->name), code));
  }
  placement_info out;
  out.replicas = static_cast<int>(info->Config->Replicas);
  if (const auto* c = info->Cluster; c != nullptr) {
    if (c->Leader != nullptr) out.leader = c->Leader;
    for (int i = 0; i < c->ReplicasLen; ++i)
      if (c->Replicas[i] != nullptr && c->Replicas[i]->Current && !c->Replicas[i]->Offline)
        ++out.current;
  }
  jsStreamInfo_Destroy(info);
  return out;
}

// Not kvStore_Keys: NATS.c 3.4.1 takes the time since the listing began off its timeout at
// every key, so that a bucket of a few thousand keys timed out whatever the timeout (an OMA
// with 10,000 job records recovered none of them). Here the timeout bounds each wait for the
// server's next key, however many there are.
result<std::vector<std::string>> kv_bucket::keys() {
  const auto failed = [this](natsStatus s) {
    return std::unexpected(
        detail::nats_error(s, detail::where(*impl_->js->conn, "keys of " + impl_->name)));
  };
  kvWatchOptions opts;
  kvWatchOptions_Init(&opts);
  opts.IgnoreDeletes = true;
  opts.MetaOnly = true;
  kvWatcher* watcher = nullptr;
  if (auto s = kvStore_WatchAll(&watcher, impl_->kv, &opts); s != NATS_OK) return failed(s);
  std::vector<std::string> out;
  natsStatus s = NATS_OK;
  for (;;) {
    kvEntry* e = nullptr;
    s = kvWatcher_Next(&e, watcher, impl_->js->timeout.count());
    if (s != NATS_OK || e == nullptr) break;  // no entry: every current key has come
    out.emplace_back(kvEntry_Key(e));
    kvEntry_Destroy(e);
  }
  kvWatcher_Destroy(watcher);
  if (s != NATS_OK) return failed(s);
  return out;
}

}  // namespace mk::bus
