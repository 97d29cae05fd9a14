// The NBD endpoint: one libnbd handle per connection, driven asynchronously by the copier's
// poll loop. Completion callbacks only record the outcome (libnbd forbids calling back into
// the same handle from them).
#include <libnbd.h>

#include <cerrno>
#include <chrono>
#include <limits>
#include <thread>

#include "nbd/endpoint.hpp"
#include "nbd/nbd_handles.hpp"
#include "nbd/read_drainer.hpp"

namespace mk::nbd {

namespace {

struct handle_deleter {
  void operator()(nbd_handle* h) const { nbd_close(h); }
};
using handle_ptr = std::unique_ptr<nbd_handle, handle_deleter>;

std::string last_error() {
  const char* msg = nbd_get_error();
  return msg ? msg : errno_text(nbd_get_errno());
}

int on_command_done(void* user_data, int* error) {
  auto* ref = static_cast<io_ref*>(user_data);
  ref->sink->on_complete(ref->tag, *error);
  return 1;  // retire the command: nobody asks for it by cookie
}

nbd_completion_callback completion(io_ref* ref) {
  return nbd_completion_callback{on_command_done, ref, nullptr};
}

/// Drives one handle until `finished()` holds, at most `timeout_s` seconds; gives up early
/// when `stop_fd` (if any) becomes readable. Used where the copy loop is not running yet or
/// needs an answer before it can go on.
template <class Pred>
result<> wait_until(nbd_handle* h, Pred finished, double timeout_s, int stop_fd) {
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(
                                     std::chrono::duration<double>(timeout_s));
  while (!finished()) {
    if (nbd_aio_is_dead(h) == 1 || nbd_aio_is_closed(h) == 1) return fail(errc::io, last_error());
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0)
      return fail(errc::timeout, "no answer for " + std::to_string(timeout_s) + " s");
    pollfd fds[2] = {poll_entry(h), {stop_fd, POLLIN, 0}};
    int n = poll(fds, stop_fd >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (n == -1 && errno != EINTR) return fail(errc::system, "poll: " + errno_text(errno));
    if (n <= 0) continue;
    if (stop_fd >= 0 && (fds[1].revents & POLLIN))
      return fail(errc::stopped, "a stop was requested");
    if (notify(h, fds[0].revents) == -1) return fail(errc::io, last_error());
  }
  return {};
}

struct extent_collector {
  std::uint64_t offset;
  std::vector<extent>* out;
};

int on_extents(void* user_data, const char* metacontext, std::uint64_t, std::uint32_t* entries,
               std::size_t nr_entries, int*) {
  auto* c = static_cast<extent_collector*>(user_data);
  if (std::string_view(metacontext) != LIBNBD_CONTEXT_BASE_ALLOCATION) return 0;
  for (std::size_t i = 0; i + 1 < nr_entries; i += 2) {
    bool zero = (entries[i + 1] & LIBNBD_STATE_ZERO) != 0;
    c->out->push_back(extent{c->offset, entries[i], zero});
    c->offset += entries[i];
  }
  return 0;
}

class nbd_endpoint final : public endpoint {
 public:
  nbd_endpoint(std::string name, role r, std::vector<handle_ptr> handles, double io_timeout_s)
      : name_(std::move(name)),
        role_(r),
        handles_(std::move(handles)),
        io_timeout_s_(io_timeout_s) {
    auto* h = handles_.front().get();
    size_ = static_cast<std::uint64_t>(nbd_get_size(h));
    auto max = nbd_get_block_size(h, LIBNBD_SIZE_MAXIMUM);
    max_request_ = max > 0 ? static_cast<std::uint64_t>(max) : 0;
    can_extents_ = nbd_can_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION) == 1;
    can_zero_ = nbd_can_zero(h) == 1;
    can_flush_ = nbd_can_flush(h) == 1;
  }

  ~nbd_endpoint() override { close(0); }

  const std::string& name() const override { return name_; }
  std::uint64_t size() const override { return size_; }
  unsigned connections() const override { return static_cast<unsigned>(handles_.size()); }
  std::uint64_t max_request() const override { return max_request_; }
  bool can_extents() const override { return can_extents_; }
  bool can_zero() const override { return can_zero_; }

