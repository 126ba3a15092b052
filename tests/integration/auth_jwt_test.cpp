// JWT bearer tokens against the real binary: RS256 and ES256 keys from a
// JWKS (a file, or a URL served by a loopback HTTP server), HS256 from
// TLFLOW_JWT_SECRET; claims, algorithm confusion and scopes per route.
// Keys and tokens are made in the test with OpenSSL.
#include <fstream>
#include <tuple>
#include <mutex>
#include <string>

#include <doctest/doctest.h>

#include "support/api_client.hpp"
#include "support/jwt_builder.hpp"
#include "support/service_process.hpp"
#include "support/stream_server.hpp"

using namespace tlflow::test;

namespace {

const std::string secret = "an-hs256-secret-of-more-than-32-bytes";
const std::string issuer = "https://issuer.test";
const std::string audience = "tlflow-api";

std::string claims(const std::string& scope, std::int64_t exp_in = 300, const std::string& extra = {}) {
  return "{\"iss\":\"" + issuer + "\",\"aud\":[\"other\",\"" + audience + "\"],\"sub\":\"tester\"," +
         "\"scope\":\"" + scope + "\",\"exp\":" + std::to_string(unix_now() + exp_in) + extra + "}";
}

header_pairs bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

void expect_refusal(const http_reply& r, int status, const std::string& message_part) {
  CHECK(r.status == status);
  CHECK(is_error_object(r));
  CHECK(error_code(r) == (status == 401 ? "unauthorized" : "forbidden"));
  CHECK_MESSAGE(r.body.find(message_part) != std::string::npos, r.body);
}

struct keys {
  test_key rsa = test_key::rsa();
  test_key ec = test_key::ec_p256();
};

keys& shared_keys() {
  static keys k;
  return k;
}

} // namespace

