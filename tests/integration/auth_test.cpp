// Bearer-token authentication on mutating routes (and on reads with
// --auth-reads); the token never shows in /status or the log. Without any
// credentials configured, a non-loopback bind generates a token into the
// data directory; --no-auth is the only way to open writes there.
#include <sys/stat.h>

#include <fstream>
#include <tuple>
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

TEST_CASE("no token configured, loopback bind: everything open") {
  service_process s({{"--ephemeral"}, {}, {}});
  REQUIRE_MESSAGE(s.start(), s.stderr_text());
  CHECK(s.request("PUT", "/vertices/open:a").status == 201);
  CHECK(s.request("PUT", "/vertices/open:b", "", {{"Authorization", "Bearer anything"}}).status == 201);
}

namespace {
std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}
} // namespace

TEST_CASE("no credentials on a non-loopback bind: a token is generated, kept 0600, required, reused") {
  temp_dir keep;
  const std::string data = keep.path() + "/data";
  const std::string path = data + "/api-token";
  std::string generated;
  {
    // Bound to every address; the test talks to it over 127.0.0.1 only.
    service_process s({{"--host", "0.0.0.0"}, {}, data});
    REQUIRE_MESSAGE(s.start(), s.stderr_text());
    expect_401(s.request("PUT", "/vertices/gen:a"));
    expect_401(s.request("DELETE", "/vertices/gen:a"));
    expect_401(s.request("PUT", "/tracking", R"({"hashtags":["x"]})"));
    expect_401(s.request("POST", "/tracking/hashtags", R"({"hashtag":"x"})"));
    CHECK(s.get("/vertices/count").status == 200);  // reads stay open

    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    generated = first_line(path);
    CHECK(generated.size() == 43);  // 32 random bytes, base64url
    const std::string log = s.stderr_text();
    CHECK(log.find(path) != std::string::npos);
    CHECK(log.find("generated an API token") != std::string::npos);
    CHECK(log.find(generated) == std::string::npos);

    const header_pairs with = {{"Authorization", "Bearer " + generated}};
    CHECK(s.request("PUT", "/vertices/gen:a", "", with).status == 201);
    CHECK(s.request("PUT", "/tracking", R"({"hashtags":["x"]})", with).status == 200);
    CHECK(s.get("/status").body.find(generated) == std::string::npos);
    CHECK(s.terminate() == 0);
  }
  service_process again({{"--host", "0.0.0.0"}, {}, data});
  REQUIRE_MESSAGE(again.start(), again.stderr_text());
  CHECK(first_line(path) == generated);
  CHECK(again.stderr_text().find("generated an API token") == std::string::npos);
  expect_401(again.request("PUT", "/vertices/gen:b"));
  CHECK(again.request("PUT", "/vertices/gen:b", "", {{"Authorization", "Bearer " + generated}}).status == 201);
  CHECK(again.get("/vertices/gen:a").status == 200);
  CHECK(again.terminate() == 0);
  CHECK(again.stderr_text().find(generated) == std::string::npos);
}

TEST_CASE("--no-auth opens writes on a non-loopback bind, with a warning") {
  service_process s({{"--host", "0.0.0.0", "--ephemeral", "--no-auth"}, {}, {}});
  REQUIRE_MESSAGE(s.start(), s.stderr_text());
  CHECK(s.request("PUT", "/vertices/open:a").status == 201);
  CHECK(s.request("PUT", "/tracking", R"({"hashtags":["x"]})").status == 200);
  CHECK(s.request("DELETE", "/vertices/open:a").status == 200);
  CHECK(s.stderr_text().find("warn  auth: --no-auth") != std::string::npos);
  CHECK_FALSE(std::ifstream(s.data_dir() + "/api-token").good());
}

TEST_CASE("contradictions and the ephemeral case are refused at start") {
  const std::string port = std::to_string(free_port());
  // --ephemeral has no data directory to keep a generated token in.
  auto [rc, out] = run_tlflow({"--host", "0.0.0.0", "--port", port, "--ephemeral"});
  CHECK(rc == 2);
  CHECK(out.find("--ephemeral and no credentials") != std::string::npos);
  std::tie(rc, out) = run_tlflow({"--host", "0.0.0.0", "--port", port, "--ephemeral", "--no-auth"},
                                 {{"TLFLOW_API_TOKEN", token}});
  CHECK(rc == 2);
  CHECK(out.find("--no-auth contradicts") != std::string::npos);
  CHECK(out.find(token) == std::string::npos);
}
