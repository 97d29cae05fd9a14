#pragma once

// The NATS border: the one file of the project that includes NATS.c. Only the .cpp files of
// bus/ that speak to NATS include it (nats_error, nats_transport, state, kv_bucket, job_log);
// no public header does, so natsStatus and NATS.c's handles never leave bus/.
#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "bus/error.hpp"
#include "bus/state.hpp"

namespace mk::bus::detail {

/// A NATS.c failure as a bus error: "<what>: <status text>[: <the server's words>]". A
/// JetStream "wrong last sequence" (a revision check that failed) becomes errc::conflict.
error nats_error(natsStatus s, std::string_view what, jsErrCode js_code = jsErrCode{});

struct nats_subscription;

/// One connection and what NATS.c's callbacks share with it. Callbacks run on NATS.c's
/// threads, hence the atomics; the transport frees this only after the closed callback.
struct nats_state {
  natsConnection* nc = nullptr;
  std::string name;
  std::string server;  ///< the URL without its password, for messages and logs

  std::atomic<std::uint64_t> disconnects{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<std::uint64_t> async_errors{0};
  std::atomic<std::uint64_t> permission_violations{0};
  std::atomic<std::uint64_t> slow_consumers{0};

  std::function<void(const std::string&)> on_lost;  ///< nats_options::on_lost
  std::function<void()> on_reconnected;             ///< nats_options::on_reconnected
  std::atomic<bool> closing{false};                 ///< the transport is closing it
  std::mutex mutex;
  std::condition_variable closed_cv;
  bool closed = false;                                 ///< guarded by mutex
  std::vector<std::weak_ptr<nats_subscription>> subs;  ///< guarded by mutex; ended first
};

/// "<what> (<name> at <server>)", the context every error of a connection carries.
std::string where(const nats_state& st, std::string_view what);

/// The JetStream context that a state_store's buckets and log share.
struct jetstream {
  jsCtx* js = nullptr;
  nats_state* conn = nullptr;
  std::chrono::milliseconds timeout{};
  int replicas = 1;
  std::chrono::milliseconds election_wait{};

  jetstream() = default;
  ~jetstream() { jsCtx_Destroy(js); }
  jetstream(const jetstream&) = delete;
  jetstream& operator=(const jetstream&) = delete;
};

/// Whether a JetStream call that failed with `s` may succeed if tried again: no answer, no
/// responder (a stream without a leader answers 503), or the connection between servers.
bool during_election(natsStatus s);

/// Calls `attempt` until it succeeds, fails for another reason than an election, or
/// `js.election_wait` has passed; sets `retried` if it was called more than once (a write
/// that timed out may have been stored all the same).
natsStatus retry_through_election(const jetstream& js, const std::function<natsStatus()>& attempt,
                                  bool& retried);
/// The same for a call that may be repeated as it is (a read, an idempotent write).
natsStatus retry_through_election(const jetstream& js, const std::function<natsStatus()>& attempt);

/// Gives the stream `name` the copies `js.replicas` asks for, if it has fewer.
result<> ensure_replicas(const jetstream& js, const std::string& name);

/// Binds to the bucket, creating it first if it does not exist.
result<std::unique_ptr<kv_bucket>> open_kv_bucket(std::shared_ptr<jetstream> js,
                                                  const std::string& name);

/// Binds to the JobLog stream of `prefix`, creating it first if it does not exist.
result<std::unique_ptr<job_log>> open_job_log(std::shared_ptr<jetstream> js,
                                              const std::string& prefix,
                                              std::chrono::milliseconds read_timeout);

}  // namespace mk::bus::detail