TEST_CASE("JWTs: RS256 and ES256 from a JWKS file, HS256 from the environment") {
  keys& k = shared_keys();
  temp_dir dir;
  const std::string jwks = dir.file("jwks.json");
  std::ofstream(jwks) << jwks_of(k.rsa.jwk("rsa1"), k.ec.jwk("ec1"));
  service_process s({{"--ephemeral", "--jwt-jwks", jwks, "--jwt-issuer", issuer, "--jwt-audience", audience},
                     {{"TLFLOW_JWT_SECRET", secret}},
                     {}});
  REQUIRE_MESSAGE(s.start(), s.stderr_text());
  CHECK(s.stderr_text().find(secret) == std::string::npos);

  SUBCASE("valid tokens of each algorithm") {
    CHECK(s.request("PUT", "/vertices/jwt:rs", "", bearer(jwt_rs_es(k.rsa, "rsa1", claims("tlflow:write")))).status ==
          201);
    CHECK(s.request("PUT", "/vertices/jwt:es", "", bearer(jwt_rs_es(k.ec, "ec1", claims("tlflow:write")))).status ==
          201);
    CHECK(s.request("PUT", "/vertices/jwt:hs", "", bearer(jwt_hs256(secret, claims("tlflow:write")))).status == 201);
    CHECK(s.request("PUT", "/tracking", R"({"hashtags":["jwt"]})",
                    bearer(jwt_rs_es(k.ec, "ec1", claims("tlflow:admin"))))
              .status == 200);
    CHECK(s.get("/vertices/jwt:rs").status == 200);  // reads stay open
    expect_refusal(s.request("PUT", "/vertices/jwt:none"), 401, "a bearer token is required");
  }
  SUBCASE("time, issuer and audience") {
    expect_refusal(s.request("PUT", "/vertices/jwt:x", "", bearer(jwt_rs_es(k.rsa, "rsa1", claims("tlflow:write", -120)))),
                   401, "expired");
    expect_refusal(s.request("PUT", "/vertices/jwt:x", "",
                             bearer(jwt_rs_es(k.rsa, "rsa1",
                                              claims("tlflow:write", 600, ",\"nbf\":" + std::to_string(unix_now() + 300))))),
                   401, "not valid yet");
    const std::string wrong_aud = "{\"iss\":\"" + issuer + "\",\"aud\":\"someone-else\",\"scope\":\"tlflow:write\"," +
                                  "\"exp\":" + std::to_string(unix_now() + 300) + "}";
    expect_refusal(s.request("PUT", "/vertices/jwt:x", "", bearer(jwt_hs256(secret, wrong_aud))), 401, "audience");
    const std::string wrong_iss = "{\"iss\":\"https://evil.test\",\"aud\":\"" + audience +
                                  "\",\"scope\":\"tlflow:write\",\"exp\":" + std::to_string(unix_now() + 300) + "}";
    expect_refusal(s.request("PUT", "/vertices/jwt:x", "", bearer(jwt_rs_es(k.ec, "ec1", wrong_iss))), 401, "issuer");
    CHECK(s.get("/vertices/jwt:x").status == 404);
  }
  SUBCASE("alg none, algorithm confusion, unknown kid, malformed") {
    const std::string admin = claims("tlflow:admin");
    expect_refusal(s.request("PUT", "/vertices/jwt:x", "", bearer(jwt_with(R"({"alg":"none"})", admin, ""))), 401,
                   "alg none");
    // HS256 signed with the RSA public key's PEM, naming the RSA key.
    expect_refusal(s.request("PUT", "/vertices/jwt:x", "", bearer(jwt_hs256(k.rsa.public_pem(), admin, "rsa1"))), 401,
                   "invalid token signature");
    // RS256 header pointing at the EC key.
    const std::string h = R"({"alg":"RS256","kid":"ec1"})";
    expect_refusal(s.request("PUT", "/vertices/jwt:x", "", bearer(jwt_with(h, admin, k.rsa.sign(signing_input(h, admin))))),
                   401, "the token says RS256");
    const test_key stranger = test_key::ec_p256();
    expect_refusal(s.request("PUT", "/vertices/jwt:x", "", bearer(jwt_rs_es(stranger, "nobody", admin))), 401,
                   "unknown key id");
    expect_refusal(s.request("PUT", "/vertices/jwt:x", "", bearer("a.b.c")), 401, "malformed token");
    expect_refusal(s.request("PUT", "/vertices/jwt:x", "", bearer("not-a-jwt")), 401, "invalid bearer token");
    const auto r = s.request("PUT", "/vertices/jwt:x", "", bearer("a.b.c"));
    CHECK(r.header("www-authenticate").value_or("").find("invalid_token") != std::string::npos);
    CHECK(s.get("/vertices/jwt:x").status == 404);
  }
  SUBCASE("scopes: write implies read, admin implies write; tracking changes need admin") {
    const auto read_only = bearer(jwt_rs_es(k.rsa, "rsa1", claims("tlflow:read")));
    const auto writer = bearer(jwt_hs256(secret, claims("tlflow:write")));
    const auto admin = bearer(jwt_rs_es(k.ec, "ec1", claims("openid tlflow:admin")));
    expect_refusal(s.request("PUT", "/vertices/jwt:s", "", read_only), 403, "tlflow:write");
    expect_refusal(s.request("POST", "/edges", R"({"from":"a","to":"b"})", read_only), 403, "tlflow:write");
    CHECK(s.request("PUT", "/vertices/jwt:s", "", writer).status == 201);
    CHECK(s.request("PUT", "/vertices/jwt:t", "", admin).status == 201);
    expect_refusal(s.request("PUT", "/tracking", R"({"hashtags":["x"]})", writer), 403, "tlflow:admin");
    expect_refusal(s.request("POST", "/tracking/hashtags", R"({"hashtag":"x"})", writer), 403, "tlflow:admin");
    expect_refusal(s.request("DELETE", "/tracking/hashtags/x", "", writer), 403, "tlflow:admin");
    const auto r = s.request("PUT", "/tracking", R"({"hashtags":["x"]})", writer);
    CHECK(r.header("www-authenticate").value_or("").find("insufficient_scope") != std::string::npos);
    CHECK(s.request("POST", "/tracking/hashtags", R"({"hashtag":"x"})", admin).status == 201);
    CHECK(s.request("DELETE", "/tracking/hashtags/x", "", admin).status == 200);
    CHECK(s.get("/tracking").status == 200);
  }
}

