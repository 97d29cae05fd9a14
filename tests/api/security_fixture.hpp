#pragma once

#include <httplib.h>

#include <string>

#include "up_process.hpp"

namespace mk::test {

/// One `migratekit up --demo` for every security test of this executable, started once (a
/// global test environment, so every fixture class derived from this one shares it): the
/// tests only probe it, and nothing they send may change it. After each test the OMA must
/// still answer; its demo job must still replicate with no stop in its record or its JobLog;
/// no other job, no schedule and no maintenance may be left; no file named after anything but
/// a known job may have appeared under DATA (nor any file in DATA/volumes); and no bus subject
/// may have named anything but a known job or the agent. Every request is counted under a
/// kind, and the counts, with what each kind tries, are printed at the end.
class security : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  static up_process& up();
  /// The demo job's id, and its source.
  static const std::string& demo();
  static std::string demo_source();
  /// A job a test made on purpose and removes before it ends: its files and subjects are
  /// expected.
  static void made(const std::string& id);

  /// One request exactly as given: the path goes out as written (percent-encoded by the
  /// caller), the headers and the body as they are. A stream's answer is its status. Counted
  /// under `kind`, one of the kinds that security_fixture.cpp describes.
  static http_answer send(const std::string& kind, const std::string& method,
                          const std::string& path, const httplib::Headers& headers = {},
                          const std::string& body = "", const std::string& type = "");
  /// The same with the right token, and a body as application/json.
  static http_answer call(const std::string& kind, const std::string& method,
                          const std::string& path, const std::string& body = "");

  /// Counts what went another way than send(), such as bus messages.
  static void tried(const std::string& kind, int n);

 public:
  /// docs/api.md's error: `status`, `code`, and a message that mentions `names`.
  static void expect_error(const http_answer& a, int status, const std::string& code,
                           const std::string& names = "");
};

}  // namespace mk::test
