#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "api/cursor.hpp"
#include "api/undo.hpp"

using namespace tlflow;
using namespace tlflow::api;

TEST_CASE("undo tickets: random, one use, expire, bounded") {
  undo_tickets t(std::chrono::hours(1), 3);
  removed_set r;
  r.removed_vertex = vertex{"a", {}};
  std::set<std::string> seen;
  const std::string first = t.issue(r);
  CHECK(first.size() == 32);
  seen.insert(first);
  for (int i = 0; i < 3; ++i) seen.insert(t.issue(r));
  CHECK(seen.size() == 4);
  CHECK(t.size() == 3);              // the oldest was dropped
  CHECK_FALSE(t.take(first));
  const std::string last = *seen.rbegin();
  auto got = t.take(last);
  if (got) {
    CHECK(got->removed_vertex->id == "a");
    CHECK_FALSE(t.take(last));       // one use
  }
  CHECK_FALSE(t.take("not-a-ticket"));

  undo_tickets short_lived(std::chrono::milliseconds(1));
  const std::string ticket = short_lived.issue(r);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK_FALSE(short_lived.take(ticket));
}

TEST_CASE("undo tickets: bounded in bytes too; the newest is kept whatever its size") {
  // A delete of a vertex with 1,000 edges costs about 1,000 edges' worth.
  removed_set hub;
  hub.removed_vertex = vertex{"hub", {}};
  for (int i = 0; i < 1000; ++i) {
    edge e;
    e.key = {"hub", "v" + std::to_string(i), edge_kind::mention};
    e.hashtags = {"climate"};
    hub.edges.push_back(e);
  }
  const std::size_t cost = undo_tickets::footprint(hub);
  CHECK(cost > 1000 * sizeof(edge));

  undo_tickets t(std::chrono::hours(1), 10000, 3 * cost);
  std::vector<std::string> tickets;
  for (int i = 0; i < 5; ++i) tickets.push_back(t.issue(hub));
  CHECK(t.size() == 3);              // count allows 10,000; bytes allow 3
  CHECK(t.bytes() == 3 * cost);
  CHECK_FALSE(t.take(tickets[0]));   // the oldest went first
  CHECK_FALSE(t.take(tickets[1]));
  REQUIRE(t.take(tickets[4]));
  CHECK(t.bytes() == 2 * cost);      // a redeemed ticket gives its bytes back

  undo_tickets tiny(std::chrono::hours(1), 10000, cost / 2);
  const std::string big = tiny.issue(hub);
  CHECK(tiny.size() == 1);           // over the budget alone, still kept
  const std::string bigger = tiny.issue(hub);
  CHECK(tiny.size() == 1);           // ... until a newer one arrives
  CHECK_FALSE(tiny.take(big));
  CHECK(tiny.take(bigger));
  CHECK(tiny.bytes() == 0);
}

TEST_CASE("undo tickets: used up only by a restore that succeeded") {
  undo_tickets t;
  removed_set r;
  r.removed_vertex = vertex{"a", {}};
  const std::string ticket = t.issue(r);
  int calls = 0;
  auto failing = [&](const removed_set& got) -> status {
    ++calls;
    CHECK(got.removed_vertex->id == "a");
    return error{errc::store_unavailable, "disk full"};
  };
  auto first = t.redeem(ticket, failing);
  REQUIRE_FALSE(first.ok());
  CHECK(first.err().code == errc::store_unavailable);
  CHECK(t.size() == 1); // still there for the retry
  // While one redemption runs, another of the same ticket is a conflict.
  auto nested = t.redeem(ticket, [&](const removed_set&) -> status {
    auto inner = t.redeem(ticket, [](const removed_set&) -> status { return ok_v; });
    CHECK_FALSE(inner.ok());
    if (!inner.ok()) CHECK(inner.err().code == errc::conflict);
    return error{errc::store_unavailable, "still full"};
  });
  CHECK_FALSE(nested.ok());
  auto retry = t.redeem(ticket, [&](const removed_set&) -> status {
    ++calls;
    return ok_v;
  });
  REQUIRE(retry.ok());
  CHECK(retry->removed_vertex->id == "a");
  CHECK(calls == 2);
  auto again = t.redeem(ticket, [](const removed_set&) -> status { return ok_v; });
  REQUIRE_FALSE(again.ok());
  CHECK(again.err().code == errc::ticket_not_found);
}

TEST_CASE("base64url round-trips and rejects bad input") {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\x00\xff\x1f", 3)}) {
    auto back = base64url_decode(base64url_encode(s));
    REQUIRE(back);
    CHECK(*back == s);
  }
  CHECK_FALSE(base64url_decode("a"));
  CHECK_FALSE(base64url_decode("ab=="));
  CHECK_FALSE(base64url_decode("a+b/"));
  CHECK_FALSE(base64url_decode("AB"));  // non-zero leftover bits
}

TEST_CASE("cursors are tagged and validated") {
  const std::string vc = vertex_cursor("twitter:1/x");
  CHECK(parse_vertex_cursor(vc).value() == "twitter:1/x");
  CHECK_FALSE(parse_edge_cursor(vc));
  const edge_key k{"a", "b/c", edge_kind::quote};
  const std::string ec = edge_cursor(k);
  CHECK(parse_edge_cursor(ec).value() == k);
  CHECK_FALSE(parse_vertex_cursor(ec));
  CHECK_FALSE(parse_vertex_cursor(base64url_encode(std::string("v\x1f", 2))));
  CHECK_FALSE(parse_vertex_cursor(base64url_encode(std::string("v\x1f\x01", 3))));
  CHECK_FALSE(parse_edge_cursor(base64url_encode(std::string("e\x1f" "a\x1f" "b\x1f" "hug", 10))));
}

TEST_CASE("community and search cursors are tagged and validated") {
  const std::string cc = community_cursor("twitter:9");
  CHECK(parse_community_cursor(cc).value() == "twitter:9");
  CHECK_FALSE(parse_vertex_cursor(cc));
  CHECK_FALSE(parse_community_cursor(vertex_cursor("twitter:9")));
  const search_key k{2, 123456789012345ULL, "a:b/c"};
  const std::string sc = search_cursor(k);
  auto back = parse_search_cursor(sc);
  REQUIRE(back);
  CHECK(back->match == 2);
  CHECK(back->weight == 123456789012345ULL);
  CHECK(back->id == "a:b/c");
  CHECK_FALSE(parse_community_cursor(sc));
  CHECK_FALSE(parse_search_cursor(cc));
  CHECK_FALSE(parse_search_cursor(base64url_encode(std::string("s\x1f" "3\x1f" "1\x1f" "a", 8)))); // no class 3
  CHECK_FALSE(parse_search_cursor(base64url_encode(std::string("s\x1f" "0\x1f" "x\x1f" "a", 8))));
  CHECK_FALSE(parse_search_cursor(base64url_encode(std::string("s\x1f" "0\x1f" "1", 5))));
  CHECK_FALSE(parse_search_cursor(base64url_encode(std::string("s\x1f" "0\x1f" "1\x1f", 6)))); // empty id
}
