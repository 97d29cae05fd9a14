// The node file (bus/node_file.hpp): what `migratekit node-file` writes reads back the same,
// and a file that is not one, or one others may read, is refused with the key that is wrong.
#include "bus/node_file.hpp"

#include <gtest/gtest.h>

#include "bus/home.hpp"
#include "bus/tls.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "sys/atomic_file.hpp"

namespace mk::test {
namespace {

bus::node_file a_node_file(const std::filesystem::path& data) {
  auto home = bus::bus_home::open(data, "mk");
  EXPECT_TRUE(home) << home.error().message;
  bus::node_file f;
  f.bus = bus::bus_name("mk");
  f.node = "n2";
  f.route_user = "route";
  f.route_password = *home->route_password();
  f.trust = *home->server_trust();
  return f;
}

TEST(node_file, reads_back_what_was_written_with_the_same_route_password_each_time) {
  temp_dir dir;
  const auto f = a_node_file(dir.path() / "oma");
  EXPECT_EQ(f.route_password, a_node_file(dir.path() / "oma").route_password)
      << "every node of a bus shares one password";
  EXPECT_EQ(f.route_password.size(), 64u);
  ASSERT_TRUE(bus::write_node_file(dir.path() / "n2.node", f));
  EXPECT_EQ(
      std::filesystem::status(dir.path() / "n2.node").permissions() & std::filesystem::perms::all,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto back = bus::read_node_file(dir.path() / "n2.node");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->bus, "migratekit-mk");
  EXPECT_EQ(back->node, "n2");
  EXPECT_EQ(back->route_password, f.route_password);
  EXPECT_EQ(back->trust.operator_jwt, f.trust.operator_jwt);
  EXPECT_EQ(back->trust.accounts, f.trust.accounts);
  EXPECT_TRUE(back->ca_pem.empty());
}

TEST(node_file, a_wrong_key_is_named_and_a_file_others_may_read_is_refused) {
  temp_dir dir;
  const auto good = bus::to_json(a_node_file(dir.path() / "oma"));
  const auto refused = [](nlohmann::json doc, const std::string& pointer, nlohmann::json value) {
    doc[nlohmann::json::json_pointer(pointer)] = std::move(value);
    auto f = bus::node_file_from_json(doc);
    return f ? std::string("accepted") : f.error().message;
  };
  EXPECT_NE(refused(good, "/v", 2).find("\"v\""), std::string::npos);
  EXPECT_NE(refused(good, "/node", "N 2").find("\"node\""), std::string::npos);
  EXPECT_NE(refused(good, "/bus", "other").find("\"bus\""), std::string::npos);
  EXPECT_NE(refused(good, "/routes/password", "short").find("\"routes\""), std::string::npos);
  EXPECT_NE(refused(good, "/trust/operator", "not a jwt").find("\"trust.operator\""),
            std::string::npos);
  EXPECT_NE(refused(good, "/trust/accounts", nlohmann::json::object()).find("trust.accounts"),
            std::string::npos);
  EXPECT_NE(refused(good, "/tls", {{"ca", "x"}}).find("\"tls\""), std::string::npos);

  const auto careless = dir.path() / "careless.node";
  ASSERT_TRUE(sys::write_file_atomically(careless, good.dump(), 0644));
  auto f = bus::read_node_file(careless);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("chmod 600"), std::string::npos) << f.error().message;
  ASSERT_TRUE(sys::write_file_atomically(careless, "{", 0600));
  f = bus::read_node_file(careless);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("not JSON"), std::string::npos) << f.error().message;
}

TEST(node_file, a_node_s_tls_is_written_private_as_the_oma_keeps_its_own) {
  temp_dir dir;
  auto cert = bus::issue_node_certificate(dir.path() / "oma", "10.77.0.4");
  ASSERT_TRUE(cert) << cert.error().message;
  const auto ca = read_text(dir.path() / "oma" / "tls" / "ca.pem");
  ASSERT_FALSE(ca.empty());
  auto written = bus::write_node_tls(dir.path() / "n2", ca, *cert);
  ASSERT_TRUE(written) << written.error().message;
  namespace fs = std::filesystem;
  EXPECT_EQ(fs::status(dir.path() / "n2" / "tls").permissions() & fs::perms::all,
            fs::perms::owner_all);
  EXPECT_EQ(fs::status(written->key).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(read_text(written->ca), ca);
  EXPECT_EQ(read_text(written->cert), cert->cert_pem);
  EXPECT_EQ(read_text(written->key), cert->key_pem);
}

}  // namespace
}  // namespace mk::test
