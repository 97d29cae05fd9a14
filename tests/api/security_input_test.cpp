// Hostile input to a running `migratekit up --demo` (docs/api.md and docs/security.md): text,
// sources, bodies and numbers that the API must refuse with 400, 413 or 415 and an error naming
// what is wrong, never a 500, a crash or a job. The fixture checks after each test that nothing
// changed.
#include <chrono>
#include <thread>

#include "security_fixture.hpp"

namespace mk::test {
namespace {

using nlohmann::json;

constexpr std::size_t mib = 1 << 20;
const std::string create = "/api/v1/replications";

/// A JSON object of exactly `size` bytes: `head`, then a string value padded to fit.
std::string sized(const std::string& head, std::size_t size) {
  const std::string tail = R"("})";
  return head + std::string(size - head.size() - tail.size(), 'a') + tail;
}

/// For a trace: the text as JSON, whatever bytes it holds.
std::string shown(const std::string& text) {
  return json(text).dump(-1, ' ', true, json::error_handler_t::replace);
}

}  // namespace

class security_input : public security {
 protected:
  /// POST here checks a stop's options and changes nothing.
  static std::string plan() { return "/api/v1/replications/" + demo() + "/stop?dry_run=true"; }
  /// The routes that read a body, each with a body it takes.
  static std::vector<std::pair<std::string, std::string>> body_routes() {
    return {
        {"POST " + create, json{{"name", "x"}, {"source", demo_source()}}.dump()},
        {"POST /api/v1/replications/stop", R"({"ids": ["r-00000000"]})"},
        {"POST " + plan(), R"({"mode": "force"})"},
        {"PUT /api/v1/maintenance", R"({"enabled": false})"},
        {"POST /api/v1/schedules",
         R"({"action": "stop", "target": {"job": "r-00000000"}, "at": "2031-01-01T00:00:00Z"})"}};
  }
  static http_answer to(const std::string& route, const std::string& kind, const std::string& body,
                        const std::string& type = "application/json") {
    const auto space = route.find(' ');
    return send(kind, route.substr(0, space), route.substr(space + 1),
                {{"Authorization", "Bearer " + up().token()}}, body, type);
  }
};

TEST_F(security_input, names_comments_and_reasons_must_be_printable_and_short) {
  const std::vector<std::string> unprintable = {std::string("nul \0 inside", 12),
                                                "line\nbreak",
                                                "tab\there",
                                                "bell\a",
                                                "del\x7f",
                                                "esc \x1b[31mred\x1b[0m",
                                                "C1 CSI \xc2\x9b"
                                                "31m",
                                                "C1 NEL \xc2\x85",
                                                ""};
  for (const auto& text : unprintable) {
    SCOPED_TRACE(shown(text));
    expect_error(
        call("text", "POST", create, json{{"name", text}, {"source", demo_source()}}.dump()), 400,
        "invalid", "name");
    if (text.empty()) continue;  // an empty comment or reason is no comment or reason
    expect_error(call("text", "POST", plan(), json{{"comment", text}}.dump()), 400, "invalid",
                 "comment");
    expect_error(call("text", "PUT", "/api/v1/maintenance",
                      json{{"enabled", false}, {"reason", text}}.dump()),
                 400, "invalid", "reason");
  }
  // One past the limit, and as long as a body may be.
  for (const std::size_t n : {std::size_t{257}, mib - 200}) {
    expect_error(call("text", "POST", create,
                      json{{"name", std::string(n, 'n')}, {"source", demo_source()}}.dump()),
                 400, "invalid", "name");
  }
  for (const std::size_t n : {std::size_t{1025}, mib - 200}) {
    expect_error(call("text", "POST", plan(), json{{"comment", std::string(n, 'c')}}.dump()), 400,
                 "invalid", "comment");
    expect_error(call("text", "PUT", "/api/v1/maintenance",
                      json{{"enabled", false}, {"reason", std::string(n, 'r')}}.dump()),
                 400, "invalid", "reason");
  }
}

