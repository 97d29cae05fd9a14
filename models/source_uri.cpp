#include "models/source_uri.hpp"

#include <charconv>
#include <optional>

#include "messages/text.hpp"

namespace mk::actors {

namespace {

constexpr std::size_t max_source = 4096;
/// sockaddr_un holds 108 bytes of path with its terminating NUL.
constexpr std::size_t max_socket_path = 107;

constexpr std::string_view usage =
    " (nbd://host[:port]/export or nbd+unix:///export?socket=/absolute/path)";

std::string problem(std::string_view why) { return "source: " + std::string(why); }

bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/// RFC 3986's unreserved and reserved characters and '%', less '#': a fragment means nothing
/// to NBD.
bool uri_character(char c) {
  return alnum(c) || std::string_view("-._~:/?[]@!$&'()*+,;=%").find(c) != std::string_view::npos;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// `text` with its %XX decoded, if it holds no control character once decoded (a %00 would
/// cut a path short as a C string); nothing when a '%' is not followed by two hex digits.
std::optional<std::string> decoded(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_digit(text[i + 1]), lo = hex_digit(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    out += c;
  }
  if (!msg::printable(out)) return std::nullopt;
  return out;
}

/// HOST[:PORT], HOST a name or an address, [IPv6] in brackets, PORT from 1 to 65535.
std::string authority_problem(std::string_view authority) {
  std::string_view host = authority, port;
  bool has_port = false;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return problem("host: [IPv6] expected");
    for (char c : authority.substr(1, close - 1))
      if (hex_digit(c) < 0 && c != ':' && c != '.') return problem("host: [IPv6] expected");
    host = authority.substr(1, close - 1);
    const auto rest = authority.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return problem("host: HOST[:PORT] expected");
    has_port = !rest.empty();
    if (has_port) port = rest.substr(1);
  } else {
    if (const auto colon = authority.find(':'); colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      has_port = true;
    }
    for (char c : host)
      if (!alnum(c) && c != '.' && c != '-' && c != '_')
        return problem("host: a name or an address expected (letters, digits, '.', '-')");
  }
  if (host.empty()) return problem(std::string("a host expected") + std::string(usage));
  if (has_port) {
    unsigned value = 0;
    const auto* end = port.data() + port.size();
    const auto [p, ec] = std::from_chars(port.data(), end, value);
    if (port.empty() || ec != std::errc{} || p != end || value < 1 || value > 65535)
      return problem("port: a number from 1 to 65535 expected");
  }
  return {};
}

/// An absolute path that never climbs, short enough for a socket address.
std::string socket_problem(std::string_view value) {
  const auto path = decoded(value);
  if (!path) return problem("socket: a path without control characters expected");
  if (!path->starts_with('/')) return problem("socket: an absolute path expected");
  if (path->size() > max_socket_path)
    return problem("socket: a path of at most " + std::to_string(max_socket_path) +
                   " bytes expected");
  std::string_view rest = *path;
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    if (rest.substr(0, slash) == "..") return problem("socket: a path without '..' expected");
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  }
  return {};
}

}  // namespace

std::string source_problem(std::string_view source) {
  if (source.size() > max_source)
    return problem("at most " + std::to_string(max_source) + " characters expected");
  const auto sep = source.find("://");
  const auto scheme = source.substr(0, sep == std::string_view::npos ? 0 : sep);
  const bool tcp = scheme == "nbd" || scheme == "nbds";
  const bool unix_socket = scheme == "nbd+unix" || scheme == "nbds+unix";
  if (!tcp && !unix_socket) return problem(std::string("an NBD URI expected") + std::string(usage));
  for (char c : source)
    if (!uri_character(c))
      return problem(
          "only the characters of a URI expected (spaces, quotes, '#', '|', '`', "
          "'<', '>', '\\' and others percent-encoded)");
  const auto rest = source.substr(sep + 3);
  const auto query_at = rest.find('?');
  const auto before_query = rest.substr(0, query_at);
  const auto path_at = before_query.find('/');
  const auto authority = before_query.substr(0, path_at);
  const auto export_name =
      path_at == std::string_view::npos ? std::string_view{} : before_query.substr(path_at);
  if (!decoded(export_name)) return problem("export: a name without control characters expected");
  if (tcp) {
    if (auto why = authority_problem(authority); !why.empty()) return why;
  } else if (!authority.empty()) {
    return problem(std::string(scheme) + ":// takes no host" + std::string(usage));
  }
  std::string_view query =
      query_at == std::string_view::npos ? std::string_view{} : rest.substr(query_at + 1);
  bool has_socket = false;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = param.find('=');
    const auto key = param.substr(0, eq);
    if (key != "socket" || tcp)
      return problem("unknown parameter '" + std::string(key) + "'" + std::string(usage));
    if (has_socket) return problem("socket: given twice");
    has_socket = true;
    if (auto why = socket_problem(eq == std::string_view::npos ? std::string_view{}
                                                               : param.substr(eq + 1));
        !why.empty())
      return why;
  }
  if (unix_socket && !has_socket)
    return problem(std::string(scheme) + ":// needs socket=PATH" + std::string(usage));
  return {};
}

}  // namespace mk::actors
