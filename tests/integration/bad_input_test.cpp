// The bad-input battery: every request here is wrong in
// some way; each gets the error object with the right status, hostile ids
// are stored verbatim, and afterwards the service still answers.
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "support/api_client.hpp"
#include "support/service_process.hpp"

using namespace tlflow::test;

namespace {

service_process& svc() {
  static service_process s({{"--ephemeral"}, {}, {}});
  static const bool started = s.start();
  if (!started) FAIL("tlflow did not start: " << s.stderr_text());
  return s;
}

std::string raw_post(const std::string& target, const std::string& body,
                     const std::string& extra_headers = "Content-Type: application/json\r\n") {
  return "POST " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra_headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string chunked(const std::string& body, std::size_t chunk) {
  std::string out;
  char size[32];
  for (std::size_t pos = 0; pos < body.size(); pos += chunk) {
    const std::size_t n = std::min(chunk, body.size() - pos);
    std::snprintf(size, sizeof size, "%zx\r\n", n);
    out += size;
    out += body.substr(pos, n);
    out += "\r\n";
  }
  return out + "0\r\n\r\n";
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

} // namespace

TEST_CASE("malformed and hostile JSON bodies") {
  expect_error(svc().request("POST", "/edges", R"({"from":)"), 400, "malformed_json");
  expect_error(svc().request("POST", "/edges", "nope"), 400, "malformed_json");
  expect_error(svc().request("POST", "/edges", "{\"from\":\"a\xff\",\"to\":\"b\"}"), 400,
               "malformed_json");
  expect_error(svc().request("POST", "/edges", R"({"from":"a","to":"b"} trailing)"), 400,
               "malformed_json");
  // Deep nesting must not exhaust the stack.
  const std::string deep(900000, '[');
  expect_error(svc().request("POST", "/edges", deep), 400, "malformed_json");
  const std::string deep_ok = std::string(200000, '[') + std::string(200000, ']');
  expect_error(svc().request("POST", "/edges", deep_ok), 400, "invalid_argument");
  // The same against the tracking routes (parsed by the pipeline's code).
  for (const char* target : {"/tracking", "/tracking/hashtags"}) {
    INFO(target);
    const std::string method = std::string(target) == "/tracking" ? "PUT" : "POST";
    auto r = svc().request(method, target, deep);
    CHECK(r.status == 400);
    CHECK(is_error_object(r));
    r = svc().request(method, target, "{\"hashtags\":" + deep_ok + "}");
    CHECK(r.status == 400);
    r = svc().request(method, target, "{\"hashtag\":\"a\xff\"}");
    CHECK(r.status == 400);
  }
  CHECK(svc().get("/status").status == 200);
}

TEST_CASE("bodies over 1 MiB get 413, declared or chunked") {
  const std::string big(1048577, 'x');
  const std::string body = R"({"from":"a","to":"b","properties":{"p":")" + big + "\"}}";
  expect_error(svc().request("POST", "/edges", body), 413, "payload_too_large");
  // Exactly at the limit is accepted by the size check (and then parsed).
  std::string at_limit = R"({"from":"big:a","to":"big:b","properties":{"p":")";
  at_limit += std::string(1048576 - at_limit.size() - 3, 'y') + "\"}}";
  REQUIRE(at_limit.size() == 1048576);
  CHECK(svc().request("POST", "/edges", at_limit).status == 201);

