#include "bus/nats_transport.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <exception>
#include <functional>
#include <optional>
#include <utility>

#include "bus/nats_border.hpp"
#include "bus/subjects.hpp"

namespace mk::bus {

namespace detail {

/// One asynchronous subscription. NATS.c calls back with a raw pointer to it, so it is freed
/// only after NATS.c's completion callback said that the handler will not run again.
struct nats_subscription final : subscription::impl,
                                 std::enable_shared_from_this<nats_subscription> {
  nats_state* state = nullptr;
  std::string pattern;
  transport::handler handler;
  natsSubscription* sub = nullptr;

  std::once_flag once;
  std::mutex mutex;
  std::condition_variable cv;
  bool complete = false;                      ///< guarded by mutex
  std::shared_ptr<nats_subscription> leaked;  ///< a cycle, once a handler never returned

  void cancel() noexcept override {
    std::call_once(once, [this] { end(); });
  }

 private:
  void end() noexcept {
    // Fails harmlessly when the connection has closed: the completion comes all the same.
    natsSubscription_Unsubscribe(sub);
    std::unique_lock lock(mutex);
    if (!cv.wait_for(lock, defaults::bus::unsubscribe_timeout, [this] { return complete; })) {
      spdlog::error("bus: the handler of {} did not return in {} ms; its state is kept",
                    where(*state, pattern), defaults::bus::unsubscribe_timeout.count());
      leaked = shared_from_this();
      return;
    }
    lock.unlock();
    natsSubscription_Destroy(std::exchange(sub, nullptr));
  }
};

}  // namespace detail

namespace {

// OpenSSL 3.0's exit handler, OPENSSL_cleanup, crashes (SIGSEGV in OPENSSL_sk_pop_free) in about
// one exit in two of a process that made TLS connections through NATS.c 3.4.1 (14 of 30 runs of
// nats_server.with_tls_a_client_needs_the_ca_and_the_right_host). Asked, as early as this, to
// register none, it did not crash in 30. `migratekit` itself ends without exit handlers
// (cmd::end_process): an agent revoked over TLS still crashed one exit in five, in the
// cleanup that libcrypto's own destructor runs.
[[maybe_unused]] const bool openssl_without_exit_handler =
    OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr) == 1;

using detail::nats_error;
using detail::nats_state;
using detail::nats_subscription;
using detail::where;

// -- callbacks, on NATS.c's threads; they must not throw ---------------------------------

// Copies a message out and frees it.
envelope take(natsMsg* msg) {
  envelope e;
  e.subject = natsMsg_GetSubject(msg);
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(msg));
  e.data.assign(bytes, bytes + natsMsg_GetDataLength(msg));
  if (const char* r = natsMsg_GetReply(msg)) e.reply = r;
  natsMsg_Destroy(msg);
  return e;
}

void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* s = static_cast<nats_subscription*>(closure);
  auto e = take(msg);
  try {
    s->handler(std::move(e));
  } catch (const std::exception& ex) {
    spdlog::error("bus: handler of {} failed: {}", where(*s->state, s->pattern), ex.what());
  } catch (...) {
    spdlog::error("bus: handler of {} failed", where(*s->state, s->pattern));
  }
}

void on_complete(void* closure) {
  auto* s = static_cast<nats_subscription*>(closure);
  std::lock_guard lock(s->mutex);
  s->complete = true;
  s->cv.notify_all();
}

void on_async_error(natsConnection* nc, natsSubscription* sub, natsStatus err, void* closure) {
  auto* st = static_cast<nats_state*>(closure);
  ++st->async_errors;
  if (err == NATS_NOT_PERMITTED) ++st->permission_violations;
  if (err == NATS_SLOW_CONSUMER) ++st->slow_consumers;
  // The connection's latest error text: right for a lone error, but when several come in a
  // burst an early callback may already show a later one's text (NATS.c 3.4 passes none).
  const char* text = nullptr;
  natsConnection_GetLastError(nc, &text);
  const std::string_view status = natsStatus_GetText(err);
  const std::string_view detail = text != nullptr ? text : "";
  const char* subject = sub != nullptr ? natsSubscription_GetSubject(sub) : nullptr;
  spdlog::warn("bus: {}: {}{}{}", where(*st, "asynchronous error"), status,
               detail.empty() || detail == status ? std::string() : ": " + std::string(detail),
               subject != nullptr ? std::string(" on ") + subject : std::string());
}

