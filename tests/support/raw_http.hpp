#pragma once

#include <chrono>
#include <string>

namespace mk::test {

/// What came back for a request written byte for byte: the status (0 when nothing complete
/// came back in time), the body, and how long it took.
struct raw_answer {
  int status = 0;
  std::string head;
  std::string body;
  std::chrono::milliseconds took{0};
};

/// Writes `request` as it is to 127.0.0.1:`port` and reads one response: its head, then as
/// many body bytes as its Content-Length says. The connection stays open while it waits, as
/// a client that keeps it alive does, so a server that waits for more of the request shows
/// as a late answer or none. HTTP clients cannot be made to send a request without framing
/// headers; this can.
raw_answer raw_http(int port, const std::string& request,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// The port of a URL such as http://127.0.0.1:8080.
int port_of(const std::string& url);

}  // namespace mk::test