  result<std::vector<extent>> extents(std::uint64_t offset, std::uint64_t length) override {
    std::vector<extent> out;
    if (!can_extents_) {
      out.push_back(extent{offset, length, false});
      return out;
    }
    // NBD lengths are 32-bit; ask for less and let the caller come back for the rest.
    length = std::min<std::uint64_t>(length, std::numeric_limits<std::uint32_t>::max() & ~0xfffu);
    extent_collector c{offset, &out};
    if (nbd_block_status(handles_.front().get(), length, offset,
                         nbd_extent_callback{on_extents, &c, nullptr}, 0) == -1)
      return fail(errc::io, name_,
                  "block status at offset " + std::to_string(offset) + ": " + last_error());
    if (out.empty())  // a server that answered for another context only
      out.push_back(extent{offset, length, false});
    return out;
  }

  result<> read(unsigned conn, void* buf, std::uint64_t length, std::uint64_t offset,
                io_ref* ref) override {
    return submitted(nbd_aio_pread(h(conn), buf, length, offset, completion(ref), 0), "read",
                     offset, length);
  }

  result<> write(unsigned conn, const void* buf, std::uint64_t length, std::uint64_t offset,
                 io_ref* ref) override {
    return submitted(nbd_aio_pwrite(h(conn), buf, length, offset, completion(ref), 0), "write",
                     offset, length);
  }

  result<> zero(unsigned conn, std::uint64_t length, std::uint64_t offset, io_ref* ref) override {
    return submitted(nbd_aio_zero(h(conn), length, offset, completion(ref), 0), "zero", offset,
                     length);
  }

  result<> flush(unsigned conn, io_ref* ref) override {
    if (!can_flush_) {  // the server keeps nothing volatile
      ref->sink->on_complete(ref->tag, 0);
      return {};
    }
    return submitted(nbd_aio_flush(h(conn), completion(ref), 0), "flush", 0, 0);
  }

  pollfd poll_for(unsigned conn) override { return poll_entry(h(conn)); }

  result<> handle_events(unsigned conn, short revents) override {
    auto* hd = h(conn);
    if (notify(hd, revents) == -1)
      return fail(errc::io, name_, "connection " + std::to_string(conn) + " lost: " + last_error());
    if (nbd_aio_is_dead(hd) == 1 || nbd_aio_is_closed(hd) == 1)
      return fail(errc::io, name_,
                  "connection " + std::to_string(conn) + " lost: the server closed it");
    return {};
  }

  void close(int timeout_ms) override {
    using clock = std::chrono::steady_clock;
    // A source's reads still in flight were abandoned (a stop drains writes only): they are
    // left to a process of their own, never cut off (nbd/read_drainer.hpp). A target's
    // requests are never handed on: nothing may write to a volume once its mover has gone.
    if (role_ == role::source) {
      std::vector<nbd_handle*> busy;
      for (auto& hp : handles_) {
        if (hp && nbd_aio_in_flight(hp.get()) > 0 && nbd_aio_is_dead(hp.get()) != 1 &&
            nbd_aio_is_closed(hp.get()) != 1)
          busy.push_back(hp.release());
      }
      hand_off_reads(busy, io_timeout_s_, name_);
    }
    if (timeout_ms > 0) {
      std::vector<nbd_handle*> open;
      for (auto& hp : handles_) open.push_back(hp.get());
      // A source with nothing in flight was only read from: NBD_CMD_DISC is the courtesy it
      // is owed, and its server's close is not waited for (a stop's end would wait for it).
      disconnect_all(
          open, clock::now() + (role_ == role::source ? std::chrono::milliseconds(0)
                                                      : std::chrono::milliseconds(timeout_ms)));
    }
    handles_.clear();
  }

 private:
  nbd_handle* h(unsigned conn) const { return handles_[conn % handles_.size()].get(); }

  result<> submitted(std::int64_t cookie, const char* what, std::uint64_t offset,
                     std::uint64_t length) {
    if (cookie != -1) return {};
    return fail(errc::io, name_,
                std::string(what) + " at offset " + std::to_string(offset) + " (length " +
                    std::to_string(length) + "): " + last_error());
  }