TEST_CASE("--auth-reads with JWTs: read scope needed on reads, /status open") {
  temp_dir dir;
  service_process s({{"--ephemeral", "--auth-reads"}, {{"TLFLOW_JWT_SECRET", secret}}, {}});
  REQUIRE_MESSAGE(s.start(), s.stderr_text());
  expect_refusal(s.get("/vertices/count"), 401, "a bearer token is required");
  CHECK(s.request("GET", "/vertices/count", "", bearer(jwt_hs256(secret, claims("tlflow:read")))).status == 200);
  CHECK(s.request("GET", "/vertices/count", "", bearer(jwt_hs256(secret, claims("tlflow:write")))).status == 200);
  expect_refusal(s.request("GET", "/vertices/count", "", bearer(jwt_hs256(secret, claims("profile")))), 403,
                 "tlflow:read");
  CHECK(s.get("/status").status == 200);
}

TEST_CASE("the JWT secret is never a flag; a short one is refused") {
  auto [rc, out] = run_tlflow({"--ephemeral", "--jwt-secret", secret});
  CHECK(rc == 2);
  CHECK(out.find(secret) == std::string::npos);
  std::tie(rc, out) = run_tlflow({"--ephemeral"}, {{"TLFLOW_JWT_SECRET", "short"}});
  CHECK(rc == 2);
  CHECK(out.find("at least 32 bytes") != std::string::npos);
}

TEST_CASE("JWKS by URL: fetched at start, fetched again for a new kid, at most once per burst") {
  keys& k = shared_keys();
  const test_key rotated = test_key::rsa();
  std::mutex mu;
  std::string served = jwks_of(k.rsa.jwk("a"));
  stream_server idp;
  idp.on("GET", "/jwks.json", [&](http_conn& c) {
    std::string body;
    {
      std::lock_guard<std::mutex> lock(mu);
      body = served;
    }
    c.respond(200, body);
  });
  const std::string url = idp.http_url() + "/jwks.json";
  service_process s({{"--ephemeral", "--jwt-jwks", url}, {}, {}});
  REQUIRE_MESSAGE(s.start(), s.stderr_text());
  CHECK(idp.requests("/jwks.json").size() == 1);
  CHECK(s.request("PUT", "/vertices/url:a", "", bearer(jwt_rs_es(k.rsa, "a", claims("tlflow:write")))).status == 201);
  CHECK(idp.requests("/jwks.json").size() == 1);

  {
    std::lock_guard<std::mutex> lock(mu);
    served = jwks_of(k.rsa.jwk("a"), rotated.jwk("b"));
  }
  CHECK(s.request("PUT", "/vertices/url:b", "", bearer(jwt_rs_es(rotated, "b", claims("tlflow:write")))).status ==
        201);
  CHECK(idp.requests("/jwks.json").size() == 2);
  // Another unknown kid right after: no new fetch (rate limit), refused.
  expect_refusal(s.request("PUT", "/vertices/url:c", "", bearer(jwt_rs_es(rotated, "c", claims("tlflow:write")))),
                 401, "unknown key id 'c'");
  CHECK(idp.requests("/jwks.json").size() == 2);
}

TEST_CASE("JWKS URL unreachable or not a key set: the service does not start") {
  stream_server idp;
  idp.on("GET", "/bad.json", [](http_conn& c) { c.respond(200, "{\"keys\":[]}"); });
  idp.on("GET", "/gone.json", [](http_conn& c) { c.respond(404, "{}"); });
  auto [rc, out] = run_tlflow({"--ephemeral", "--jwt-jwks", idp.http_url() + "/bad.json"});
  CHECK(rc == 2);
  CHECK(out.find("no usable key") != std::string::npos);
  std::tie(rc, out) = run_tlflow({"--ephemeral", "--jwt-jwks", idp.http_url() + "/gone.json"});
  CHECK(rc == 1);
  CHECK(out.find("HTTP 404") != std::string::npos);
  const std::string closed = "http://127.0.0.1:" + std::to_string(free_port()) + "/jwks.json";
  std::tie(rc, out) = run_tlflow({"--ephemeral", "--jwt-jwks", closed});
  CHECK(rc == 1);
  CHECK(out.find("fetching the JWKS") != std::string::npos);
}
