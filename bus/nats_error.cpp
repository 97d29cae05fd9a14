#include <string>

#include "bus/nats_border.hpp"

namespace mk::bus::detail {

namespace {

errc kind_of(natsStatus s) {
  switch (s) {
    case NATS_TIMEOUT:
      return errc::timeout;
    case NATS_NO_RESPONDERS:
      return errc::no_responders;
    case NATS_NOT_FOUND:
      return errc::not_found;
    case NATS_NOT_PERMITTED:
    case NATS_CONNECTION_AUTH_FAILED:
      return errc::permission;
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NO_SERVER:
    case NATS_NOT_YET_CONNECTED:
    case NATS_STALE_CONNECTION:
    case NATS_INSUFFICIENT_BUFFER:  // the reconnect buffer is full
    case NATS_DRAINING:
      return errc::not_connected;
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT:
    case NATS_INVALID_TIMEOUT:
    case NATS_ADDRESS_MISSING:
    case NATS_MAX_PAYLOAD:
      return errc::invalid;
    default:
      return errc::io;
  }
}

// NATS.c keeps the last error text per thread, also when the failing call set none, and
// prefixes it with its source position ("(js.c:535): wrong last sequence: 2"). Only a text
// recorded for this very status is taken, without the position.
std::string detail_of(natsStatus s) {
  natsStatus last = NATS_OK;
  const char* text = nats_GetLastError(&last);
  if (text == nullptr || last != s) return {};
  std::string_view d = text;
  if (d.starts_with('(')) {
    if (const auto end = d.find("): "); end != d.npos) d.remove_prefix(end + 3);
  }
  if (d == natsStatus_GetText(s)) return {};
  return std::string(d);
}

}  // namespace

error nats_error(natsStatus s, std::string_view what, jsErrCode js_code) {
  const auto detail = detail_of(s);
  auto code = kind_of(s);
  // KeyValue calls report no JetStream code, only the server's words.
  if (js_code == JSStreamWrongLastSequenceErr ||
      detail.find("wrong last sequence") != std::string::npos) {
    code = errc::conflict;
  }
  std::string message(what);
  message += ": ";
  message += natsStatus_GetText(s);
  if (!detail.empty()) message += ": " + detail;
  return {code, std::move(message)};
}

std::string where(const nats_state& st, std::string_view what) {
  return std::string(what) + " (" + st.name + " at " + st.server + ")";
}

}  // namespace mk::bus::detail
