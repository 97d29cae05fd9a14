#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "client/endpoint.hpp"
#include "client/error.hpp"

/// The REST API of docs/api.md as `migratekit ctl` calls it: cpp-httplib underneath,
/// errors as values above. The only file of ctl that includes <httplib.h>.
namespace mk::client {

/// An answer of the API with a 2xx status.
struct api_reply {
  int status = 0;
  std::string body;     ///< as the API sent it: what --json prints
  nlohmann::json json;  ///< the body parsed (null when empty)
};

/// Query parameters, encoded by the library.
using api_query = std::multimap<std::string, std::string>;

/// What an event stream does as it runs. Either returning false ends the stream at once.
struct stream_handlers {
  /// The stream is open (200): the moment to read again what may have been missed.
  std::function<bool()> opened;
  /// The next bytes of the stream, cut anywhere.
  std::function<bool(std::string_view)> received;
};

/// Every call opens its own connection, so one client serves a stream and the requests
/// made while it runs. Paths are under /api/v1 ("/replications").
class api_client {
 public:
  explicit api_client(api_endpoint endpoint) : endpoint_(std::move(endpoint)) {}

  /// A 4xx/5xx answer is a `refused` error "HTTP 409 conflict: <the API's message>" (404:
  /// `not_found`); no answer is `unreachable`.
  ctl_result<api_reply> get(const std::string& path, const api_query& query = {}) const;
  ctl_result<api_reply> post(const std::string& path, const nlohmann::json& body) const;
  ctl_result<api_reply> put(const std::string& path, const nlohmann::json& body) const;
  ctl_result<api_reply> del(const std::string& path) const;

  /// GET a text/event-stream until a handler returns false (success) or the stream fails
  /// or ends (`unreachable`; `refused` for a 4xx/5xx). `idle` bounds the wait for the next
  /// bytes; `last_event_id`, if any, asks the server for the events after it.
  ctl_result<void> stream(const std::string& path, const std::string& last_event_id,
                          std::chrono::milliseconds idle, const stream_handlers& handlers) const;

  const api_endpoint& endpoint() const { return endpoint_; }

 private:
  api_endpoint endpoint_;
};

}  // namespace mk::client