void on_connected(natsConnection*, void* closure) {
  auto* st = static_cast<nats_state*>(closure);
  spdlog::info("bus: {}", where(*st, "connected"));
}

void on_disconnected(natsConnection*, void* closure) {
  auto* st = static_cast<nats_state*>(closure);
  if (st->closing) return;  // NATS.c reports its own close as a disconnection too
  ++st->disconnects;
  spdlog::warn("bus: {}; reconnecting", where(*st, "disconnected"));
}

void on_reconnected(natsConnection*, void* closure) {
  auto* st = static_cast<nats_state*>(closure);
  ++st->reconnects;
  spdlog::info("bus: {}", where(*st, "reconnected"));
  if (st->on_reconnected) st->on_reconnected();
}

void on_closed(natsConnection* nc, void* closure) {
  auto* st = static_cast<nats_state*>(closure);
  if (!st->closing) {
    // Reconnects never stop, so only the server can end it: it refused our credentials.
    const char* text = nullptr;
    natsConnection_GetLastError(nc, &text);
    const std::string why = text != nullptr ? text : "no reason given";
    spdlog::error("bus: {}: {}", where(*st, "connection closed for good"), why);
    if (st->on_lost) st->on_lost(why);
  }
  std::lock_guard lock(st->mutex);
  st->closed = true;
  st->closed_cv.notify_all();
}

// -- set-up --------------------------------------------------------------------------------

// nats://user:secret@host:port -> nats://user@host:port: errors and logs never show passwords.
std::string without_password(const std::string& url) {
  const auto scheme = url.find("://");
  const auto start = scheme == std::string::npos ? 0 : scheme + 3;
  const auto at = url.find('@', start);
  if (at == std::string::npos) return url;
  const auto colon = url.find(':', start);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon) + url.substr(at);
}

// The host of the first URL: "tls://user@host:4222,tls://other:4222" -> "host".
std::string host_of(const std::string& urls) {
  auto url = urls.substr(0, urls.find(','));
  if (const auto scheme = url.find("://"); scheme != std::string::npos) url.erase(0, scheme + 3);
  if (const auto at = url.rfind('@'); at != std::string::npos) url.erase(0, at + 1);
  if (url.starts_with('[')) return url.substr(1, url.find(']') - 1);
  return url.substr(0, url.rfind(':'));
}

// "nats://a:4222, nats://b:4222" -> each URL, trimmed; empty items dropped.
std::vector<std::string> urls_of(const std::string& urls) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= urls.size()) {
    auto end = urls.find(',', start);
    if (end == std::string::npos) end = urls.size();
    auto item = urls.substr(start, end - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(std::move(item));
    start = end + 1;
  }
  return out;
}

struct options_deleter {
  void operator()(natsOptions* o) const { natsOptions_Destroy(o); }
};

