#include "api/slice_params.hpp"

#include <doctest/doctest.h>

using namespace tlflow;
using namespace tlflow::api;

namespace {

request with_query(std::string_view qs) {
  request q;
  q.query = parse_query(qs).value();
  return q;
}

errc code_of(std::string_view qs) {
  try {
    (void)parse_slice(with_query(qs));
  } catch (const api_error& e) {
    return e.code();
  }
  return errc::internal;
}

} // namespace

TEST_CASE("parse_slice: no parameter is the whole graph") {
  const slice s = parse_slice(with_query(""));
  CHECK(s.whole_graph());
  CHECK(slice_query(s).empty());
}

TEST_CASE("parse_slice: repeatable and comma-separated, normalised, de-duplicated") {
  const slice s = parse_slice(with_query(
      "kind=reply,mention&kind=reply&hashtag=%23Climate&hashtag=energy,climate"
      "&platform=mastodon&platform=twitter,mastodon&min_weight=3"));
  CHECK(s.kinds == std::vector<edge_kind>{edge_kind::mention, edge_kind::reply});
  CHECK(s.hashtags == std::vector<std::string>{"climate", "energy"});
  CHECK(s.platforms == std::vector<std::string>{"mastodon", "twitter"});
  CHECK(s.min_weight == 3);
  CHECK_FALSE(s.whole_graph());
  // slice_query reads back as the same slice.
  const slice again = parse_slice(with_query(slice_query(s)));
  CHECK(again.kinds == s.kinds);
  CHECK(again.hashtags == s.hashtags);
  CHECK(again.platforms == s.platforms);
  CHECK(again.min_weight == s.min_weight);
}

TEST_CASE("parse_slice: times are canonical UTC; a date covers its whole day") {
  slice s = parse_slice(with_query("since=2026-11-22T07:55:14%2B01:00&until=2026-11-23"));
  CHECK(s.since == "2026-11-22T06:55:14Z");
  CHECK(s.until == "2026-11-23T23:59:59Z");
  s = parse_slice(with_query("since=2026-11-22"));
  CHECK(s.since == "2026-11-22T00:00:00Z");
  CHECK(s.until.empty());
  CHECK(parse_slice(with_query(slice_query(s))).since == s.since);
}

TEST_CASE("parse_slice: bad input is invalid_argument") {
  CHECK(code_of("kind=like") == errc::invalid_argument);
  CHECK(code_of("hashtag=no%20spaces") == errc::invalid_argument);
  CHECK(code_of("since=yesterday") == errc::invalid_argument);
  CHECK(code_of("since=2026-13-01") == errc::invalid_argument);
  CHECK(code_of("since=2026-11-23&until=2026-11-22") == errc::invalid_argument);
  CHECK(code_of("min_weight=-1") == errc::invalid_argument);
  CHECK(code_of("min_weight=99999999999") == errc::invalid_argument);
  CHECK(code_of("platform=myspace") == errc::invalid_argument);
  std::string many;
  for (int i = 0; i < 101; ++i) many += "hashtag=t" + std::to_string(i) + "&";
  CHECK(code_of(many) == errc::invalid_argument);
}

TEST_CASE("slice::admits: each filter, and the window overlap") {
  edge e;
  e.key = {"a", "b", edge_kind::reply};
  e.weight = 2;
  e.hashtags = {"climate", "energy"};
  e.first_seen = "2026-11-20T10:00:00Z";
  e.last_seen = "2026-11-22T10:00:00Z";
  slice s;
  CHECK(s.admits(e));
  s.kinds = {edge_kind::mention};
  CHECK_FALSE(s.admits(e));
  s.kinds = {edge_kind::mention, edge_kind::reply};
  CHECK(s.admits(e));
  s.hashtags = {"cop30"};
  CHECK_FALSE(s.admits(e));
  s.hashtags = {"cop30", "energy"};
  CHECK(s.admits(e));
  s.since = "2026-11-22T10:00:00Z"; // touches last_seen: overlaps
  CHECK(s.admits(e));
  s.since = "2026-11-22T10:00:01Z";
  CHECK_FALSE(s.admits(e));
  s.since.clear();
  s.until = "2026-11-20T09:59:59Z";
  CHECK_FALSE(s.admits(e));
  s.until = "2026-11-21T00:00:00Z"; // inside the edge's span
  CHECK(s.admits(e));
  s.min_weight = 3;
  CHECK_FALSE(s.admits(e));
}