TEST_F(security_input, unicode_names_and_comments_are_kept_as_given) {
  const std::string name = "диск 0 — Überweisung ✓ 日本 😀 \u202e";
  auto created =
      call("text", "POST", create, json{{"name", name}, {"source", demo_source()}}.dump());
  ASSERT_EQ(created.status, 201) << created.text;
  const auto id = created.body.value("id", "");
  made(id);
  EXPECT_EQ(created.body.value("name", ""), name);
  EXPECT_EQ(call("text", "GET", create + "/" + id).body.value("name", ""), name);
  EXPECT_EQ(call("text", "POST", plan(), json{{"comment", "Wartung ✓ 日本"}}.dump()).status, 200);
  ASSERT_EQ(call("text", "DELETE", create + "/" + id).status, 202);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (up().get(create + "/" + id).status != 404 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(up().get(create + "/" + id).status, 404) << "the job was not removed";
}

TEST_F(security_input, sources_that_are_not_plain_nbd_uris_are_400_naming_source) {
  const std::vector<std::string> sources = {"file:///etc/passwd",
                                            "/etc/shadow",
                                            "/dev/sda",
                                            "nbd+unix:///?socket=../../x",
                                            "nbd+unix:///?socket=/run/../../etc/x",
                                            "nbd+unix:///?socket=x.sock",
                                            "nbd+unix:///?socket=/tmp/x%00y",
                                            "nbd+unix:///?socket=/tmp/x%0ay",
                                            "nbd+unix:///?socket=/" + std::string(200, 's'),
                                            "nbd+unix:///x",
                                            "nbd+unix:///?socket=/tmp/a&socket=/tmp/b",
                                            "nbd+unix://host/?socket=/tmp/x",
                                            "nbd://host:99999/x",
                                            "nbd://host:65536/x",
                                            "nbd://host:0/x",
                                            "nbd://host:-1/x",
                                            "nbd://host:80x/x",
                                            "nbd://host:/x",
                                            "nbd:///x",
                                            "nbd://user@host/x",
                                            "nbd://[::1/x",
                                            "nbd://h/x?socket=/tmp/s",
                                            "nbds://h/x?tls-psk-file=/etc/shadow",
                                            "http://x",
                                            "ssh://h/x",
                                            "nbd://h/x;rm -rf /",
                                            "nbd://h/`id`",
                                            "nbd://h/x|id",
                                            "nbd://h/x>/tmp/y",
                                            "nbd://h/$(id) x",
                                            "nbd://h/x\nx",
                                            "nbd://h/x%0d%0ax",
                                            "nbd://h/x%00",
                                            "nbd://h/x#frag",
                                            "nbd://h/%zz",
                                            "nbd://h/\"x\"",
                                            "nbd://h/x\\y",
                                            "nbd://h/диск",
                                            " nbd://h/x",
                                            "NBD://h/x",
                                            "nbd://h/" + std::string(5000, 'x'),
                                            ""};
  for (const auto& source : sources) {
    SCOPED_TRACE(shown(source));
    expect_error(call("source", "POST", create, json{{"name", "probe"}, {"source", source}}.dump()),
                 400, "invalid", "source");
  }
}

TEST_F(security_input, bodies_too_large_too_deep_or_not_json_are_refused) {
  auto nested = [](std::size_t depth) {
    return R"({"a": )" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
  };
  for (const auto& [route, good] : body_routes()) {
    SCOPED_TRACE(route);
    expect_error(to(route, "body", sized(R"({"x": ")", mib + 1)), 413, "too_large");
    expect_error(to(route, "body", nested(33)), 400, "invalid", "nested");
    expect_error(to(route, "body", std::string(10000, '[') + std::string(10000, ']')), 400,
                 "invalid", "nested");
    expect_error(to(route, "body", std::string(100000, '[')), 400, "invalid", "nested");
    for (const auto* type :
         {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
          "application/jsonp", "application/json-patch+json", ""}) {
      SCOPED_TRACE(type);
      expect_error(to(route, "body", good, type), 415, "unsupported_media_type");
    }
    for (const auto& text :
         {good.substr(0, good.size() / 2), std::string("hello"), std::string("{name: 'x'}"),
          std::string(R"({"a": 1,})"), good + good, good + " x", std::string("NaN"),
          std::string("{\"x\": \"\xff\"}"), std::string(R"({"x": "\ud800"})")}) {
      SCOPED_TRACE(shown(text));
      expect_error(to(route, "body", text), 400, "invalid", "JSON");
    }
    for (const auto* text : {R"([{"enabled": false}])", R"("x")", "1", "null", "true"})
      expect_error(to(route, "body", text), 400, "invalid", "object");
  }
  // Exactly the limit is read (and refused for what it says); 32 levels are allowed; brackets
  // in a string are text, not nesting.
  const auto whole = sized(R"({"source": "nbd://h/x", "name": ")", mib);
  ASSERT_EQ(whole.size(), mib);
  expect_error(call("body", "POST", create, whole), 400, "invalid", "name");
  expect_error(call("body", "POST", create, nested(32)), 400, "invalid", "unknown field 'a'");
  expect_error(
      call("body", "POST", create,
           json{{"name", std::string(100, '[') + std::string(100, '{')}, {"source", "nbd://h/x y"}}
               .dump()),
      400, "invalid", "source");
}

TEST_F(security_input, numbers_out_of_range_or_of_another_kind_are_400_naming_the_field) {
  for (const auto* n :
       {"0", "-1", "86401", "4294967297", "9223372036854775807", "9223372036854775808",
        "18446744073709551615", "1.5", "1e3", "\"5\"", "true", "[]", "{}"}) {
    SCOPED_TRACE(n);
    expect_error(call("number", "POST", plan(), R"({"grace_seconds": )" + std::string(n) + "}"),
                 400, "invalid", "grace_seconds");
    expect_error(call("number", "PUT", "/api/v1/maintenance",
                      R"({"enabled": false, "max_parallel": )" + std::string(n) + "}"),
                 400, "invalid", "max_parallel");
  }
  expect_error(call("number", "POST", plan(), R"({"grace_seconds": 1e400})"), 400, "invalid",
               "JSON");
  for (const auto* limit : {"0", "-1", "1001", "18446744073709551616", "99999999999999999999999",
                            "1e3", "0x10", "", "%201", "1%20", "%2B1", "1%00", "10;"}) {
    SCOPED_TRACE(limit);
    expect_error(call("number", "GET", create + "?limit=" + limit), 400, "invalid", "limit");
  }
  for (const auto* since :
       {"9999999999-01-01T00:00:00Z", "2026-13-45T99:99:99Z", "%00", "2026-11-28T22:00:00Z%00",
        "-1", "99999999999999999999", "2026-11-28T22:00:00.%2B01:00"}) {
    SCOPED_TRACE(since);
    expect_error(call("number", "GET", std::string("/api/v1/analytics/stops?since=") + since), 400,
                 "invalid", "since");
  }
}

TEST_F(security_input, keys_given_twice_or_unknown_are_400_naming_the_key) {
  // The refusal quotes an unknown key's first 64 bytes: here they end inside a character.
  expect_error(
      call("body", "POST", create,
           R"({"name": "a", "source": "nbd://h/x", ")" + std::string(63, 'k') + "\xc3\xa9\": 1}"),
      400, "invalid", "unknown field 'kkk");
  expect_error(call("body", "POST", create, R"({"name": "a", "source": "nbd://h/x", "name": "b"})"),
               400, "invalid", "name");
  expect_error(call("body", "POST", create,
                    R"({"name": "a", "source": "nbd://h/x", "source": "file:///etc/passwd"})"),
               400, "invalid", "source");
  expect_error(call("body", "POST", plan(), R"({"mode": "graceful", "mode": "force"})"), 400,
               "invalid", "mode");
  expect_error(call("body", "PUT", "/api/v1/maintenance", R"({"enabled": false, "enabled": true})"),
               400, "invalid", "enabled");
  expect_error(call("body", "POST", "/api/v1/schedules",
                    R"({"action": "stop", "at": "2031-01-01T00:00:00Z",
                        "target": {"job": "r-00000000", "job": "r-00000001"}})"),
               400, "invalid", "job");
}

}  // namespace mk::test
