#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "client/error.hpp"

/// Where `migratekit ctl` finds the API and its token.
namespace mk::client {

/// What the command line and the environment said (CLI11 fills each from its option, then
/// its MIGRATEKIT_* variable).
struct endpoint_sources {
  std::string api;             ///< --api, MIGRATEKIT_API
  std::string token;           ///< --token, MIGRATEKIT_TOKEN
  std::filesystem::path data;  ///< --data, MIGRATEKIT_DATA, else defaults::ctl::data_dir
};

struct api_endpoint {
  std::string url;  ///< scheme://host[:port], no path
  std::string token;
  std::string found;  ///< where the URL came from, when that helps a message ("./data/api-url")
};

/// "http://host:port" from what a person may type or a file may hold: surrounding blanks, a
/// trailing "/" or "/api/v1" are dropped. Anything but http(s)://HOST[:PORT] is a usage error.
ctl_result<std::string> normalize_api_url(std::string_view url);

/// The URL from --api, MIGRATEKIT_API or DATA/api-url; the token from --token,
/// MIGRATEKIT_TOKEN or DATA/api-token. The token of the data folder goes only to the URL of
/// the same folder: a local `up`'s token is never sent to another server. When nothing
/// says where the API is, a usage error says what to give.
ctl_result<api_endpoint> find_endpoint(const endpoint_sources& given);

/// The endpoint with the URL its data folder gives now, if it came from one: a local `up`
/// that started again on a free port (--listen 127.0.0.1:0) has written a new api-url. Else,
/// or if the file cannot be read, the endpoint as it was.
api_endpoint reread_endpoint(const api_endpoint& endpoint);

}  // namespace mk::client
