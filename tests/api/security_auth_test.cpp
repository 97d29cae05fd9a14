// docs/security.md against a running `migratekit up --demo`: no route of docs/openapi.yaml
// answers without the right token, however the token or the path is spelled, and no id that
// is not an id reaches a job, a file or a bus subject (docs/api.md). Each request carries a
// body that would change something if it were obeyed; the fixture checks after each test that
// nothing did.
#include <yaml-cpp/yaml.h>

#include "security_fixture.hpp"

namespace mk::test {
namespace {

using nlohmann::json;

std::string upper_case(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

/// A body that would act if the request got through: a stop that deletes, maintenance on,
/// a job, a schedule.
std::string obeyed_body(const std::string& path, const std::string& demo_source) {
  if (path.ends_with("/replications"))
    return json{{"name", "intruder"}, {"source", demo_source}}.dump();
  if (path.ends_with("/maintenance")) return R"({"enabled": true, "reason": "intruder"})";
  if (path.ends_with("/schedules"))
    return R"({"action": "stop", "target": {"all": true}, "at": "2031-01-01T00:00:00Z"})";
  if (path.ends_with("/replications/stop"))
    return R"({"filter": {}, "mode": "force", "volumes": "delete"})";
  return R"({"mode": "force", "volumes": "delete"})";
}

TEST_F(security, every_documented_route_refuses_a_missing_or_wrong_token) {
  const auto doc = YAML::LoadFile(std::string(MK_SOURCE_DIR) + "/docs/openapi.yaml");
  const auto& token = up().token();
  auto wrong = token;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  const std::vector<std::pair<std::string, httplib::Headers>> refused = {
      {"no token", {}},
      {"a wrong token of the same length", {{"Authorization", "Bearer " + wrong}}},
      {"a prefix of the token", {{"Authorization", "Bearer " + token.substr(0, 16)}}},
      {"the token and one more character", {{"Authorization", "Bearer " + token + "0"}}},
      {"an empty Bearer", {{"Authorization", "Bearer "}}},
      {"two spaces after Bearer", {{"Authorization", "Bearer  " + token}}},
      {"the token as Basic", {{"Authorization", "Basic " + token}}},
  };
  int routes = 0;
  for (const auto& p : doc["paths"]) {
    auto path = p.first.as<std::string>();
    if (auto at = path.find("{id}"); at != std::string::npos) path.replace(at, 4, demo());
    for (const auto& op : p.second) {
      const auto method = op.first.as<std::string>();
      if (method == "parameters") continue;
      const auto verb = upper_case(method);
      const auto body = verb == "GET" || verb == "DELETE" ? "" : obeyed_body(path, demo_source());
      const auto type = body.empty() ? "" : "application/json";
      SCOPED_TRACE(verb + " " + path);
      ++routes;
      if (op.second["security"] && op.second["security"].size() == 0) {
        EXPECT_EQ(send("token", verb, path).status, 200) << "a route without a token";
        continue;
      }
      for (const auto& [what, headers] : refused) {
        SCOPED_TRACE(what);
        expect_error(send("token", verb, path, headers, body, type), 401, "unauthorized");
      }
      // The token as a parameter: only the events stream takes it (a browser's EventSource
      // cannot set a header); anywhere else it would end up in logs and histories.
      const auto query =
          path + (path.find('?') == std::string::npos ? "?" : "&") + "access_token=" + token;
      auto as_query = send("token", verb, query, {}, body, type);
      if (path == "/api/v1/events") {
        EXPECT_EQ(as_query.status, 200);
        expect_error(send("token", verb, path + "?access_token=" + wrong), 401, "unauthorized");
      } else {
        expect_error(as_query, 401, "unauthorized");
      }
    }
  }
  EXPECT_GE(routes, 19) << "docs/openapi.yaml lost routes";
}

TEST_F(security, routes_spelled_another_way_do_not_skip_the_token) {
  const std::vector<std::string> paths = {"/%61pi/v1/replications",
                                          "/api/v1/%72eplications",
                                          "//api/v1/replications",
                                          "/api//v1/replications",
                                          "/api/v1/./replications",
                                          "/api/v1/healthz/../replications",
                                          "/api/v1/healthz%2F..%2Freplications",
                                          "/API/v1/replications",
                                          "/api/v1/replications/",
                                          "/api/v1/replications%00",
                                          "/api/v1/healthz%00/../replications",
                                          "/metrics/",
                                          "/Metrics",
                                          "/api/v1/no-such-route",
                                          "/api/v1/replications/" + demo() + "/../" + demo()};
  for (const auto& path : paths) {
    SCOPED_TRACE(path);
    for (const auto* method : {"GET", "POST", "DELETE"}) {
      auto a = send("route", method, path, {}, method == std::string("POST") ? "{}" : "",
                    "application/json");
      EXPECT_TRUE(a.status == 401 || a.status == 404) << method << " answered " << a.status;
      EXPECT_TRUE(a.body.is_object() && a.body.contains("error")) << a.text.substr(0, 200);
    }
  }
}

/// The refusal of `id` where an id was expected (docs/api.md: "a 400 or 404"): 404 if it holds a
/// slash once decoded, since no route has that shape, else 400 naming the id.
void expect_not_an_id(const std::string& id, const http_answer& a) {
  if (upper_case(id).find("%2F") != std::string::npos)
    security::expect_error(a, 404, "not_found");
  else
    security::expect_error(a, 400, "invalid", "id");
}

TEST_F(security, ids_that_are_not_ids_reach_no_job_file_or_subject) {
  const std::vector<std::string> ids = {
      "..", "%2e%2e", "..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
      "%2E%2E%2F%2E%2E%2Fapi-token", "R-UPPER", std::string(64, 'a'), "r-" + std::string(300, '7'),
      "r-%C3%A9t%C3%A9", "%E2%80%AEr-1", "r-1%00", "r-1%00.img", "r-1%0D%0AX-Injected:%201",
      "r%201", "r-1%20", "%20r-1", "-r-1", "r-%2A", "r-%3E", "r.1", "r-1%2F", "%00",
      // The demo job's own id, changed: none of these may act on it.
      demo() + "%00", demo() + "%00x", demo() + "%20", demo() + "%0A", demo() + "%2F",
      demo() + "%2F.", upper_case(demo())};
  const std::string stop = R"({"mode": "force", "volumes": "delete"})";
  for (const auto& id : ids) {
    SCOPED_TRACE(id);
    const auto one = "/api/v1/replications/" + id;
    expect_not_an_id(id, call("id", "GET", one));
    expect_not_an_id(id, call("id", "DELETE", one));
    expect_not_an_id(id, call("id", "POST", one + "/stop", stop));
    expect_not_an_id(id, call("id", "POST", one + "/stop?dry_run=true", stop));
    expect_not_an_id(id, call("id", "POST", one + "/resume", "{}"));
    expect_not_an_id(id, call("id", "GET", one + "/log"));
    expect_not_an_id(id, call("id", "DELETE", "/api/v1/schedules/" + id));
  }
  // A trailing slash or a dot segment after the demo job's id is another path, not the job.
  for (const auto& path : {"/" + demo() + "/", "/" + demo() + "/stop/", "/" + demo() + "/./stop",
                           "/" + demo() + "//stop", "/" + demo() + "/resume/"}) {
    SCOPED_TRACE(path);
    expect_error(call("id", "POST", "/api/v1/replications" + path, stop), 404, "not_found");
  }
}

TEST_F(security, ids_in_bodies_that_are_not_ids_are_refused) {
  for (const auto* vma : {"LOCAL", "local.x", "local>", "*", "local/../x", "", " local"}) {
    SCOPED_TRACE(vma);
    expect_error(call("id", "POST", "/api/v1/replications",
                      json{{"name", "x"}, {"source", demo_source()}, {"vma", vma}}.dump()),
                 400, "invalid", "vma");
  }
  auto batch =
      call("id", "POST", "/api/v1/replications/stop",
           json{{"ids",
                 {"../../etc/passwd", "R-1", std::string("r-1\0", 4), std::string(64, 'a'), "r.*"}}}
               .dump());
  ASSERT_EQ(batch.status, 202) << batch.text;
  EXPECT_EQ(batch.body["accepted"], json::array());
  ASSERT_EQ(batch.body["rejected"].size(), 5u) << batch.text;
  for (const auto& r : batch.body["rejected"])
    EXPECT_EQ(r["error"].value("code", ""), "invalid") << r.dump();
  expect_error(call("id", "POST", "/api/v1/replications/stop", R"({"filter": {"vma": "*"}})"), 400,
               "invalid", "filter.vma");
  expect_error(call("id", "GET", "/api/v1/replications?vma=local.%3E"), 400, "invalid", "vma");
  for (const auto* target :
       {R"({"job": "../../etc/passwd"})", R"({"vma": "LOCAL"})", R"({"job": "r-1\u0000"})"}) {
    SCOPED_TRACE(target);
    auto a = call("id", "POST", "/api/v1/schedules",
                  R"({"action": "stop", "at": "2031-01-01T00:00:00Z", "target": )" +
                      std::string(target) + "}");
    expect_error(a, 400, "invalid", "target");
  }
}

}  // namespace
}  // namespace mk::test
