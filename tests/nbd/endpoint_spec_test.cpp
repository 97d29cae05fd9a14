#include <gtest/gtest.h>

#include "nbd/endpoint.hpp"

namespace mk::nbd {
namespace {

TEST(EndpointSpec, NbdUrisAndPaths) {
  for (const char* uri : {"nbd://host/export", "nbd://host:10809/", "nbds://h/e",
                          "nbd+unix:///?socket=/run/x.sock", "nbd+unix:///disk?socket=/x"}) {
    auto s = parse_endpoint(uri, role::source);
    ASSERT_TRUE(s) << uri;
    EXPECT_EQ(s->type, endpoint_spec::kind::nbd_uri) << uri;
  }
  for (const char* path : {"/dev/sdb", "disk.img", "./a:b"}) {
    auto s = parse_endpoint(path, role::target);
    ASSERT_TRUE(s) << path;
    EXPECT_EQ(s->type, endpoint_spec::kind::file) << path;
  }
}

TEST(EndpointSpec, UnknownSchemesAreNamed) {
  auto s = parse_endpoint("http://example/disk", role::source);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::usage);
  EXPECT_NE(s.error().message.find("unknown URI scheme 'http'"), std::string::npos);
  EXPECT_NE(s.error().message.find("source"), std::string::npos);
  EXPECT_FALSE(parse_endpoint("", role::target));
}

}  // namespace
}  // namespace mk::nbd
