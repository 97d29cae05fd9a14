#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>

namespace mk::sys {

/// The IPv4 address of `host`: an address as it is, or a name resolved once.
std::optional<in_addr> ipv4_of(const std::string& host);

/// A TCP port on `host` that a server may bind now: `preferred` if it is free, else (or with
/// 0) one the kernel picks; 0 if none. Bound with SO_REUSEADDR, as servers bind, and let go
/// at once: another process may still take it before the server binds it.
std::uint16_t free_tcp_port(in_addr host, std::uint16_t preferred = 0);

}  // namespace mk::sys
