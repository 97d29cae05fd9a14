#pragma once

#include <poll.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nbd/error.hpp"

namespace mk::nbd {

/// A run of the disk that reads the same way: data, or known to read as zeroes.
struct extent {
  std::uint64_t offset;
  std::uint64_t length;
  bool zero;

  std::uint64_t end() const { return offset + length; }
};

/// Receives the completion of asynchronous requests. Endpoints call it from inside their own
/// calls (submit or handle_events) on the copier's thread, so it must only record the event.
class completion_sink {
 public:
  virtual void on_complete(std::uint32_t tag, int err) = 0;

 protected:
  ~completion_sink() = default;
};

/// The address an endpoint hands back on completion. It lives as long as the request, in
/// storage the copier owns, so no request allocates.
struct io_ref {
  completion_sink* sink;
  std::uint32_t tag;
};

/// One side of a copy: an NBD export or a local file or block device. Every endpoint fills the
/// same table, so the copy loop never asks which kind it has. Synchronous endpoints complete
/// requests before the submitting call returns. One thread at a time uses a connection, and
/// only the thread that uses connection 0 asks for extents.
class endpoint {
 public:
  virtual ~endpoint() = default;

  /// "source nbd+unix:///?socket=/run/src.sock": prefixes every error about this endpoint.
  virtual const std::string& name() const = 0;
  virtual std::uint64_t size() const = 0;
  /// Connections requests may be spread over (several only where the server offers multi-conn).
  virtual unsigned connections() const = 0;
  /// Largest request the endpoint accepts (0: no limit known).
  virtual std::uint64_t max_request() const = 0;
  /// Whether extents() tells holes and zeroes apart from data.
  virtual bool can_extents() const = 0;
  /// Whether zero() is efficient; otherwise the copier writes zero buffers.
  virtual bool can_zero() const = 0;

  /// Extents from `offset` on (at least one, covering `offset`; possibly less than `length`).
  virtual result<std::vector<extent>> extents(std::uint64_t offset, std::uint64_t length) = 0;

  virtual result<> read(unsigned conn, void* buf, std::uint64_t length, std::uint64_t offset,
                        io_ref* ref) = 0;
  virtual result<> write(unsigned conn, const void* buf, std::uint64_t length, std::uint64_t offset,
                         io_ref* ref) = 0;
  virtual result<> zero(unsigned conn, std::uint64_t length, std::uint64_t offset, io_ref* ref) = 0;
  /// Makes every completed write durable: on one connection that covers them all (NBD
  /// multi-conn promises it; without multi-conn there is only one connection).
  virtual result<> flush(unsigned conn, io_ref* ref) = 0;

  /// What to poll for on one connection; fd -1 when there is nothing to wait for.
  virtual pollfd poll_for(unsigned conn) = 0;
  /// Acts on what poll reported for that connection.
  virtual result<> handle_events(unsigned conn, short revents) = 0;

  /// Ends the connections politely, waiting at most `timeout_ms`; never fails.
  virtual void close(int timeout_ms) = 0;
};

/// Which side of the copy an endpoint is; it names the endpoint in messages.
enum class role { source, target };

const char* to_string(role r);

/// What the command line said about an endpoint, checked before anything is opened.
struct endpoint_spec {
  enum class kind { nbd_uri, file } type;
  std::string text;
};

/// Parses SOURCE or TARGET: an NBD URI (nbd://, nbds://, nbd+unix://, ...) or a local path.
/// Any other URI scheme is a usage error that names it.
result<endpoint_spec> parse_endpoint(const std::string& text, role r);

struct open_options {
  unsigned connections;
  /// Seconds to wait for a connection or a synchronous answer before giving up.
  double io_timeout_s;
  /// A descriptor that becomes readable when a stop is requested: connecting gives up then.
  int stop_fd = -1;
  /// The source's size, when opening the target: a missing or empty target file is created
  /// at this size, and a smaller target is refused.
  std::uint64_t source_size = 0;
};

result<std::unique_ptr<endpoint>> open_nbd(const endpoint_spec& spec, role r,
                                           const open_options& opts);
result<std::unique_ptr<endpoint>> open_file(const endpoint_spec& spec, role r,
                                            const open_options& opts);

/// Opens either kind; the target is checked to be at least as large as the source.
result<std::unique_ptr<endpoint>> open_endpoint(const endpoint_spec& spec, role r,
                                                const open_options& opts);

/// The size of a source (an NBD URI or a local path), asked over one connection that gives up
/// after `timeout_s`; the error names the source. What an agent answers a probe with.
result<std::uint64_t> source_size(const std::string& source, double timeout_s);

}  // namespace mk::nbd
