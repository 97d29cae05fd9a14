#pragma once

#include <string>
#include <string_view>
#include <vector>

/// Server-Sent Events as `migratekit ctl` reads them from GET /api/v1/events.
namespace mk::client {

/// One dispatched event.
struct sse_event {
  std::string id;    ///< the last `id:` seen, this event's or an earlier one's
  std::string type;  ///< `event:`, "message" when the event named none
  std::string data;  ///< the `data:` lines joined with "\n"
};

/// The event-stream format (WHATWG HTML, "Server-sent events") fed in chunks as they arrive:
/// a chunk may end in the middle of a line, or of a "\r\n". Lines are `field: value`
/// (one space after the colon is dropped), `:` starts a comment, a blank line dispatches the
/// event. `retry:` and unknown fields are ignored; an event without data is not dispatched.
class sse_parser {
 public:
  /// The events that this chunk completes, in order.
  std::vector<sse_event> feed(std::string_view chunk);

  /// The id to send as Last-Event-ID when the stream is opened again.
  const std::string& last_id() const { return last_id_; }

 private:
  void line(std::string_view text, std::vector<sse_event>& out);

  std::string partial_;    ///< a line not ended yet
  bool after_cr_ = false;  ///< the previous chunk ended in "\r": a leading "\n" belongs to it
  std::string last_id_;
  std::string type_;
  std::string data_;
  bool has_data_ = false;
};

}  // namespace mk::client
