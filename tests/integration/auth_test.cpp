// Bearer-token authentication on mutating routes (and on reads with
// --auth-reads); the token never shows in /status or the log.
#include <string>

#include <doctest/doctest.h>

#include "support/api_client.hpp"
#include "support/service_process.hpp"

using namespace tlflow::test;

namespace {
const std::string token = "s3cret-token-for-tests";
const header_pairs good = {{"Authorization", "Bearer " + token}};

void expect_401(const http_reply& r) {
  CHECK(r.status == 401);
  CHECK(error_code(r) == "unauthorized");
  CHECK(is_error_object(r));
  CHECK(r.header("www-authenticate").value_or("") == "Bearer realm=\"tlflow\"");
}
} // namespace

TEST_CASE("token from the environment guards mutating routes only") {
  service_process s({{"--ephemeral", "--log-level", "debug"}, {{"TLFLOW_API_TOKEN", token}}, {}});
  REQUIRE_MESSAGE(s.start(), s.stderr_text());

  expect_401(s.request("PUT", "/vertices/auth:a"));
  expect_401(s.request("PUT", "/vertices/auth:a", "", {{"Authorization", "Bearer wrong"}}));
  expect_401(s.request("PUT", "/vertices/auth:a", "", {{"Authorization", "Bearer " + token + "x"}}));
  expect_401(s.request("PUT", "/vertices/auth:a", "", {{"Authorization", "Basic " + token}}));
  expect_401(s.request("PUT", "/vertices/auth:a", "", {{"Authorization", token}}));
  expect_401(s.request("POST", "/edges", R"({"from":"a","to":"b"})"));
  expect_401(s.request("POST", "/vertices/add/auth:x"));
  CHECK(s.get("/vertices/auth:a").status == 404);  // nothing was written

  CHECK(s.request("PUT", "/vertices/auth:a", "", good).status == 201);
  CHECK(s.request("PUT", "/vertices/auth:b", "", {{"authorization", "bearer " + token}}).status == 201);
  CHECK(s.get("/vertices/auth:a").status == 200);            // reads open
  CHECK(s.get("/vertices/count").status == 200);
  CHECK(s.request("POST", "/vertices/cuenta_vertices").status == 200);  // a read, despite POST

  expect_401(s.request("DELETE", "/vertices/auth:a"));
  auto r = s.request("DELETE", "/vertices/auth:a", "", good);
  CHECK(r.status == 200);
  const std::string ticket = r.header("x-undo-ticket").value_or("");
  expect_401(s.request("POST", "/undo/" + ticket));
  CHECK(s.request("POST", "/undo/" + ticket, "", good).status == 200);

  r = s.get("/status");
  CHECK(r.body.find(token) == std::string::npos);
  CHECK(s.terminate() == 0);
  CHECK(s.stderr_text().find(token) == std::string::npos);
}

TEST_CASE("--auth-reads guards reads too, except /status") {
  service_process s({{"--ephemeral", "--auth-reads"}, {{"TLFLOW_API_TOKEN", token}}, {}});
  REQUIRE_MESSAGE(s.start(), s.stderr_text());
  expect_401(s.get("/vertices/count"));
  expect_401(s.get("/metrics"));
  CHECK(s.request("GET", "/vertices/count", "", good).status == 200);
  CHECK(s.get("/status").status == 200);
}

TEST_CASE("no token configured: everything open") {
  service_process s({{"--ephemeral"}, {}, {}});
  REQUIRE_MESSAGE(s.start(), s.stderr_text());
  CHECK(s.request("PUT", "/vertices/open:a").status == 201);
  CHECK(s.request("PUT", "/vertices/open:b", "", {{"Authorization", "Bearer anything"}}).status == 201);
}
