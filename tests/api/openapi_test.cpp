// docs/openapi.yaml describes the API as built: every documented path and method answers the
// running server (`migratekit up`) with one of the statuses documented for it, never "no such
// route".
#include <httplib.h>
#include <yaml-cpp/yaml.h>

#include <set>

#include "support/nbdkit.hpp"
#include "up_process.hpp"

namespace mk::test {
namespace {

using nlohmann::json;

class openapi : public up_fixture {
 protected:
  void SetUp() override {
    source_ = nbdkit_server::start(dir_.path(), "source", {"rate"},
                                   {"random", "size=64M", "seed=5", "rate=64M"});
    start_up();
  }
  void TearDown() override {
    up_fixture::TearDown();
    source_.stop();
  }
  nbdkit_server source_;
};

TEST_F(openapi, every_documented_path_answers_with_a_documented_status) {
  const auto doc = YAML::LoadFile(std::string(MK_SOURCE_DIR) + "/docs/openapi.yaml");
  ASSERT_TRUE(doc["paths"].IsMap());
  auto created = up().post("/api/v1/replications",
                           {{"name", "openapi"}, {"source", source_.uri()}, {"vma", "local"}});
  ASSERT_EQ(created.status, 201) << created.text;
  const auto id = created.body.value("id", "");

  httplib::Client client(up().url());
  client.set_bearer_token_auth(up().token());
  client.set_read_timeout(10, 0);
  std::size_t checked = 0;
  // DELETE last: it removes the job the other paths use.
  for (const auto* wanted : {"get", "post", "put", "delete"}) {
    for (const auto& p : doc["paths"]) {
      auto path = p.first.as<std::string>();
      if (auto at = path.find("{id}"); at != std::string::npos) path.replace(at, 4, id);
      for (const auto& op : p.second) {
        const auto method = op.first.as<std::string>();
        if (method != wanted) continue;
        std::set<int> documented;
        for (const auto& r : op.second["responses"])
          documented.insert(std::stoi(r.first.as<std::string>()));
        int status = 0;
        if (method == "get") {
          // A stream answers with its headers at once: the status is read from them, and the
          // request ends there.
          (void)client.Get(
              path.c_str(), httplib::Headers{},
              [&status](const httplib::Response& r) {
                status = r.status;
                return false;
              },
              [](const char*, std::size_t) { return true; });
        } else if (method == "post") {
          auto r = client.Post(path.c_str(), "{}", "application/json");
          status = r ? r->status : 0;
        } else if (method == "put") {
          auto r = client.Put(path.c_str(), "{}", "application/json");
          status = r ? r->status : 0;
        } else {
          auto r = client.Delete(path.c_str());
          status = r ? r->status : 0;
        }
        SCOPED_TRACE(method + " " + path);
        EXPECT_TRUE(documented.contains(status))
            << "answered " << status << ", documented: " << ::testing::PrintToString(documented);
        EXPECT_NE(status, 405);
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 20u) << "the document lost operations";
}

}  // namespace
}  // namespace mk::test
