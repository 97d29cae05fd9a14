#include "sys/ports.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include "sys/unique_fd.hpp"

namespace mk::sys {

std::optional<in_addr> ipv4_of(const std::string& host) {
  in_addr a{};
  if (::inet_pton(AF_INET, host.c_str(), &a) == 1) return a;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr)
    return std::nullopt;
  a = reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr;
  ::freeaddrinfo(found);
  return a;
}

namespace {

std::uint16_t bind_port(in_addr host, std::uint16_t port) {
  const unique_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return 0;
  const int one = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr = host;
  addr.sin_port = htons(port);
  socklen_t len = sizeof addr;
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return 0;
  return ntohs(addr.sin_port);
}

}  // namespace

std::uint16_t free_tcp_port(in_addr host, std::uint16_t preferred) {
  if (preferred != 0)
    if (const auto port = bind_port(host, preferred); port != 0) return port;
  return bind_port(host, 0);
}

}  // namespace mk::sys