  auto r = send_raw(svc().port(),
                    "POST /edges HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
                        chunked(body, 65536));
  expect_error(r, 413, "payload_too_large");
  // A small chunked body is fine.
  r = send_raw(svc().port(),
               "POST /edges HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
               "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
                   chunked(R"({"from":"chunk:a","to":"chunk:b"})", 7));
  CHECK(r.status == 201);
  // A huge declared length is refused without waiting for the body, and the
  // connection is closed.
  r = send_raw(svc().port(), "PUT /vertices/x HTTP/1.1\r\nHost: x\r\n"
                             "Content-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n{}",
               5000);
  expect_error(r, 413, "payload_too_large");
  CHECK(r.header("connection").value_or("") == "close");
  // A chunked stream far past the limit is cut off; memory stays bounded.
  const std::string huge_chunks = chunked(std::string(48u << 20, 'z'), 1u << 20);
  r = send_raw(svc().port(),
               "POST /edges HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\n\r\n" + huge_chunks, 5000);
  CHECK((r.status == 413 || r.status == 0));  // 0: reset while we were still sending
  CHECK(rss_kib(svc().pid()) < 200 * 1024);
  CHECK(svc().get("/status").status == 200);
  // A refused request with a body (unknown route, wrong method) still gets
  // its own error once the body is drained.
  expect_error(svc().request("POST", "/nowhere", body), 404, "not_found");
  expect_error(svc().request("PATCH", "/edges", R"({"a":1})"), 405, "method_not_allowed");
}

TEST_CASE("wrong content type is 415") {
  auto r = send_raw(svc().port(), raw_post("/edges", R"({"from":"a","to":"b"})",
                                           "Content-Type: text/plain\r\n"));
  expect_error(r, 415, "unsupported_media_type");
  r = send_raw(svc().port(), raw_post("/edges", R"({"from":"a","to":"b"})", ""));
  expect_error(r, 415, "unsupported_media_type");
  r = send_raw(svc().port(), raw_post("/edges", "from=a&to=b",
                                      "Content-Type: application/x-www-form-urlencoded\r\n"));
  expect_error(r, 415, "unsupported_media_type");
  r = send_raw(svc().port(), raw_post("/edges", R"({"from":"ct:a","to":"ct:b"})",
                                      "Content-Type: Application/JSON; charset=UTF-8\r\n"));
  CHECK(r.status == 201);
}

TEST_CASE("bad ids: encoding, UTF-8, length, control characters") {
  // A bad %-escape in the path is the router's JSON 400 too.
  for (const char* target : {"/vertices/%zz", "/vertices/abc%4", "/paths/%/b"}) {
    INFO(target);
    expect_error(svc().get(target), 400, "invalid_argument");
  }
  expect_error(svc().get("/vertices?prefix=%G1"), 400, "invalid_argument");
  expect_error(svc().request("PUT", "/vertices/%FF%FE"), 400, "invalid_id");
  expect_error(svc().request("PUT", "/vertices/%C0%AF"), 400, "invalid_id");  // overlong '/'
  expect_error(svc().request("PUT", "/vertices/" + std::string(257, 'a')), 400, "invalid_id");
  CHECK(svc().request("PUT", "/vertices/" + std::string(256, 'a')).status == 201);
  for (const char* ctl : {"%00", "%0A", "%0D", "%1B", "%7F", "%C2%80", "%C2%9F"}) {
    INFO(ctl);
    expect_error(svc().request("PUT", std::string("/vertices/a") + ctl + "b"), 400, "invalid_id");
  }
  expect_error(svc().request("POST", "/edges", "{\"from\":\"a\\u0000b\",\"to\":\"c\"}"), 400,
               "invalid_id");
  expect_error(svc().request("POST", "/edges", R"({"from":"a","to":"\n"})"), 400, "invalid_id");
  expect_error(svc().get("/edges?from=%01"), 400, "invalid_id");
  expect_error(svc().get("/paths/%FF/b"), 400, "invalid_id");
}