  std::string name_;
  role role_;
  std::vector<handle_ptr> handles_;
  double io_timeout_s_;
  std::uint64_t size_ = 0;
  std::uint64_t max_request_ = 0;
  bool can_extents_ = false;
  bool can_zero_ = false;
  bool can_flush_ = false;
};

/// One try to connect, waiting up to `timeout_s`; `err` gets libnbd's errno on failure.
result<handle_ptr> connect_once(const std::string& uri, const std::string& name,
                                const open_options& opts, double timeout_s, int& err) {
  err = 0;
  handle_ptr h(nbd_create());
  if (!h) return fail(errc::system, name, "cannot create an NBD handle: " + last_error());
  nbd_set_handle_name(h.get(), name.substr(0, name.find(' ')).c_str());
  // nbds://AGENT@HOST:PORT/?tls-psk-file=PATH names a key file on this host (a volume served
  // to a remote agent, docs/security.md): libnbd reads it only when allowed to.
  if (uri.find("tls-psk-file=") != std::string::npos) nbd_set_uri_allow_local_file(h.get(), true);
  if (nbd_add_meta_context(h.get(), LIBNBD_CONTEXT_BASE_ALLOCATION) == -1 ||
      nbd_aio_connect_uri(h.get(), uri.c_str()) == -1) {
    err = nbd_get_errno();
    return fail(errc::io, name, "cannot connect: " + last_error());
  }
  // Asynchronously, so that a server that never answers or a stop request cannot hold us.
  auto done = wait_until(
      h.get(), [&] { return nbd_aio_is_connecting(h.get()) != 1; }, timeout_s, opts.stop_fd);
  if (!done) {
    // Only a failure of libnbd has an errno of its own: a stop or a timeout would read the
    // errno a previous try left behind.
    if (done.error().code == errc::io) err = nbd_get_errno();
    return std::unexpected(std::move(done.error()).context(name + ": cannot connect"));
  }
  if (nbd_aio_is_ready(h.get()) != 1) {
    err = nbd_get_errno();
    return fail(errc::io, name, "cannot connect: " + last_error());
  }
  return h;
}

/// Connects within the I/O timeout. "No route to host" is what a network that was just cut
/// off gives for a few seconds after it is back (the neighbour entry still says unreachable):
/// tried again every 250 ms, as a server that does not answer is waited for.
result<handle_ptr> connect(const std::string& uri, const std::string& name,
                           const open_options& opts) {
  using clock = std::chrono::steady_clock;
  constexpr auto pause = std::chrono::milliseconds(250);
  const auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(
                                           std::chrono::duration<double>(opts.io_timeout_s));
  for (;;) {
    const double left = std::chrono::duration<double>(deadline - clock::now()).count();
    int err = 0;
    auto h = connect_once(uri, name, opts, left > 0 ? left : 0.001, err);
    if (h || (err != EHOSTUNREACH && err != ENETUNREACH) || clock::now() + pause >= deadline)
      return h;
    pollfd stop{opts.stop_fd, POLLIN, 0};
    if (opts.stop_fd >= 0 && poll(&stop, 1, static_cast<int>(pause.count())) > 0)
      return fail(errc::stopped, name + ": cannot connect: a stop was requested");
    if (opts.stop_fd < 0) std::this_thread::sleep_for(pause);
  }
}

}  // namespace

result<std::unique_ptr<endpoint>> open_nbd(const endpoint_spec& spec, role r,
                                           const open_options& opts) {
  std::string name = std::string(to_string(r)) + " " + spec.text;
  std::vector<handle_ptr> handles;
  auto first = connect(spec.text, name, opts);
  if (!first) return std::unexpected(first.error());
  auto* h0 = first->get();
  if (r == role::target && nbd_is_read_only(h0) == 1)
    return fail(errc::usage, name + ": the export is read-only");
  if (nbd_get_size(h0) < 0)
    return fail(errc::io, name + ": cannot read the export size: " + last_error());
  // Several connections only where the server promises that they see each other's writes.
  unsigned n = nbd_can_multi_conn(h0) == 1 ? std::max(1u, opts.connections) : 1u;
  handles.push_back(std::move(*first));
  while (handles.size() < n) {
    auto more = connect(spec.text, name, opts);
    if (!more) return std::unexpected(more.error());
    handles.push_back(std::move(*more));
  }
  return std::make_unique<nbd_endpoint>(std::move(name), r, std::move(handles), opts.io_timeout_s);
}

}  // namespace mk::nbd
