// Refusals of docs/api.md provoked over HTTP against `migratekit up`, each with its status
// and error body. Hostile input, ids and the token on every route are the security suite's
// (security_*_test.cpp).
#include <httplib.h>

#include "nats_fixture.hpp"
#include "support/nbdkit.hpp"
#include "up_process.hpp"

namespace mk::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class api_errors : public up_fixture {
 protected:
  void SetUp() override {
    // A small, quick source: the tests need one job that completes.
    source_ = nbdkit_server::start(dir_.path(), "source", {}, {"random", "size=4M", "seed=3"});
    start_up();
    client_ = std::make_unique<httplib::Client>(up().url());
    client_->set_bearer_token_auth(up().token());
  }
  void TearDown() override {
    client_.reset();
    up_fixture::TearDown();
    source_.stop();
  }

  /// A raw POST: the body and its content type as given.
  httplib::Result raw_post(const std::string& path, const std::string& body,
                           const std::string& type = "application/json") {
    return client_->Post(path.c_str(), body, type.c_str());
  }

  /// The status, and that the body is docs/api.md's error with `code` and a message that
  /// mentions `names` (the field at fault).
  void expect_error(const httplib::Result& r, int status, const std::string& code,
                    const std::string& names = "") {
    ASSERT_TRUE(r) << "no answer";
    EXPECT_EQ(r->status, status) << r->body;
    auto body = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(body.is_object() && body["error"].is_object()) << r->body;
    EXPECT_EQ(body["error"]["code"], code) << r->body;
    EXPECT_TRUE(body["error"]["message"].is_string());
    if (!names.empty()) {
      EXPECT_NE(body["error"]["message"].get<std::string>().find(names), std::string::npos)
          << r->body;
    }
  }

  nbdkit_server source_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(api_errors, bad_bodies_are_400_naming_what_is_wrong) {
  const std::string create = "/api/v1/replications";
  expect_error(raw_post(create, R"({"name": 7, "source": "nbd://h/x"})"), 400, "invalid", "name");
  expect_error(raw_post(create, R"({"name": "x", "source": ["nbd://h/x"]})"), 400, "invalid",
               "source");
  expect_error(raw_post(create, R"({"name": "x"})"), 400, "invalid", "source");
  expect_error(raw_post(create, R"({"name": "x", "source": "nbd://h/x", "colour": "red"})"), 400,
               "invalid", "colour");
  EXPECT_TRUE(jobs().empty()) << "a refused request made a job";
}

TEST_F(api_errors, bad_and_unknown_ids_and_bad_stop_options) {
  expect_error(client_->Get("/api/v1/replications/r-00000000"), 404, "not_found");
  expect_error(client_->Get("/api/v1/replications/r-00000000/log"), 404, "not_found");
  expect_error(raw_post("/api/v1/replications/r-00000000/stop", "{}"), 404, "not_found");
  expect_error(raw_post("/api/v1/replications/r-00000000/resume", ""), 404, "not_found");
  expect_error(client_->Delete("/api/v1/replications/r-00000000"), 404, "not_found");
  expect_error(raw_post("/api/v1/replications/r-00000000/stop", R"({"mode": "gently"})"), 400,
               "invalid", "mode");
  expect_error(raw_post("/api/v1/replications/r-00000000/stop", R"({"force": true})"), 400,
               "invalid", "force");
  expect_error(client_->Get("/api/v1/replications?state=sleeping"), 400, "invalid", "state");
  expect_error(client_->Get("/api/v1/replications?limit=ten"), 400, "invalid", "limit");
  expect_error(client_->Get("/api/v1/replications?cursor=xyz"), 400, "invalid", "cursor");
  expect_error(raw_post("/api/v1/replications/stop", R"({"ids": "r-1"})"), 400, "invalid", "ids");
  expect_error(raw_post("/api/v1/replications/stop", R"({"ids": ["r-1"], "filter": {}})"), 400,
               "invalid", "ids or filter");
}

TEST_F(api_errors, a_stop_of_a_completed_job_is_409_and_so_is_its_resume) {
  auto created = up().post("/api/v1/replications",
                           {{"name", "small"}, {"source", source_.uri()}, {"vma", "local"}});
  ASSERT_EQ(created.status, 201) << created.text;
  const auto id = created.body.value("id", "");
  ASSERT_TRUE(wait_job(
      id, [](const json& j) { return j.value("state", "") == "completed"; }, "completed"));
  expect_error(raw_post("/api/v1/replications/" + id + "/stop", "{}"), 409, "conflict",
               "completed");
  expect_error(raw_post("/api/v1/replications/" + id + "/stop?dry_run=true", "{}"), 409,
               "conflict");
  expect_error(raw_post("/api/v1/replications/" + id + "/resume", ""), 409, "conflict");
}

// A refusal of the token says which scheme to use; /metrics, refused without it, counts with it.
TEST_F(api_errors, a_refused_token_names_the_scheme_and_metrics_count_with_it) {
  httplib::Client anonymous(up().url());
  auto r = anonymous.Get("/metrics");
  expect_error(r, 401, "unauthorized");
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer");
  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("migratekit_jobs{state=\"replicating\"}"), std::string::npos);
  EXPECT_NE(metrics->body.find("migratekit_stop_duration_seconds_bucket"), std::string::npos);
}

// The page and its files need no token (the page asks for it), and say that the token in the
// page's URL must not leave in a Referer, and that nothing else runs in the page.
TEST_F(api_errors, the_page_and_its_files_are_served_without_the_token) {
  httplib::Client anonymous(up().url());
  auto page = anonymous.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("<script type=\"module\" src=\"/ui/app.js\">"), std::string::npos);
  EXPECT_EQ(page->get_header_value("Referrer-Policy"), "no-referrer");
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'self'"),
            std::string::npos);
  auto script = anonymous.Get("/ui/app.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  auto style = anonymous.Get("/ui/style.css");
  ASSERT_TRUE(style);
  EXPECT_EQ(style->get_header_value("Content-Type"), "text/css; charset=utf-8");
  for (auto* path : {"/ui/no-such.js", "/ui/../server.cpp", "/ui/%2e%2e%2fapi-token",
                     "/ui/app.js.map", "/api-token"}) {
    SCOPED_TRACE(path);
    expect_error(anonymous.Get(path), 404, "not_found");
  }
}

TEST_F(api_errors, the_listener_binds_loopback_by_default) {
  EXPECT_TRUE(up().url().starts_with("http://127.0.0.1:")) << up().url();
}

}  // namespace
}  // namespace mk::test
