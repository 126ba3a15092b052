// The verification logic of api/auth: JWT signature, algorithm and key type,
// time and audience claims, scopes; the access decision per route level; the
// generated token file; the start-up rules. Tokens and keys are made here
// with OpenSSL (support/jwt_builder).
#include "api/auth.hpp"

#include <sys/stat.h>

#include <fstream>
#include <string>

#include <doctest/doctest.h>

#include "support/jwt_builder.hpp"
#include "support/temp_dir.hpp"

using namespace tlflow;
using namespace tlflow::api;
using namespace tlflow::test;

namespace {

const std::string secret = "0123456789abcdef0123456789abcdef-hs256";

struct keys_fixture {
  test_key rsa = test_key::rsa();
  test_key ec = test_key::ec_p256();
  std::shared_ptr<const key_set> set;
  keys_fixture() {
    auto parsed = parse_jwks(jwks_of(rsa.jwk("rsa1"), ec.jwk("ec1")));
    REQUIRE(parsed.ok());
    set = *parsed;
  }
};

keys_fixture& fixture() {
  static keys_fixture f;  // RSA generation is slow-ish: once per run
  return f;
}

std::string claims(const std::string& extra, std::int64_t exp_in = 300) {
  return "{\"sub\":\"u1\",\"exp\":" + std::to_string(unix_now() + exp_in) +
         (extra.empty() ? "" : "," + extra) + "}";
}

jwt_check checker(std::string_view iss = {}, std::string_view aud = {}) {
  jwt_check c;
  c.secret = secret;
  c.keys = fixture().set.get();
  c.issuer = iss;
  c.audience = aud;
  c.now = unix_now();
  return c;
}

access granted(const std::string& token, const jwt_check& c = checker()) {
  auto r = verify_jwt(token, c);
  REQUIRE_MESSAGE(r.ok(), r.err().message);
  return r->granted;
}

std::string refused(const std::string& token, const jwt_check& c = checker()) {
  auto r = verify_jwt(token, c);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == errc::unauthorized);
  return r.err().message;
}

} // namespace

TEST_CASE("RS256, ES256 and HS256 tokens verify and grant their scope") {
  auto& f = fixture();
  CHECK(granted(jwt_rs_es(f.rsa, "rsa1", claims("\"scope\":\"openid tlflow:write\""))) == access::write);
  CHECK(granted(jwt_rs_es(f.ec, "ec1", claims("\"scp\":[\"x\",\"tlflow:admin\"]"))) == access::admin);
  CHECK(granted(jwt_hs256(secret, claims("\"scope\":\"tlflow:read\""))) == access::read);
  CHECK(granted(jwt_hs256(secret, claims("\"scp\":\"tlflow:read tlflow:write\""))) == access::write);
  CHECK(granted(jwt_hs256(secret, claims(""))) == access::open);  // valid, no tlflow scope
  // Without a kid, the one key of the right type is used.
  CHECK(granted(jwt_rs_es(f.rsa, "", claims("\"scope\":\"tlflow:read\""))) == access::read);
  CHECK(granted(jwt_rs_es(f.ec, "", claims("\"scope\":\"tlflow:read\""))) == access::read);
}

TEST_CASE("a signature that does not match is refused") {
  auto& f = fixture();
  const std::string good = jwt_rs_es(f.rsa, "rsa1", claims("\"scope\":\"tlflow:read\""));
  // Same header and signature, another payload.
  const std::string other = b64url(claims("\"scope\":\"tlflow:admin\""));
  const auto d1 = good.find('.');
  const auto d2 = good.find('.', d1 + 1);
  const std::string forged = good.substr(0, d1 + 1) + other + good.substr(d2);
  CHECK(refused(forged) == "invalid token signature");
  CHECK(refused(jwt_hs256("another-secret-of-at-least-32-bytes!!", claims(""))) == "invalid token signature");
  // A key from the set, another key's signature.
  const test_key stranger = test_key::ec_p256();
  CHECK(refused(jwt_rs_es(stranger, "ec1", claims(""))) == "invalid token signature");
  // ES256 wants raw r||s: a DER signature (what OpenSSL produces) is refused.
  const std::string h = R"({"alg":"ES256","kid":"ec1"})";
  const std::string p = claims("");
  const std::string raw = f.ec.sign(signing_input(h, p));
  CHECK(refused(jwt_with(h, p, raw.substr(0, 63))) == "invalid token signature");
  CHECK(refused(jwt_with(h, p, raw + "x")) == "invalid token signature");
}

