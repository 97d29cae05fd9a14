#include "support/raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace mk::test {

namespace {

/// The value of `name` in a response head (case-insensitive name), or "".
std::string header_value(const std::string& head, const std::string& name) {
  std::string lower_head = head, lower_name = name;
  for (auto* s : {&lower_head, &lower_name})
    for (auto& c : *s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto at = lower_head.find("\r\n" + lower_name + ":");
  if (at == std::string::npos) return "";
  const auto from = at + 3 + name.size();
  const auto end = head.find("\r\n", from);
  auto value = head.substr(from, end - from);
  while (!value.empty() && value.front() == ' ') value.erase(0, 1);
  return value;
}

}  // namespace

raw_answer raw_http(int port, const std::string& request, std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  raw_answer out;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("connect to port " + std::to_string(port) + " failed");
  }
  for (std::size_t sent = 0; sent < request.size();) {
    const auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string got;
  std::size_t head_end = std::string::npos;
  std::size_t want = 0;
  for (;;) {
    if (head_end != std::string::npos && got.size() >= head_end + 4 + want) break;
    const auto left =
        timeout - std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[4096];
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
    if (head_end == std::string::npos && (head_end = got.find("\r\n\r\n")) != std::string::npos)
      want = std::strtoull(header_value(got.substr(0, head_end + 2), "Content-Length").c_str(),
                           nullptr, 10);
  }
  ::close(fd);
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
  if (head_end == std::string::npos || got.size() < head_end + 4 + want ||
      !got.starts_with("HTTP/1.1 "))
    return out;
  out.head = got.substr(0, head_end + 2);
  out.body = got.substr(head_end + 4, want);
  out.status = std::atoi(got.c_str() + 9);
  return out;
}

int port_of(const std::string& url) {
  const auto colon = url.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(url.c_str() + colon + 1);
}

}  // namespace mk::test
