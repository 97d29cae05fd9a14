#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "bus/transport.hpp"
#include "messages/codec.hpp"
#include "messages/subjects.hpp"

namespace mk::actors {

/// What every actor needs to speak on the bus: the transport (shared by the process's
/// actors), the subjects under the configured prefix, and the sender's name for `from`
/// ("oma", "vma:local"). Thread-safe, as the transport is.
class bus_link {
 public:
  bus_link(std::shared_ptr<bus::transport> t, std::string prefix, std::string from);

  bus::transport& transport() const { return *transport_; }
  const msg::subjects& subjects() const { return subjects_; }
  const std::string& from() const { return from_; }

  /// Fills in the header (a fresh id, the time now, `from`).
  msg::header header() const;

  /// Stamps the header and publishes; a failure is logged with the subject and returned.
  template <msg::catalogued T>
  bus::result<> publish(std::string_view subject, T message) const {
    message.hdr = header();
    return send(subject, msg::encode(message), T::type);
  }

  /// Stamps and publishes an answer to a request.
  template <msg::catalogued T>
  bus::result<> reply(const bus::envelope& request, T message) const {
    message.hdr = header();
    return send(request.reply, msg::encode(message), T::type);
  }

 private:
  bus::result<> send(std::string_view subject, const msg::bytes& data, std::string_view type) const;

  std::shared_ptr<bus::transport> transport_;
  msg::subjects subjects_;
  std::string from_;
  std::string id_stem_;
  mutable std::atomic<std::uint64_t> next_id_{0};
};

/// Unix time in milliseconds, as headers and records carry it.
std::int64_t unix_ms();

}  // namespace mk::actors
