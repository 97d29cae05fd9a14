#include "client/endpoint.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.hpp"

namespace mk::client {
namespace {

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(CtlEndpoint, UrlsAreNormalised) {
  EXPECT_EQ(normalize_api_url("http://127.0.0.1:8080").value(), "http://127.0.0.1:8080");
  EXPECT_EQ(normalize_api_url(" http://127.0.0.1:8080/\n").value(), "http://127.0.0.1:8080");
  EXPECT_EQ(normalize_api_url("https://oma.example:443/api/v1/").value(),
            "https://oma.example:443");
  EXPECT_EQ(normalize_api_url("http://[::1]:8080").value(), "http://[::1]:8080");
}

TEST(CtlEndpoint, WhatIsNoApiUrlIsBadUsage) {
  for (auto bad : {"", "127.0.0.1:8080", "ftp://host", "http://", "http://host/other",
                   "http://host:80?x=1", "http://user@host"}) {
    auto url = normalize_api_url(bad);
    ASSERT_FALSE(url) << bad;
    EXPECT_EQ(url.error().code, ctl_errc::usage);
    EXPECT_NE(url.error().message.find("http://HOST:PORT"), std::string::npos);
  }
}

TEST(CtlEndpoint, OptionsComeFirst) {
  test::temp_dir data;
  write(data / "api-url", "http://127.0.0.1:40123\n");
  write(data / "api-token", "local-token\n");
  auto ep = find_endpoint({.api = "http://10.0.0.5:8080/", .token = "given", .data = data.path()});
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_EQ(ep->url, "http://10.0.0.5:8080");
  EXPECT_EQ(ep->token, "given");
  EXPECT_EQ(ep->found, "");
}

TEST(CtlEndpoint, ALocalUpsDataFolderGivesBoth) {
  test::temp_dir data;
  write(data / "api-url", "http://127.0.0.1:40123\n");
  write(data / "api-token", "0123abcd\n");
  auto ep = find_endpoint({.api = "", .token = "", .data = data.path()});
  ASSERT_TRUE(ep) << ep.error().message;
  EXPECT_EQ(ep->url, "http://127.0.0.1:40123");
  EXPECT_EQ(ep->token, "0123abcd");
  EXPECT_EQ(ep->found, (data / "api-url").string());
}

TEST(CtlEndpoint, TheDataFoldersTokenGoesOnlyToItsOwnUrl) {
  test::temp_dir data;
  write(data / "api-url", "http://127.0.0.1:40123");
  write(data / "api-token", "secret");
  auto same = find_endpoint({.api = "http://127.0.0.1:40123/", .token = "", .data = data.path()});
  ASSERT_TRUE(same) << same.error().message;
  EXPECT_EQ(same->token, "secret");

  auto other = find_endpoint({.api = "http://10.0.0.5:8080", .token = "", .data = data.path()});
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ctl_errc::usage);
  EXPECT_NE(other.error().message.find("--token"), std::string::npos) << other.error().message;
  EXPECT_EQ(other.error().message.find("secret"), std::string::npos);
}

TEST(CtlEndpoint, NothingFoundSaysWhatToGive) {
  test::temp_dir data;
  auto ep = find_endpoint({.api = "", .token = "", .data = data.path()});
  ASSERT_FALSE(ep);
  EXPECT_EQ(ep.error().code, ctl_errc::usage);
  for (auto hint : {"--api", "MIGRATEKIT_API", "migratekit up", "api-url"})
    EXPECT_NE(ep.error().message.find(hint), std::string::npos) << ep.error().message;
}

TEST(CtlEndpoint, AMissingTokenFileIsNamed) {
  test::temp_dir data;
  write(data / "api-url", "http://127.0.0.1:40123");
  auto ep = find_endpoint({.api = "", .token = "", .data = data.path()});
  ASSERT_FALSE(ep);
  EXPECT_NE(ep.error().message.find((data / "api-token").string()), std::string::npos)
      << ep.error().message;
}

TEST(CtlEndpoint, ABadUrlFileIsNamed) {
  test::temp_dir data;
  write(data / "api-url", "localhost:8080");
  auto ep = find_endpoint({.api = "", .token = "t", .data = data.path()});
  ASSERT_FALSE(ep);
  EXPECT_EQ(ep.error().code, ctl_errc::usage);
  EXPECT_NE(ep.error().message.find((data / "api-url").string()), std::string::npos);
}

TEST(CtlEndpoint, AnUpStartedAgainOnAnotherPortIsFoundAgain) {
  test::temp_dir data;
  write(data / "api-url", "http://127.0.0.1:40123");
  write(data / "api-token", "secret");
  auto ep = find_endpoint({.api = "", .token = "", .data = data.path()});
  ASSERT_TRUE(ep) << ep.error().message;
  write(data / "api-url", "http://127.0.0.1:40999\n");
  auto moved = reread_endpoint(*ep);
  EXPECT_EQ(moved.url, "http://127.0.0.1:40999");
  EXPECT_EQ(moved.token, "secret");

  write(data / "api-url", "garbage");
  EXPECT_EQ(reread_endpoint(*ep).url, ep->url) << "what cannot be read changes nothing";

  api_endpoint given{.url = "http://10.0.0.5:8080", .token = "t", .found = ""};
  EXPECT_EQ(reread_endpoint(given).url, given.url) << "a URL given is kept";
}

}  // namespace
}  // namespace mk::client