TEST_CASE("exp and nbf hold with a leeway of 60 seconds") {
  CHECK(jwt_leeway.count() == 60);
  CHECK(refused(jwt_hs256(secret, claims("", -61))) == "the token has expired");
  CHECK(granted(jwt_hs256(secret, claims("\"scope\":\"tlflow:read\"", -30))) == access::read);
  const std::int64_t now = unix_now();
  CHECK(refused(jwt_hs256(secret, claims("\"nbf\":" + std::to_string(now + 120)))) ==
        "the token is not valid yet (nbf)");
  CHECK(granted(jwt_hs256(secret, claims("\"scope\":\"tlflow:read\",\"nbf\":" + std::to_string(now + 30)))) ==
        access::read);
  CHECK(refused(jwt_hs256(secret, "{\"scope\":\"tlflow:read\"}")) == "the token has no exp claim");
  CHECK(refused(jwt_hs256(secret, claims("\"nbf\":\"soon\""))).find("nbf") != std::string::npos);
}

TEST_CASE("iss and aud are checked when configured") {
  const auto c = checker("https://issuer.example", "tlflow-api");
  CHECK(granted(jwt_hs256(secret, claims(R"("scope":"tlflow:read","iss":"https://issuer.example","aud":"tlflow-api")")), c) ==
        access::read);
  CHECK(granted(jwt_hs256(secret, claims(R"("scope":"tlflow:read","iss":"https://issuer.example","aud":["other","tlflow-api"])")), c) ==
        access::read);
  CHECK(refused(jwt_hs256(secret, claims(R"("iss":"https://issuer.example","aud":"other")")), c).find("aud") !=
        std::string::npos);
  CHECK(refused(jwt_hs256(secret, claims(R"("iss":"https://issuer.example","aud":["a","b"])")), c).find("aud") !=
        std::string::npos);
  CHECK(refused(jwt_hs256(secret, claims(R"("iss":"https://issuer.example")")), c).find("aud") != std::string::npos);
  CHECK(refused(jwt_hs256(secret, claims(R"("iss":"https://evil.example","aud":"tlflow-api")")), c).find("iss") !=
        std::string::npos);
  CHECK(refused(jwt_hs256(secret, claims(R"("aud":"tlflow-api")")), c).find("iss") != std::string::npos);
  // Not configured: not checked.
  CHECK(granted(jwt_hs256(secret, claims(R"("scope":"tlflow:read","iss":"x","aud":"y")"))) == access::read);
}

TEST_CASE("alg none and algorithm confusion are refused") {
  auto& f = fixture();
  const std::string p = claims("\"scope\":\"tlflow:admin\"");
  CHECK(refused(jwt_with(R"({"alg":"none"})", p, "")) == "unsigned tokens (alg none) are not accepted");
  CHECK(refused(jwt_with(R"({"alg":"None","kid":"rsa1"})", p, "")) ==
        "unsigned tokens (alg none) are not accepted");
  CHECK(refused(jwt_with(R"({"alg":"HS512"})", p, "x")).find("not accepted") != std::string::npos);

  // HS256 signed with the RSA public key's PEM as the secret: the key set is
  // never a source of HMAC secrets, whether or not a secret is configured.
  const std::string pem = f.rsa.public_pem();
  const std::string confused = jwt_hs256(pem, p, "rsa1");
  CHECK(refused(confused) == "invalid token signature");
  jwt_check no_secret = checker();
  no_secret.secret = {};
  CHECK(refused(confused, no_secret).find("HS256 tokens are not accepted") != std::string::npos);

  // The key's type must fit the header's alg.
  const std::string h_rs = R"({"alg":"RS256","kid":"ec1"})";
  CHECK(refused(jwt_with(h_rs, p, f.ec.sign(signing_input(h_rs, p)))).find("P-256") != std::string::npos);
  const std::string h_es = R"({"alg":"ES256","kid":"rsa1"})";
  CHECK(refused(jwt_with(h_es, p, f.rsa.sign(signing_input(h_es, p)))).find("RSA") != std::string::npos);

  // A JWK's own alg binds it.
  auto pinned = parse_jwks(jwks_of(f.rsa.jwk("rsa1", "RS384")));
  REQUIRE(pinned.ok());
  jwt_check c = checker();
  c.keys = pinned->get();
  CHECK(refused(jwt_rs_es(f.rsa, "rsa1", p), c).find("RS384") != std::string::npos);

  // No key set: RS256 refused outright.
  jwt_check no_keys = checker();
  no_keys.keys = nullptr;
  CHECK(refused(jwt_rs_es(f.rsa, "rsa1", p), no_keys).find("no JWKS") != std::string::npos);
}

TEST_CASE("the kid selects the key; an unknown kid is flagged for a refetch") {
  auto& f = fixture();
  bool unknown = false;
  auto r = verify_jwt(jwt_rs_es(f.rsa, "rotated", claims("")), checker(), &unknown);
  REQUIRE_FALSE(r.ok());
  CHECK(unknown);
  CHECK(r.err().message == "unknown key id 'rotated'");
  r = verify_jwt(jwt_rs_es(f.rsa, "rsa1", claims("")), checker(), &unknown);
  CHECK(r.ok());
  CHECK_FALSE(unknown);
  // Two keys of one type and no kid: ambiguous.
  const test_key other = test_key::ec_p256();
  auto two = parse_jwks(jwks_of(f.ec.jwk("a"), other.jwk("b")));
  REQUIRE(two.ok());
  jwt_check c = checker();
  c.keys = two->get();
  CHECK(refused(jwt_rs_es(f.ec, "", claims("")), c).find("several keys") != std::string::npos);
}

TEST_CASE("malformed tokens get a clear message") {
  const std::string p = claims("");
  CHECK(refused("abc").find("three dot-separated parts") != std::string::npos);
  CHECK(refused("a.b").find("three dot-separated parts") != std::string::npos);
  CHECK(refused("a.b.c.d").find("three dot-separated parts") != std::string::npos);
  CHECK(refused("!!.e30.").find("header is not base64url") != std::string::npos);
  CHECK(refused(b64url("not json") + "." + b64url(p) + ".").find("header is not a JSON object") !=
        std::string::npos);
  CHECK(refused(b64url("[1]") + "." + b64url(p) + ".").find("header is not a JSON object") != std::string::npos);
  CHECK(refused(jwt_with(R"({"typ":"JWT"})", p, "")).find("no alg") != std::string::npos);
  CHECK(refused(jwt_with(R"({"alg":"HS256","kid":7})", p, "")).find("kid") != std::string::npos);
  CHECK(refused(jwt_with(R"({"alg":"HS256","crit":["x"]})", p, "")).find("crit") != std::string::npos);
  CHECK(refused(b64url(R"({"alg":"HS256"})") + "." + b64url(p) + ".*").find("signature is not base64url") !=
        std::string::npos);
  // A valid signature over a payload that is not JSON.
  const std::string h = R"({"alg":"HS256"})";
  const std::string bad_payload = b64url(h) + "." + b64url("nope");
  CHECK(refused(bad_payload + "." + b64url(hmac_sha256(secret, bad_payload))).find("payload is not a JSON object") !=
        std::string::npos);
}

TEST_CASE("JWKS parsing keeps usable signature keys only") {
  auto& f = fixture();
  CHECK(parse_jwks("[]").err().code == errc::invalid_argument);
  CHECK(parse_jwks("{\"keys\":{}}").err().code == errc::invalid_argument);
  CHECK(parse_jwks("{\"keys\":[]}").err().message == "the JWKS holds no usable key");
  CHECK_FALSE(parse_jwks(R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})").ok());
  const test_key small = test_key::rsa(1024);
  CHECK_FALSE(parse_jwks(jwks_of(small.jwk("small"))).ok());
  auto mixed = parse_jwks(jwks_of(R"({"kty":"oct","kid":"s","k":"c2VjcmV0"})", f.rsa.jwk("r"),
                                  R"({"kty":"EC","crv":"P-384","x":"AA","y":"AA"})"));
  REQUIRE(mixed.ok());
  CHECK(key_count(**mixed) == 1);
  auto enc = parse_jwks(jwks_of(f.rsa.jwk("r").insert(1, "\"use\":\"enc\",")));
  CHECK_FALSE(enc.ok());
  // A point that is not on the curve.
  CHECK_FALSE(parse_jwks(R"({"keys":[{"kty":"EC","crv":"P-256","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]})")
                   .ok());
}

TEST_CASE("check: levels, static token, scopes, challenges") {
  auth_settings s;
  s.static_token = "static-token-value";
  s.jwt_secret = secret;
  auto made = authenticator::create(s);
  REQUIRE(made.ok());
  const authenticator& a = **made;
  const auto bearer = [](const std::string& t) { return std::optional<std::string_view>(t); };
  const std::string st = "Bearer static-token-value";
  const std::string rd = "Bearer " + jwt_hs256(secret, claims("\"scope\":\"tlflow:read\""));
  const std::string wr = "bearer " + jwt_hs256(secret, claims("\"scope\":\"tlflow:write\""));
  const std::string ad = "BEARER " + jwt_hs256(secret, claims("\"scope\":\"tlflow:admin\""));

  CHECK(a.check(access::open, std::nullopt).allowed);
  CHECK(a.check(access::read, std::nullopt).allowed);  // reads open without --auth-reads
  auto o = a.check(access::write, std::nullopt);
  CHECK_FALSE(o.allowed);
  CHECK(o.code == errc::unauthorized);
  CHECK(o.www_authenticate == "Bearer realm=\"tlflow\"");
  CHECK(a.check(access::write, bearer("Basic c3RhdGlj")).code == errc::unauthorized);
  CHECK(a.check(access::write, bearer("Bearer wrong")).message == "invalid bearer token");
  CHECK(a.check(access::admin, bearer(st)).allowed);  // the static token grants everything

  CHECK(a.check(access::write, bearer(wr)).allowed);
  CHECK(a.check(access::write, bearer(ad)).allowed);
  o = a.check(access::write, bearer(rd));
  CHECK_FALSE(o.allowed);
  CHECK(o.code == errc::forbidden);
  CHECK(o.message == "the token lacks the scope tlflow:write");
  CHECK(o.www_authenticate.find("insufficient_scope") != std::string::npos);
  o = a.check(access::admin, bearer(wr));
  CHECK(o.code == errc::forbidden);
  CHECK(o.message == "the token lacks the scope tlflow:admin");
  CHECK(a.check(access::admin, bearer(ad)).allowed);
  o = a.check(access::write, bearer("Bearer " + jwt_hs256(secret, claims("\"scope\":\"tlflow:write\"", -3600))));
  CHECK(o.code == errc::unauthorized);
  CHECK(o.message == "the token has expired");

  s.auth_reads = true;
  auto guarded = authenticator::create(s);
  REQUIRE(guarded.ok());
  CHECK((*guarded)->check(access::read, std::nullopt).code == errc::unauthorized);
  CHECK((*guarded)->check(access::read, bearer(rd)).allowed);
  CHECK((*guarded)->check(access::read, bearer("Bearer " + jwt_hs256(secret, claims("")))).code ==
        errc::forbidden);
  CHECK((*guarded)->check(access::open, std::nullopt).allowed);

  auth_settings open;
  open.open = true;
  CHECK((*authenticator::create(open))->check(access::admin, std::nullopt).allowed);

  auth_settings short_secret;
  short_secret.jwt_secret = "too-short";
  CHECK(authenticator::create(short_secret).err().code == errc::invalid_argument);
}

TEST_CASE("a JWKS file is read at creation") {
  auto& f = fixture();
  temp_dir dir;
  auth_settings s;
  s.jwks_source = dir.file("jwks.json");
  CHECK(authenticator::create(s).err().code == errc::io_error);  // absent
  std::ofstream(s.jwks_source) << jwks_of(f.ec.jwk("ec1"));
  auto a = authenticator::create(s);
  REQUIRE(a.ok());
  const std::string t = "Bearer " + jwt_rs_es(f.ec, "ec1", claims("\"scope\":\"tlflow:write\""));
  CHECK((*a)->check(access::write, std::optional<std::string_view>(t)).allowed);
  std::ofstream(s.jwks_source) << "{}";
  CHECK(authenticator::create(s).err().code == errc::invalid_argument);
}

TEST_CASE("loopback hosts") {
  for (const char* h : {"127.0.0.1", "127.1.2.3", "127.255.255.255", "::1", "[::1]", "localhost"}) {
    CHECK_MESSAGE(is_loopback_host(h), h);
  }
  for (const char* h : {"0.0.0.0", "::", "10.0.0.1", "127.0.0", "127.0.0.1.5", "127.0.0.256", "1270.0.0.1",
                        "127.a.0.1", "localhost.example", "", "192.168.1.1"}) {
    CHECK_MESSAGE(!is_loopback_host(h), h);
  }
}

TEST_CASE("the token file: created 0600 with 32 random bytes, then reused") {
  temp_dir dir;
  const std::string data = dir.path() + "/nested/data";
  bool created = false;
  auto first = load_or_create_token_file(data, created);
  REQUIRE_MESSAGE(first.ok(), first.err().message);
  CHECK(created);
  CHECK(first->size() == 43);  // base64url of 32 bytes, unpadded
  struct stat st {};
  REQUIRE(::stat((data + "/api-token").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto again = load_or_create_token_file(data, created);
  REQUIRE(again.ok());
  CHECK_FALSE(created);
  CHECK(*again == *first);

  temp_dir other;
  bool c2 = false;
  auto second = load_or_create_token_file(other.path(), c2);
  REQUIRE(second.ok());
  CHECK(*second != *first);

  // A token file others can read is refused, not silently used.
  REQUIRE(::chmod((data + "/api-token").c_str(), 0644) == 0);
  auto loose = load_or_create_token_file(data, created);
  REQUIRE_FALSE(loose.ok());
  CHECK(loose.err().code == errc::invalid_argument);
  CHECK(loose.err().message.find("chmod 600") != std::string::npos);
  CHECK(loose.err().message.find(*first) == std::string::npos);
}

TEST_CASE("start-up rules") {
  temp_dir dir;
  config c;
  c.data_dir = dir.path();
  c.host = "127.0.0.1";
  auto a = make_authenticator(c);
  REQUIRE(a.ok());
  CHECK((*a)->open());  // loopback, nothing configured: as before

  c.host = "0.0.0.0";
  a = make_authenticator(c);
  REQUIRE(a.ok());
  CHECK_FALSE((*a)->open());
  std::ifstream in(dir.file("api-token"));
  std::string token;
  std::getline(in, token);
  CHECK((*a)->check(access::write, std::nullopt).code == errc::unauthorized);
  const std::string h = "Bearer " + token;
  CHECK((*a)->check(access::admin, std::optional<std::string_view>(h)).allowed);

  config eph = c;
  eph.ephemeral = true;
  auto refused_eph = make_authenticator(eph);
  REQUIRE_FALSE(refused_eph.ok());
  CHECK(refused_eph.err().code == errc::invalid_argument);
  CHECK(refused_eph.err().message.find("--no-auth") != std::string::npos);

  config no_auth = eph;
  no_auth.no_auth = true;
  a = make_authenticator(no_auth);
  REQUIRE(a.ok());
  CHECK((*a)->open());
  no_auth.api_token = "t";
  CHECK(make_authenticator(no_auth).err().code == errc::invalid_argument);
  no_auth.api_token.clear();
  no_auth.auth_reads = true;
  CHECK(make_authenticator(no_auth).err().code == errc::invalid_argument);

  // --auth-reads asks for credentials even on loopback: the token file.
  temp_dir reads_dir;
  config reads;
  reads.host = "127.0.0.1";
  reads.auth_reads = true;
  reads.data_dir = reads_dir.path();
  a = make_authenticator(reads);
  REQUIRE(a.ok());
  CHECK_FALSE((*a)->open());
  CHECK((*a)->check(access::read, std::nullopt).code == errc::unauthorized);
  CHECK(std::ifstream(reads_dir.file("api-token")).good());
  reads.ephemeral = true;
  auto refused_reads = make_authenticator(reads);
  REQUIRE_FALSE(refused_reads.ok());
  CHECK(refused_reads.err().message.find("drop --auth-reads") != std::string::npos);

  config jwt_only = eph;  // a JWT setting is credentials enough: no token file needed
  jwt_only.jwt_secret = secret;
  a = make_authenticator(jwt_only);
  REQUIRE(a.ok());
  CHECK_FALSE((*a)->open());
}
