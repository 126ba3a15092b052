#include "api/router.hpp"

#include <doctest/doctest.h>

using namespace tlflow;
using namespace tlflow::api;

namespace {
handler named(std::string name) {
  return [name](const request&) {
    response r;
    r.body = name;
    return r;
  };
}

router sample() {
  router r;
  r.add_route("GET", "/vertices/count", named("count"));
  r.add_route("GET", "/vertices/{id}", named("get"));
  r.add_route("PUT", "/vertices/{id}", named("put"), {true});
  r.add_route("DELETE", "/vertices/{id}", named("delete"), {true});
  r.add_route("GET", "/vertices/{id}/neighbors", named("neighbors"));
  r.add_route("DELETE", "/vertices/remove/{v}", named("legacy_remove"), {true});
  r.add_route("POST", "/aristas/add/{v1},{v2}", named("legacy_edge"), {true});
  r.add_route("GET", "/paths/{from}/{to}", named("path"));
  return r;
}

std::string run(const router& r, const match_result& m) {
  (void)r;
  REQUIRE(m.outcome == match_result::kind::found);
  request q;
  return m.matched->fn(q).body;
}
} // namespace

TEST_CASE("router: literal beats parameter, method picks among the same template") {
  const router r = sample();
  CHECK(run(r, r.match("GET", "/vertices/count")) == "count");
  CHECK(run(r, r.match("GET", "/vertices/alice")) == "get");
  CHECK(run(r, r.match("PUT", "/vertices/alice")) == "put");
  CHECK(run(r, r.match("GET", "/vertices/alice/neighbors")) == "neighbors");
  // An id equal to a literal is reachable by encoding one character.
  auto m = r.match("GET", "/vertices/%63ount");
  CHECK(run(r, m) == "get");
  CHECK(m.params.at(0).second == "count");
}

TEST_CASE("router: 404 and 405 with Allow") {
  const router r = sample();
  CHECK(r.match("GET", "/nope").outcome == match_result::kind::not_found);
  CHECK(r.match("GET", "/vertices/").outcome == match_result::kind::not_found);
  CHECK(r.match("GET", "/").outcome == match_result::kind::not_found);
  auto m = r.match("POST", "/vertices/count");
  CHECK(m.outcome == match_result::kind::method_not_allowed);
  CHECK(m.allow == std::vector<std::string>{"GET"});
  m = r.match("POST", "/vertices/x");
  CHECK(m.outcome == match_result::kind::method_not_allowed);
  CHECK(m.allow == std::vector<std::string>{"GET", "PUT", "DELETE"});
}

TEST_CASE("router: parameters are decoded after the split") {
  const router r = sample();
  auto m = r.match("GET", "/paths/a%2Fb/..%22%F0%9F%98%80");
  REQUIRE(m.outcome == match_result::kind::found);
  CHECK(m.params[0].second == "a/b");
  CHECK(m.params[1].second == "..\"\xF0\x9F\x98\x80");
  m = r.match("POST", "/aristas/add/a%2Cb,c");
  REQUIRE(m.outcome == match_result::kind::found);
  CHECK(m.params[0].second == "a,b");
  CHECK(m.params[1].second == "c");
  CHECK(r.match("GET", "/vertices/%zz").outcome == match_result::kind::bad_path);
  CHECK(r.match("GET", "/vertices/abc%4").outcome == match_result::kind::bad_path);
  CHECK(r.match("POST", "/aristas/add/ab").outcome == match_result::kind::not_found);
}

TEST_CASE("router: duplicate and malformed templates are rejected") {
  router r = sample();
  CHECK_THROWS_AS(r.add_route("GET", "/vertices/{id}", named("x")), std::invalid_argument);
  CHECK_THROWS_AS(r.add_route("GET", "vertices", named("x")), std::invalid_argument);
  CHECK_THROWS_AS(r.add_route("GET", "/a/{}", named("x")), std::invalid_argument);
}

TEST_CASE("query strings decode strictly") {
  auto q = parse_query("limit=10&prefix=a%2Fb+c&flag&x=");
  REQUIRE(q.ok());
  CHECK(q->find("limit")->second == "10");
  CHECK(q->find("prefix")->second == "a/b c");
  CHECK(q->find("flag")->second.empty());
  CHECK(!parse_query("a=%G0").ok());
  CHECK(percent_decode("%41%42", false).value() == "AB");
  CHECK(percent_decode("a+b", false).value() == "a+b");
  CHECK(!percent_decode("%", false));
}

TEST_CASE("error codes map to statuses") {
  CHECK(http_status(errc::invalid_id) == 400);
  CHECK(http_status(errc::unauthorized) == 401);
  CHECK(http_status(errc::no_path) == 404);
  CHECK(http_status(errc::limit_reached) == 409);
  CHECK(to_string(errc::limit_reached) == "limit_reached");
  CHECK(http_status(errc::payload_too_large) == 413);
  CHECK(http_status(errc::unsupported_media_type) == 415);
  CHECK(http_status(errc::store_unavailable) == 503);
  CHECK(http_status(errc::internal) == 500);
  CHECK(http_status(errc::not_supported) == 501);
  CHECK(to_string(errc::not_supported) == "not_supported");
}
