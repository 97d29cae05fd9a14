#include "client/endpoint.hpp"

#include <fstream>
#include <iterator>
#include <optional>

namespace mk::client {

namespace {

std::string_view trim(std::string_view s) {
  constexpr std::string_view blanks = " \t\r\n";
  auto first = s.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

/// A small file's content without surrounding blanks; nothing if it cannot be read.
std::optional<std::string> read_trimmed(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return std::string(trim(text));
}

}  // namespace

ctl_result<std::string> normalize_api_url(std::string_view url) {
  url = trim(url);
  auto bad = [&] {
    return fail(ctl_errc::usage,
                "the API URL must look like http://HOST:PORT, not '" + std::string(url) + "'");
  };
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return bad();
  auto scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return bad();
  auto rest = url.substr(scheme_end + 3);
  while (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.ends_with("/api/v1")) rest.remove_suffix(7);
  while (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.empty() || rest.find_first_of("/?#@ ") != std::string_view::npos) return bad();
  return std::string(scheme) + "://" + std::string(rest);
}

ctl_result<api_endpoint> find_endpoint(const endpoint_sources& given) {
  const auto url_file = given.data / "api-url";
  const auto token_file = given.data / "api-token";
  std::optional<std::string> data_url;
  if (auto text = read_trimmed(url_file); text && !text->empty()) {
    auto url = normalize_api_url(*text);
    if (!url) return unexpected(std::move(url.error()).context(url_file.string()));
    data_url = *url;
  }

  api_endpoint ep;
  if (!given.api.empty()) {
    auto url = normalize_api_url(given.api);
    if (!url) return unexpected(url.error());
    ep.url = *url;
  } else if (data_url) {
    ep.url = *data_url;
    ep.found = url_file.string();
  } else {
    return fail(ctl_errc::usage,
                "no API to talk to: give --api URL or set MIGRATEKIT_API, or point --data "
                "(MIGRATEKIT_DATA) at the data folder of a running `migratekit up` (" +
                    url_file.string() + " does not exist)");
  }

  if (!given.token.empty()) {
    ep.token = given.token;
    return ep;
  }
  if (data_url == ep.url)
    if (auto token = read_trimmed(token_file); token && !token->empty()) {
      ep.token = *token;
      return ep;
    }
  std::string why = data_url == ep.url ? token_file.string() + " cannot be read"
                                       : token_file.string() + " is only sent to " +
                                             (data_url ? *data_url : url_file.string() + "'s URL");
  return fail(ctl_errc::usage, "no API token for " + ep.url +
                                   ": give --token or set MIGRATEKIT_TOKEN (" + why + ")");
}

api_endpoint reread_endpoint(const api_endpoint& endpoint) {
  if (endpoint.found.empty()) return endpoint;
  auto text = read_trimmed(endpoint.found);
  auto url = normalize_api_url(text.value_or(""));
  auto now = endpoint;
  if (url) now.url = *url;
  return now;
}

}  // namespace mk::client