TEST_CASE("hostile but valid ids are stored and read back verbatim") {
  const std::vector<std::string> ids = {
      "x').drop();g.V().drop();//",
      "a/b",
      "..",
      ".",
      "../../etc/passwd",
      "quote\"d'id",
      "emoji\xF0\x9F\x98\x80",
      "\xE4\xB8\xAD\xE6\x96\x87",
      "back\\slash",
      "percent%2Fliteral",
      "sp ace+plus",
      "semi;colon?query#hash",
      "count",
  };
  for (const auto& id : ids) {
    INFO("id " << id);
    // Literal path segments like "count" are escaped fully so they name a vertex.
    std::string enc = pct(id);
    if (id == "count") enc = "%63ount";
    if (id == "." || id == "..") {
      enc.clear();
      for (char c : id) enc += c == '.' ? "%2E" : std::string(1, c);
    }
    auto r = svc().request("PUT", "/vertices/" + enc, R"({"properties":{"name":"n"}})");
    CHECK(r.status == 201);
    CHECK(str(json_of(r), "id") == id);
    r = svc().get("/vertices/" + enc);
    CHECK(r.status == 200);
    CHECK(str(json_of(r), "id") == id);
    r = svc().get("/vertices?prefix=" + pct(id));
    REQUIRE(r.status == 200);
    auto d = json_of(r);
    REQUIRE(d["vertices"].Size() >= 1);
    CHECK(str(d["vertices"][0], "id") == id);
  }
  // Injection-looking ids work as edge endpoints and in paths too.
  auto r = svc().request("POST", "/edges", R"({"from":"x').drop();g.V().drop();//","to":"a/b"})");
  CHECK(r.status == 201);
  r = svc().get("/paths/" + pct("x').drop();g.V().drop();//") + "/" + pct("a/b"));
  CHECK(r.status == 200);
  CHECK(json_of(r)["length"].GetUint64() == 1);
  CHECK(json_of(svc().get("/vertices/count"))["count"].GetUint64() >= ids.size());
}

TEST_CASE("unknown routes and bad query parameters") {
  for (const char* target : {"/admin", "/vertices/a/b/c/d", "/edges/a", "/paths/a", "/undo",
                             "/v1/status", "/status/", "//status"}) {
    INFO(target);
    expect_error(svc().get(target), 404, "not_found");
  }
  expect_error(svc().get("/vertices?limit=abc"), 400, "invalid_argument");
  expect_error(svc().get("/vertices?limit=100000"), 400, "invalid_argument");
  expect_error(svc().get("/vertices?limit=-5"), 400, "invalid_argument");
  expect_error(svc().get("/vertices?limit=99999999999999999999"), 400, "invalid_argument");
  expect_error(svc().get("/edges?limit=1.5"), 400, "invalid_argument");
  expect_error(svc().get("/paths/a/b?max_depth=-1"), 400, "invalid_argument");
  expect_error(svc().get("/vertices?cursor=%%%"), 400, "invalid_argument");
  expect_error(svc().get("/vertices?cursor=AAAA"), 400, "invalid_argument");
  expect_error(svc().get("/edges?cursor=ZZZZZZZZ"), 400, "invalid_argument");
  expect_error(svc().get("/vertices/x/neighbors?limit=0"), 400, "invalid_argument");
}

TEST_CASE("raw garbage on the socket does not hurt the service") {
  const std::vector<std::string> garbage = {
      std::string("\x00\x01\x02garbage\r\n\r\n", 14),
      "GET\r\n\r\n",
      "GET / HTTP/9.9\r\n\r\n",
      "HELLO WORLD\r\n\r\n",
      "GET /status HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
      "GET /status HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      "GET /status HTTP/1.1\r\n" + std::string(70000, 'X') + ": y\r\n\r\n",
      "GET /" + std::string(100000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST /edges HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
      "POST /edges HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\"",
      "GET /vertices/a b HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /vertices/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
  };
  for (const auto& g : garbage) {
    const auto r = send_raw(svc().port(), g, 2000);
    // Whatever the answer (or none), it is never a 5xx from us and the
    // service keeps answering.
    INFO("garbage " << g.substr(0, 60) << " -> " << r.status);
    CHECK(r.status < 500);
    REQUIRE(svc().get("/status").status == 200);
  }
}

TEST_CASE("after the battery the service still answers correctly") {
  auto r = svc().get("/status");
  CHECK(r.status == 200);
  CHECK(str(json_of(r), "status") == "OK");
  CHECK(svc().request("PUT", "/vertices/after:ok").status == 201);
  CHECK(svc().get("/vertices/after:ok").status == 200);
}