result<std::unique_ptr<natsOptions, options_deleter>> make_options(const nats_options& o,
                                                                   nats_state& st, bool retry) {
  natsOptions* raw = nullptr;
  if (auto s = natsOptions_Create(&raw); s != NATS_OK) {
    return std::unexpected(nats_error(s, where(st, "connection options")));
  }
  std::unique_ptr<natsOptions, options_deleter> opts(raw);
  const auto ms = [](std::chrono::milliseconds d) { return static_cast<int64_t>(d.count()); };
  // Every node of a bus of several (docs/bus.md): NATS.c picks one at random and moves on to
  // the others when it ends or falls silent.
  const auto urls = urls_of(o.url);
  std::vector<const char*> servers;
  for (const auto& u : urls) servers.push_back(u.c_str());
  natsStatus s = servers.size() > 1
                     ? natsOptions_SetServers(raw, servers.data(), static_cast<int>(servers.size()))
                     : natsOptions_SetURL(raw, o.url.c_str());
  if (s == NATS_OK && o.first_url_first) s = natsOptions_SetNoRandomize(raw, true);
  if (s == NATS_OK) s = natsOptions_SetName(raw, o.name.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(raw, ms(o.connect_timeout));
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(raw, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(raw, ms(o.reconnect_wait));
  if (s == NATS_OK) {
    s = natsOptions_SetReconnectJitter(raw, ms(o.reconnect_jitter), ms(o.reconnect_jitter));
  }
  if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(raw, o.reconnect_buffer_bytes);
  if (s == NATS_OK) s = natsOptions_SetPingInterval(raw, ms(o.ping_interval));
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(raw, 2);
  if (s == NATS_OK) s = natsOptions_UseGlobalMessageDelivery(raw, true);
  // Each message out at once: a stop is a chain of small messages each waiting for the one
  // before, and the library's buffering held every one of them for its flusher's next turn
  // (at least 1 ms, more on a busy machine). Our messages are few and small.
  if (s == NATS_OK) s = natsOptions_SetSendAsap(raw, true);
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(raw, on_async_error, &st);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(raw, on_disconnected, &st);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(raw, on_reconnected, &st);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(raw, on_closed, &st);
  if (s == NATS_OK && !o.creds_file.empty())
    s = natsOptions_SetUserCredentialsFromFiles(raw, o.creds_file.c_str(), nullptr);
  if (s == NATS_OK && !o.ca_file.empty()) s = natsOptions_SetSecure(raw, true);
  if (s == NATS_OK && !o.ca_file.empty())
    s = natsOptions_LoadCATrustedCertificates(raw, o.ca_file.c_str());
  // The server's certificate must name the host the client was told; given several nodes,
  // NATS.c checks each by one name: the one every node's certificate carries (bus/tls.hpp).
  if (s == NATS_OK && !o.ca_file.empty()) {
    const auto expected =
        urls_of(o.url).size() > 1 ? std::string(defaults::bus::tls_shared_name) : host_of(o.url);
    s = natsOptions_SetExpectedHostname(raw, expected.c_str());
  }
  if (s == NATS_OK && !o.inbox_prefix.empty())
    s = natsOptions_SetCustomInboxPrefix(raw, o.inbox_prefix.c_str());
  if (s == NATS_OK) {
    s = natsOptions_SetRetryOnFailedConnect(raw, retry, on_connected, &st);
  }
  if (s != NATS_OK) return std::unexpected(nats_error(s, where(st, "connection options")));
  return opts;
}

// Given several nodes, the failure that NATS.c hid behind the last node's: each node alone
// says its own, and a refusal (the credentials) says the most. None if a node accepts now
// (it is handed to `close`: its callbacks hold the state it was given).
// `whole`: the state of the connect to every node, which names it in the error.
std::optional<error> failure_of_each(
    const nats_options& o, const nats_state& whole, natsStatus all,
    const std::function<void(std::unique_ptr<nats_state>)>& close) {
  std::optional<error> refused, other;
  for (const auto& url : urls_of(o.url)) {
    auto one = o;
    one.url = url;
    auto st = std::make_unique<nats_state>();
    st->name = o.name;
    st->server = without_password(url);
    auto opts = make_options(one, *st, false);
    if (!opts) continue;
    const auto s = natsConnection_Connect(&st->nc, opts->get());
    if (s == NATS_OK) {
      close(std::move(st));
      return std::nullopt;
    }
    if (s == NATS_NO_SERVER) continue;
    auto& slot = s == NATS_CONNECTION_AUTH_FAILED ? refused : other;
    if (!slot) slot = nats_error(s, where(whole, "connect") + ": node " + without_password(url));
  }
  if (refused) return refused;
  return other ? other : nats_error(all, where(whole, "connect"));
}

}  // namespace

// -- nats_transport ------------------------------------------------------------------------

result<std::unique_ptr<nats_transport>> nats_transport::connect(const nats_options& o) {
  auto st = std::make_unique<nats_state>();
  st->name = o.name;
  st->on_lost = o.on_lost;
  st->on_reconnected = o.on_reconnected;
  st->server = without_password(o.url);
  if (o.url.empty()) return fail(errc::invalid, where(*st, "connect") + ": no server URL");
  if (auto s = nats_SetMessageDeliveryPoolSize(o.delivery_threads); s != NATS_OK) {
    return std::unexpected(nats_error(s, where(*st, "message delivery pool")));
  }
  // One attempt first: refused credentials or a bad URL fail here, at once. Only a server
  // that cannot be reached (yet) is left to NATS.c to retry in the background, which it
  // would otherwise also do, forever, for credentials it will never accept.
  auto opts = make_options(o, *st, false);
  if (!opts) return std::unexpected(std::move(opts.error()));
  auto s = natsConnection_Connect(&st->nc, opts->get());
  // A valid user is refused now and then, on one connect in a few hundred, and accepted on
  // the next try with the same credentials (seen with NATS.c 3.4.1 and nats-server 2.9.10 in
  // operator mode: tests/bus/nats_operator_test.cpp, every_minted_user_connects). Refused
  // credentials are refused every time, so a few more tries cost nothing. Given several
  // nodes, NATS.c answers with the failure of the last one it tried: a refusal hides behind a
  // node that is down after it ("Timeout"), so every failure but "no server" is tried again.
  const bool several = urls_of(o.url).size() > 1;
  const auto try_again = [several](natsStatus status) {
    return status == NATS_CONNECTION_AUTH_FAILED ||
           (several && status != NATS_OK && status != NATS_NO_SERVER);
  };
  for (int attempt = 1; try_again(s) && attempt < defaults::bus::auth_attempts; ++attempt) {
    s = natsConnection_Connect(&st->nc, opts->get());
  }
  if (several && s != NATS_OK && s != NATS_NO_SERVER) {
    auto failure = failure_of_each(o, *st, s, [](std::unique_ptr<nats_state> accepted) {
      const std::unique_ptr<nats_transport> closed(new nats_transport(std::move(accepted)));
    });
    if (failure) return std::unexpected(std::move(*failure));
    s = natsConnection_Connect(&st->nc, opts->get());  // a node took us alone: once more
  }
  if (s == NATS_NO_SERVER && o.retry_on_failed_connect) {
    opts = make_options(o, *st, true);
    if (!opts) return std::unexpected(std::move(opts.error()));
    s = natsConnection_Connect(&st->nc, opts->get());
    if (s == NATS_NOT_YET_CONNECTED) {
      spdlog::info("bus: {}; connecting in the background", where(*st, "server not reachable"));
      s = NATS_OK;
    }
  }
  if (s != NATS_OK) return std::unexpected(nats_error(s, where(*st, "connect")));
  return std::unique_ptr<nats_transport>(new nats_transport(std::move(st)));
}

nats_transport::nats_transport(std::unique_ptr<detail::nats_state> state)
    : state_(std::move(state)) {}

nats_transport::~nats_transport() {
  auto& st = *state_;
  std::vector<std::weak_ptr<nats_subscription>> subs;
  {
    std::lock_guard lock(st.mutex);
    subs.swap(st.subs);
  }
  for (auto& weak : subs) {
    if (auto s = weak.lock()) s->cancel();
  }
  st.closing = true;
  natsConnection_Close(st.nc);
  std::unique_lock lock(st.mutex);
  const bool closed =
      st.closed_cv.wait_for(lock, defaults::bus::close_timeout, [&st] { return st.closed; });
  lock.unlock();
  natsConnection_Destroy(st.nc);
  if (!closed) {
    // NATS.c may still call back into the state: keep it rather than free it under them.
    spdlog::error("bus: {}: no closed callback in {} ms", where(st, "close"),
                  defaults::bus::close_timeout.count());
    static_cast<void>(state_.release());
  }
}

result<> nats_transport::publish(std::string_view subject, std::span<const std::uint8_t> data) {
  auto& st = *state_;
  const std::string subj(subject);
  if (!valid_subject(subj, false)) {
    return fail(errc::invalid, where(st, "publish") + ": bad subject \"" + subj + "\"");
  }
  if (data.size() > INT_MAX) return fail(errc::invalid, where(st, "publish " + subj) + ": too big");
  const auto s =
      natsConnection_Publish(st.nc, subj.c_str(), data.data(), static_cast<int>(data.size()));
  if (s != NATS_OK) return std::unexpected(nats_error(s, where(st, "publish " + subj)));
  return {};
}

result<> nats_transport::publish_request(std::string_view subject,
                                         std::span<const std::uint8_t> data,
                                         std::string_view reply) {
  auto& st = *state_;
  const std::string subj(subject);
  const std::string to(reply);
  if (!valid_subject(subj, false) || !valid_subject(to, false)) {
    return fail(errc::invalid,
                where(st, "publish") + ": bad subject \"" + subj + "\" or reply \"" + to + "\"");
  }
  if (data.size() > INT_MAX) return fail(errc::invalid, where(st, "publish " + subj) + ": too big");
  const auto s = natsConnection_PublishRequest(st.nc, subj.c_str(), to.c_str(), data.data(),
                                               static_cast<int>(data.size()));
  if (s != NATS_OK) return std::unexpected(nats_error(s, where(st, "publish " + subj)));
  return {};
}

result<subscription> nats_transport::subscribe(std::string_view pattern, handler h) {
  auto& st = *state_;
  auto sub = std::make_shared<nats_subscription>();
  sub->state = &st;
  sub->pattern = pattern;
  sub->handler = std::move(h);
  if (!valid_subject(sub->pattern, true)) {
    return fail(errc::invalid, where(st, "subscribe") + ": bad subject \"" + sub->pattern + "\"");
  }
  auto s = natsConnection_Subscribe(&sub->sub, st.nc, sub->pattern.c_str(), on_message, sub.get());
  if (s != NATS_OK) return std::unexpected(nats_error(s, where(st, "subscribe " + sub->pattern)));
  // NATS.c has no subscribe-with-completion call: in between, the connection may close.
  if (s = natsSubscription_SetOnCompleteCB(sub->sub, on_complete, sub.get()); s != NATS_OK) {
    auto err = nats_error(s, where(st, "subscribe " + sub->pattern));
    // A handler may be running with no completion to say when it ends: keep its state.
    natsSubscription_Destroy(sub->sub);
    sub->leaked = sub;
    return std::unexpected(std::move(err));
  }
  {
    std::lock_guard lock(st.mutex);
    std::erase_if(st.subs, [](const auto& w) { return w.expired(); });
    st.subs.push_back(sub);
  }
  return subscription(std::move(sub));
}

result<envelope> nats_transport::request(std::string_view subject,
                                         std::span<const std::uint8_t> data,
                                         std::chrono::milliseconds timeout) {
  auto& st = *state_;
  const std::string subj(subject);
  if (!valid_subject(subj, false)) {
    return fail(errc::invalid, where(st, "request") + ": bad subject \"" + subj + "\"");
  }
  if (data.size() > INT_MAX) return fail(errc::invalid, where(st, "request " + subj) + ": too big");
  natsMsg* msg = nullptr;
  const auto s = natsConnection_Request(&msg, st.nc, subj.c_str(), data.data(),
                                        static_cast<int>(data.size()), timeout.count());
  if (s != NATS_OK) return std::unexpected(nats_error(s, where(st, "request " + subj)));
  return take(msg);
}

result<> nats_transport::flush(std::chrono::milliseconds timeout) {
  const auto s = natsConnection_FlushTimeout(state_->nc, timeout.count());
  if (s != NATS_OK) return std::unexpected(nats_error(s, where(*state_, "flush")));
  return {};
}

bool nats_transport::connected() const {
  return natsConnection_Status(state_->nc) == NATS_CONN_STATUS_CONNECTED;
}

nats_stats nats_transport::stats() const {
  const auto& st = *state_;
  return {st.disconnects.load(), st.reconnects.load(), st.async_errors.load(),
          st.permission_violations.load(), st.slow_consumers.load()};
}

result<> close_nats(std::chrono::milliseconds timeout) {
  // NATS.c reads 0 as "wait forever": ask for at least a millisecond.
  const auto s = nats_CloseAndWait(std::max<int64_t>(timeout.count(), 1));
  // Not initialized: no connection was ever made, nothing to close.
  if (s != NATS_OK && s != NATS_NOT_INITIALIZED) {
    return std::unexpected(nats_error(s, "close the NATS library"));
  }
  return {};
}

}  // namespace mk::bus
