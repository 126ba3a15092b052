// The one contract test suite every graph_store passes (docs/architecture.md, "Store contract").
//
// Usage, in a test .cpp file:
//   #include "support/graph_store_contract.hpp"
//   struct my_fixture {
//     my_fixture();                 // a fresh, empty store
//     tlflow::graph_store& store();
//   };
//   TEST_CASE_TEMPLATE_INVOKE(graph_store_contract, my_fixture);
//
// Each SUBCASE re-runs the test case from the top, so every subcase gets a
// freshly constructed fixture (an empty store). The header may be included by
// several .cpp files of one test binary: everything here is a template, static
// or inline.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tlflow/graph_store.hpp"

namespace tlflow::contract {

inline interaction make_interaction(std::string post, std::string from, std::string to,
                                    edge_kind kind, std::vector<std::string> tags,
                                    std::string at) {
  interaction x;
  x.post_id = std::move(post);
  x.from.id = std::move(from);
  x.to.id = std::move(to);
  x.kind = kind;
  x.hashtags = std::move(tags);
  x.at = std::move(at);
  return x;
}

inline std::vector<std::string> all_vertex_ids(graph_store& s, std::size_t page,
                                               const std::string& prefix = {}) {
  std::vector<std::string> ids;
  vertex_query q;
  q.limit = page;
  q.prefix = prefix;
  for (int guard = 0; guard < 100000; ++guard) {
    auto r = s.list_vertices(q);
    REQUIRE(r.ok());
    for (const auto& v : r->vertices) ids.push_back(v.v.id);
    if (!r->next_after) break;
    REQUIRE(r->vertices.size() == page);
    q.after = r->next_after;
  }
  return ids;
}

inline std::vector<edge_key> all_edge_keys(graph_store& s, edge_query q) {
  std::vector<edge_key> keys;
  for (int guard = 0; guard < 100000; ++guard) {
    auto r = s.list_edges(q);
    REQUIRE(r.ok());
    for (const auto& e : r->edges) keys.push_back(e.key);
    if (!r->next_after) break;
    REQUIRE(r->edges.size() == q.limit);
    q.after = r->next_after;
  }
  return keys;
}

inline edge get_edge(graph_store& s, const std::string& from, const std::string& to, edge_kind k) {
  edge_query q;
  q.from = from;
  q.to = to;
  q.kind = k;
  auto r = s.list_edges(q);
  REQUIRE(r.ok());
  REQUIRE(r->edges.size() == 1);
  return r->edges.front();
}

inline std::string prop_string(const properties& p, const std::string& key) {
  auto it = p.find(key);
  if (it == p.end()) return "<absent>";
  if (auto* s = std::get_if<std::string>(&it->second)) return *s;
  return "<not a string>";
}

inline void add(graph_store& s, const std::string& from, const std::string& to,
                edge_kind k = edge_kind::link) {
  add_edge_request req;
  req.key = {from, to, k};
  req.at = "2026-11-22T06:00:00Z";
  REQUIRE(s.add_edge(req).ok());
}

// Checks a returned path: right ends, right length, each hop an edge.
inline void check_path(graph_store& s, const std::vector<std::string>& path,
                       const std::string& from, const std::string& to, std::size_t hops,
                       bool directed, std::optional<edge_kind> kind = std::nullopt) {
  REQUIRE(path.size() == hops + 1);
  CHECK(path.front() == from);
  CHECK(path.back() == to);
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    edge_query q;
    q.from = path[i];
    q.to = path[i + 1];
    q.kind = kind;
    auto fw = s.list_edges(q);
    REQUIRE(fw.ok());
    bool linked = !fw->edges.empty();
    if (!directed && !linked) {
      q.from = path[i + 1];
      q.to = path[i];
      auto bw = s.list_edges(q);
      REQUIRE(bw.ok());
      linked = !bw->edges.empty();
    }
    CHECK_MESSAGE(linked, "no edge between ", path[i], " and ", path[i + 1]);
  }
}

} // namespace tlflow::contract

TEST_CASE_TEMPLATE_DEFINE("graph_store contract", Fixture, graph_store_contract) {
  using namespace tlflow;
  using namespace tlflow::contract;
  Fixture fixture;
  graph_store& s = fixture.store();

  SUBCASE("an empty store") {
    CHECK(!s.kind().empty());
    CHECK(s.count_vertices().value() == 0);
    CHECK(s.count_edges().value() == 0);
    auto page = s.list_vertices({});
    REQUIRE(page.ok());
    CHECK(page->vertices.empty());
    CHECK_FALSE(page->next_after.has_value());
    auto edges = s.list_edges({});
    REQUIRE(edges.ok());
    CHECK(edges->edges.empty());
    CHECK(s.health().ok);
    auto flows = s.location_flows(10);
    REQUIRE(flows.ok());
    CHECK(flows->empty());
  }

  SUBCASE("put_vertex creates, merges, unsets; get_vertex reads back") {
    properties p{{"handle", std::string("alice")}, {"age", std::int64_t{42}},
                 {"score", 1.5}, {"verified", true}};
    auto r = s.put_vertex("twitter:1", p, {});
    REQUIRE(r.ok());
    CHECK(r->created);
    CHECK(r->vertex.v.id == "twitter:1");
    CHECK(r->vertex.v.props == p);
    CHECK(r->vertex.in_degree == 0);
    CHECK(r->vertex.out_degree == 0);

    auto again = s.put_vertex("twitter:1", {{"name", std::string("Alice")}}, {"age"});
    REQUIRE(again.ok());
    CHECK_FALSE(again->created);
    properties want{{"handle", std::string("alice")}, {"name", std::string("Alice")},
                    {"score", 1.5}, {"verified", true}};
    CHECK(again->vertex.v.props == want);

    auto got = s.get_vertex("twitter:1");
    REQUIRE(got.ok());
    CHECK(got->v.props == want);
    CHECK(s.count_vertices().value() == 1);

    // A well-known key may hold any scalar; unsetting an absent key is fine.
    auto typed = s.put_vertex("twitter:1", {{"location", std::int64_t{7}},
                                            {"first_seen", std::string("yesterday")}},
                              {"nope"});
    REQUIRE(typed.ok());
    CHECK(typed->vertex.v.props.at("location") == property_value{std::int64_t{7}});
    CHECK(prop_string(typed->vertex.v.props, "first_seen") == "yesterday");
    auto back = s.put_vertex("twitter:1", {{"location", std::string("Paris")},
                                           {"first_seen", std::string("2026-01-02T03:04:05Z")}},
                             {});
    REQUIRE(back.ok());
    CHECK(prop_string(back->vertex.v.props, "location") == "Paris");
    CHECK(prop_string(back->vertex.v.props, "first_seen") == "2026-01-02T03:04:05Z");
    auto gone = s.put_vertex("twitter:1", {}, {"location", "first_seen", "score"});
    REQUIRE(gone.ok());
    CHECK(gone->vertex.v.props.count("location") == 0);
    CHECK(gone->vertex.v.props.count("first_seen") == 0);
    CHECK(gone->vertex.v.props.count("score") == 0);
  }

  SUBCASE("errors: vertex_not_found, edge_not_found, invalid_id, no_path") {
    CHECK(s.get_vertex("nobody").err().code == errc::vertex_not_found);
    CHECK(s.remove_vertex("nobody").err().code == errc::vertex_not_found);
    CHECK(s.neighbors("nobody", {}).err().code == errc::vertex_not_found);
    CHECK(s.remove_edges("a", "b", std::nullopt).err().code == errc::edge_not_found);
    CHECK(s.shortest_path("a", "b", {}).err().code == errc::vertex_not_found);

    CHECK(s.put_vertex("", {}, {}).err().code == errc::invalid_id);
    CHECK(s.put_vertex(std::string(257, 'x'), {}, {}).err().code == errc::invalid_id);
    CHECK(s.put_vertex("bad\nid", {}, {}).err().code == errc::invalid_id);
    CHECK(s.put_vertex("bad\xC3", {}, {}).err().code == errc::invalid_id);
    add_edge_request bad;
    bad.key = {"ok", "", edge_kind::link};
    CHECK(s.add_edge(bad).err().code == errc::invalid_id);
    bad.key = {"a\x01", "ok", edge_kind::link};
    CHECK(s.add_edge(bad).err().code == errc::invalid_id);
    CHECK(s.count_vertices().value() == 0);

    add(s, "a", "b");
    CHECK(s.shortest_path("a", "zz", {}).err().code == errc::vertex_not_found);
    CHECK(s.shortest_path("zz", "a", {}).err().code == errc::vertex_not_found);
    REQUIRE(s.put_vertex("c", {}, {}).ok());
    CHECK(s.shortest_path("a", "c", {}).err().code == errc::no_path);
    CHECK(s.remove_edges("b", "a", std::nullopt).err().code == errc::edge_not_found);
    CHECK(s.remove_edges("a", "b", edge_kind::mention).err().code == errc::edge_not_found);
    CHECK(s.count_edges().value() == 1);
  }

  SUBCASE("hostile ids are stored and read back verbatim") {
    const std::vector<std::string> ids = {
        "x').drop();g.V().drop();//", "quote\"d", "single'quote", "back\\slash\\",
        "${jndi:ldap://x}", "emoji \xF0\x9F\x98\x80 \xE2\x9D\xA4", "a/b/../c", "..",
        "percent%2Fslash", "tab-less space ", "g.V().hasLabel('x')", "\xE6\x97\xA5\xE6\x9C\xAC"};
    for (const auto& id : ids) {
      auto r = s.put_vertex(id, {{"name", id}}, {});
      REQUIRE_MESSAGE(r.ok(), id);
      CHECK(r->vertex.v.id == id);
    }
    for (const auto& id : ids) {
      auto r = s.get_vertex(id);
      REQUIRE_MESSAGE(r.ok(), id);
      CHECK(r->v.id == id);
      CHECK(prop_string(r->v.props, "name") == id);
    }
    add(s, ids[0], ids[1], edge_kind::mention);
    add(s, ids[1], ids[4], edge_kind::reply);
    CHECK(s.count_vertices().value() == ids.size());
    auto e = get_edge(s, ids[0], ids[1], edge_kind::mention);
    CHECK(e.key.from == ids[0]);
    CHECK(e.key.to == ids[1]);
    auto path = s.shortest_path(ids[0], ids[4], {});
    REQUIRE(path.ok());
    check_path(s, *path, ids[0], ids[4], 2, false);
    auto listed = all_vertex_ids(s, 5);
    std::vector<std::string> sorted = ids;
    std::sort(sorted.begin(), sorted.end());
    CHECK(listed == sorted);
    REQUIRE(s.remove_vertex(ids[0]).ok());
    CHECK(s.get_vertex(ids[0]).err().code == errc::vertex_not_found);
    CHECK(s.get_vertex(ids[1]).ok());
  }

  SUBCASE("vertex pagination: ordered, no loss, no duplicate; prefix and after") {
    std::vector<std::string> ids;
    for (int i = 0; i < 57; ++i) {
      std::string id = (i % 3 == 0 ? "mastodon:" : "twitter:") + std::to_string(i * 7919 % 1000);
      ids.push_back(id);
      REQUIRE(s.put_vertex(id, {}, {}).ok());
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    CHECK(s.count_vertices().value() == ids.size());
    for (std::size_t page : {1u, 2u, 7u, 10u, 56u, 57u, 100u}) {
      CHECK(all_vertex_ids(s, page) == ids);
    }
    std::vector<std::string> tw;
    for (const auto& id : ids)
      if (id.rfind("twitter:", 0) == 0) tw.push_back(id);
    CHECK(all_vertex_ids(s, 4, "twitter:") == tw);
    CHECK(all_vertex_ids(s, 4, "nothing:").empty());

    vertex_query q;
    q.limit = 3;
    q.after = ids[10];
    auto r = s.list_vertices(q);
    REQUIRE(r.ok());
    REQUIRE(r->vertices.size() == 3);
    CHECK(r->vertices[0].v.id == ids[11]);
    CHECK(r->next_after == ids[13]);
    // `after` need not be an existing id.
    q.after = ids[10] + "~";
    auto r2 = s.list_vertices(q);
    REQUIRE(r2.ok());
    CHECK(r2->vertices.front().v.id == ids[11]);
    // The last page says nothing follows.
    q.limit = 1000;
    q.after = ids[ids.size() - 3];
    auto last = s.list_vertices(q);
    REQUIRE(last.ok());
    CHECK(last->vertices.size() == 2);
    CHECK_FALSE(last->next_after.has_value());

    // Removing and re-adding while paging loses nothing else.
    REQUIRE(s.remove_vertex(ids[5]).ok());
    REQUIRE(s.put_vertex("mastodon:new", {}, {}).ok());
    auto now = all_vertex_ids(s, 6);
    auto want = ids;
    want.erase(want.begin() + 5);
    want.push_back("mastodon:new");
    std::sort(want.begin(), want.end());
    CHECK(now == want);
    REQUIRE(s.put_vertex(ids[5], {}, {}).ok());
    CHECK(all_vertex_ids(s, 9).size() == want.size() + 1);
  }

  SUBCASE("add_edge aggregates; list_edges filters and pages in (from, to, kind) order") {
    add_edge_request req;
    req.key = {"a", "b", edge_kind::mention};
    req.at = "2026-11-22T06:00:00Z";
    req.props = {{"note", std::string("first")}};
    auto r1 = s.add_edge(req);
    REQUIRE(r1.ok());
    CHECK(r1->created);
    CHECK(r1->e.weight == 1);
    CHECK(r1->e.first_seen == "2026-11-22T06:00:00Z");
    CHECK(r1->e.last_seen == "2026-11-22T06:00:00Z");
    CHECK(s.count_vertices().value() == 2); // endpoints created
    req.at = "2026-11-22T07:00:00Z";
    req.props = {{"extra", std::int64_t{3}}};
    auto r2 = s.add_edge(req);
    REQUIRE(r2.ok());
    CHECK_FALSE(r2->created);
    CHECK(r2->e.weight == 2);
    CHECK(r2->e.first_seen == "2026-11-22T06:00:00Z");
    CHECK(r2->e.last_seen == "2026-11-22T07:00:00Z");
    CHECK(prop_string(r2->e.props, "note") == "first");
    CHECK(r2->e.props.count("extra") == 1);
    req.at = "2026-11-22T05:00:00Z";
    auto r3 = s.add_edge(req);
    REQUIRE(r3.ok());
    CHECK(r3->e.first_seen == "2026-11-22T05:00:00Z");
    CHECK(r3->e.last_seen == "2026-11-22T07:00:00Z");
    req.at.clear(); // now
    REQUIRE(s.add_edge(req).ok());
    CHECK(get_edge(s, "a", "b", edge_kind::mention).weight == 4);
    CHECK(s.count_edges().value() == 1);

    // Default kind is link; each kind is its own edge.
    add(s, "a", "b");
    add(s, "a", "b", edge_kind::reply);
    add(s, "b", "a", edge_kind::reply);
    add(s, "a", "c", edge_kind::quote);
    add(s, "c", "a", edge_kind::repost);
    add(s, "c", "c", edge_kind::mention); // self-loop
    CHECK(s.count_edges().value() == 7);
    auto a = s.get_vertex("a");
    REQUIRE(a.ok());
    CHECK(a->out_degree == 4);
    CHECK(a->in_degree == 2);
    auto c = s.get_vertex("c");
    REQUIRE(c.ok());
    CHECK(c->out_degree == 2);
    CHECK(c->in_degree == 2);

    std::vector<edge_key> want = {{"a", "b", edge_kind::mention}, {"a", "b", edge_kind::reply},
                                  {"a", "b", edge_kind::link},    {"a", "c", edge_kind::quote},
                                  {"b", "a", edge_kind::reply},   {"c", "a", edge_kind::repost},
                                  {"c", "c", edge_kind::mention}};
    std::sort(want.begin(), want.end());
    for (std::size_t page : {1u, 2u, 3u, 7u, 50u}) {
      edge_query q;
      q.limit = page;
      CHECK(all_edge_keys(s, q) == want);
    }
    auto filter = [&](std::optional<std::string> f, std::optional<std::string> t,
                      std::optional<edge_kind> k) {
      std::vector<edge_key> out;
      for (const auto& e : want)
        if ((!f || e.from == *f) && (!t || e.to == *t) && (!k || e.kind == *k)) out.push_back(e);
      return out;
    };
    for (std::size_t page : {1u, 2u, 100u}) {
      edge_query q;
      q.limit = page;
      q.from = "a";
      CHECK(all_edge_keys(s, q) == filter("a", std::nullopt, std::nullopt));
      q.to = "b";
      CHECK(all_edge_keys(s, q) == filter("a", "b", std::nullopt));
      q.kind = edge_kind::reply;
      CHECK(all_edge_keys(s, q) == filter("a", "b", edge_kind::reply));
      q.from.reset();
      CHECK(all_edge_keys(s, q) == filter(std::nullopt, "b", edge_kind::reply));
      q.to = "a";
      q.kind.reset();
      CHECK(all_edge_keys(s, q) == filter(std::nullopt, "a", std::nullopt));
      q.to.reset();
      q.kind = edge_kind::mention;
      CHECK(all_edge_keys(s, q) == filter(std::nullopt, std::nullopt, edge_kind::mention));
    }
    edge_query none;
    none.from = "zz";
    CHECK(s.list_edges(none)->edges.empty());
    none.from.reset();
    none.to = "zz";
    CHECK(s.list_edges(none)->edges.empty());
  }

  SUBCASE("neighbors: heaviest first, then by id; direction and kind") {
    for (int i = 0; i < 3; ++i) add(s, "hub", "x", edge_kind::mention);
    add(s, "hub", "b", edge_kind::mention);
    add(s, "hub", "a", edge_kind::mention);
    for (int i = 0; i < 2; ++i) add(s, "y", "hub", edge_kind::reply);
    add(s, "hub", "y", edge_kind::quote);
    auto both = s.neighbors("hub", {});
    REQUIRE(both.ok());
    REQUIRE(both->size() == 5);
    CHECK((*both)[0].id == "x");
    CHECK((*both)[0].weight == 3);
    CHECK((*both)[0].dir == direction::out);
    CHECK((*both)[0].kind == edge_kind::mention);
    CHECK((*both)[1].id == "y");
    CHECK((*both)[1].weight == 2);
    CHECK((*both)[1].dir == direction::in);
    CHECK((*both)[1].kind == edge_kind::reply);
    CHECK((*both)[2].id == "a");
    CHECK((*both)[3].id == "b");
    CHECK((*both)[4].id == "y");
    CHECK((*both)[4].kind == edge_kind::quote);

    neighbor_query q;
    q.dir = direction::in;
    auto in = s.neighbors("hub", q);
    REQUIRE(in.ok());
    REQUIRE(in->size() == 1);
    CHECK((*in)[0].id == "y");
    q.dir = direction::out;
    q.kind = edge_kind::mention;
    auto out = s.neighbors("hub", q);
    REQUIRE(out.ok());
    CHECK(out->size() == 3);
    q.limit = 2;
    q.kind.reset();
    q.dir = direction::both;
    auto lim = s.neighbors("hub", q);
    REQUIRE(lim.ok());
    CHECK(lim->size() == 2);
    REQUIRE(s.put_vertex("lonely", {}, {}).ok());
    auto lonely = s.neighbors("lonely", {});
    REQUIRE(lonely.ok());
    CHECK(lonely->empty());
  }

  SUBCASE("neighbors: equal weight and id are ordered by kind, then direction, also across a limit") {
    // Written in an order unlike the expected one (link is the last kind).
    add(s, "t", "u", edge_kind::link);
    add(s, "u", "t", edge_kind::quote);
    add(s, "t", "u", edge_kind::reply);
    add(s, "u", "t", edge_kind::mention);
    add(s, "t", "u", edge_kind::mention);
    using kd = std::vector<std::pair<edge_kind, direction>>;
    auto kinds_dirs = [&](const neighbor_query& q) {
      auto r = s.neighbors("t", q);
      REQUIRE(r.ok());
      kd out;
      for (const auto& n : *r) out.emplace_back(n.kind, n.dir);
      return out;
    };
    const kd want = {{edge_kind::mention, direction::out}, {edge_kind::mention, direction::in},
                     {edge_kind::reply, direction::out}, {edge_kind::quote, direction::in},
                     {edge_kind::link, direction::out}};
    CHECK(kinds_dirs({}) == want);
    neighbor_query q;
    q.limit = 3;
    CHECK(kinds_dirs(q) == kd(want.begin(), want.begin() + 3));
  }

  SUBCASE("neighbors: a slice filter (kind, hashtag, time, weight, source platform) before the limit") {
    auto mk = [](std::string post, std::string f, std::string fp, std::string t, std::string tp,
                 edge_kind k, std::vector<std::string> tags, std::string at) {
      auto x = make_interaction(std::move(post), std::move(f), std::move(t), k, std::move(tags),
                                std::move(at));
      x.from.platform = std::move(fp);
      x.to.platform = std::move(tp);
      return x;
    };
    // c (twitter) -> a: mention x2, {climate, energy}, 20th..22nd
    // b (mastodon) -> c: reply, 21st          c -> d: repost, {climate}, 23rd
    // e (bluesky) -> c: quote x3, {ai}, 19th  f (no platform) -> c: link, {climate}, 21st
    REQUIRE(s.apply({mk("p1", "c", "twitter", "a", "twitter", edge_kind::mention, {"climate"},
                        "2026-11-20T10:00:00Z"),
                     mk("p2", "c", "twitter", "a", "twitter", edge_kind::mention, {"energy"},
                        "2026-11-22T10:00:00Z"),
                     mk("p3", "b", "mastodon", "c", "", edge_kind::reply, {}, "2026-11-21T10:00:00Z"),
                     mk("p4", "c", "", "d", "", edge_kind::repost, {"climate"}, "2026-11-23T10:00:00Z"),
                     mk("p5", "e", "bluesky", "c", "", edge_kind::quote, {"ai"}, "2026-11-19T10:00:00Z"),
                     mk("p6", "e", "", "c", "", edge_kind::quote, {"ai"}, "2026-11-19T11:00:00Z"),
                     mk("p7", "e", "", "c", "", edge_kind::quote, {"ai"}, "2026-11-19T12:00:00Z"),
                     mk("p8", "f", "", "c", "", edge_kind::link, {"climate"}, "2026-11-21T12:00:00Z")})
                .ok());
    using strings = std::vector<std::string>;
    auto ids = [&](const std::string& v, const neighbor_query& q) {
      auto r = s.neighbors(v, q);
      REQUIRE(r.ok());
      strings out;
      for (const auto& n : *r) out.push_back(n.id + (n.dir == direction::out ? ">" : "<"));
      return out;
    };
    neighbor_query q;
    CHECK(ids("c", q) == strings{"e<", "a>", "b<", "d>", "f<"});

    q.where.hashtags = {"climate"};
    CHECK(ids("c", q) == strings{"a>", "d>", "f<"});
    q.where.hashtags = {"ai", "energy"};
    CHECK(ids("c", q) == strings{"e<", "a>"});
    q.where.hashtags = {"unheard"};
    CHECK(ids("c", q).empty());

    q.where = slice{};
    q.where.since = "2026-11-21T00:00:00Z"; // [first_seen, last_seen] overlaps the window
    q.where.until = "2026-11-21T23:59:59Z";
    CHECK(ids("c", q) == strings{"a>", "b<", "f<"});
    q.where.since = "2026-11-22T10:00:01Z";
    q.where.until.clear();
    CHECK(ids("c", q) == strings{"d>"});
    q.where.since.clear();
    q.where.until = "2026-11-19T23:59:59Z";
    CHECK(ids("c", q) == strings{"e<"});

    q.where = slice{};
    q.where.min_weight = 2;
    CHECK(ids("c", q) == strings{"e<", "a>"});
    q.where.min_weight = 0;
    q.where.kinds = {edge_kind::reply, edge_kind::repost};
    CHECK(ids("c", q) == strings{"b<", "d>"});

    // The platform of each edge's source account, whichever end it is.
    q.where = slice{};
    q.where.platforms = {"mastodon"};
    CHECK(ids("c", q) == strings{"b<"});
    q.where.platforms = {"twitter"};
    CHECK(ids("c", q) == strings{"a>", "d>"});
    q.dir = direction::in;
    CHECK(ids("c", q).empty());
    q.where.platforms = {"bluesky", "mastodon"};
    CHECK(ids("c", q) == strings{"e<", "b<"});
    q.dir = direction::both;

    // The filter comes before the limit: the lightest edge is still found.
    q.where.platforms = {"mastodon"};
    q.limit = 1;
    CHECK(ids("c", q) == strings{"b<"});
    q.where = slice{};
    q.where.hashtags = {"climate"};
    q.where.platforms = {"twitter"};
    q.limit = 100;
    CHECK(ids("c", q) == strings{"a>", "d>"});
    q.kind = edge_kind::repost;
    CHECK(ids("c", q) == strings{"d>"});
    CHECK(s.neighbors("nobody", q).err().code == errc::vertex_not_found);

    // A hub (the memory store orders its neighbours apart from 1,024 edges on).
    std::vector<interaction> batch;
    for (int i = 0; i < 1100; ++i) {
      const std::string n = std::to_string(10000 + i);
      batch.push_back(mk("h" + n, "hub", "twitter", "n" + n, "", edge_kind::mention,
                         i % 100 == 0 ? strings{"rare"} : strings{}, "2026-11-20T10:00:00Z"));
    }
    REQUIRE(s.apply(batch).ok());
    neighbor_query hq;
    hq.limit = 5000;
    hq.where.hashtags = {"rare"};
    auto rare = ids("hub", hq);
    REQUIRE(rare.size() == 11);
    CHECK(rare.front() == "n10000>");
    CHECK(rare.back() == "n11000>");
    hq.where.hashtags.clear();
    hq.where.platforms = {"mastodon"};
    CHECK(ids("hub", hq).empty());
  }

  SUBCASE("shortest_path: undirected, directed, kind, max_depth, same vertex") {
    // a -> b -> c -> d -> e (mention), plus a shortcut e -> a (reply) and
    // x -> c (repost).
    add(s, "a", "b", edge_kind::mention);
    add(s, "b", "c", edge_kind::mention);
    add(s, "c", "d", edge_kind::mention);
    add(s, "d", "e", edge_kind::mention);
    add(s, "e", "a", edge_kind::reply);
    add(s, "x", "c", edge_kind::repost);

    path_query undirected;
    auto p1 = s.shortest_path("a", "e", undirected);
    REQUIRE(p1.ok());
    check_path(s, *p1, "a", "e", 1, false);

    path_query directed;
    directed.directed = true;
    auto p2 = s.shortest_path("a", "e", directed);
    REQUIRE(p2.ok());
    CHECK(*p2 == std::vector<std::string>{"a", "b", "c", "d", "e"});
    auto p3 = s.shortest_path("e", "b", directed);
    REQUIRE(p3.ok());
    CHECK(*p3 == std::vector<std::string>{"e", "a", "b"});
    CHECK(s.shortest_path("a", "x", directed).err().code == errc::no_path);
    auto p4 = s.shortest_path("a", "x", undirected);
    REQUIRE(p4.ok());
    check_path(s, *p4, "a", "x", 3, false);

    path_query mentions;
    mentions.kind = edge_kind::mention;
    auto p5 = s.shortest_path("a", "e", mentions);
    REQUIRE(p5.ok());
    CHECK(p5->size() == 5);
    check_path(s, *p5, "a", "e", 4, false, edge_kind::mention);
    mentions.max_depth = 3;
    CHECK(s.shortest_path("a", "e", mentions).err().code == errc::no_path);
    mentions.max_depth = 4;
    CHECK(s.shortest_path("a", "e", mentions).ok());
    path_query reposts;
    reposts.kind = edge_kind::repost;
    CHECK(s.shortest_path("a", "x", reposts).err().code == errc::no_path);

    path_query shallow;
    shallow.max_depth = 1;
    CHECK(s.shortest_path("a", "c", shallow).err().code == errc::no_path);
    shallow.max_depth = 2;
    auto p6 = s.shortest_path("a", "c", shallow);
    REQUIRE(p6.ok());
    check_path(s, *p6, "a", "c", 2, false);

    auto same = s.shortest_path("c", "c", {});
    REQUIRE(same.ok());
    CHECK(*same == std::vector<std::string>{"c"});

    // A longer chain with a branch: the fewest hops win.
    for (int i = 0; i < 10; ++i) add(s, "l" + std::to_string(i), "l" + std::to_string(i + 1));
    add(s, "l0", "m");
    add(s, "m", "l10");
    path_query deep;
    deep.max_depth = 32;
    auto p7 = s.shortest_path("l0", "l10", deep);
    REQUIRE(p7.ok());
    CHECK(*p7 == std::vector<std::string>{"l0", "m", "l10"});
    REQUIRE(s.remove_vertex("m").ok());
    auto p8 = s.shortest_path("l0", "l10", deep);
    REQUIRE(p8.ok());
    CHECK(p8->size() == 11);
    deep.max_depth = 9;
    CHECK(s.shortest_path("l0", "l10", deep).err().code == errc::no_path);
  }

  SUBCASE("remove_vertex returns exactly what it removed; restore puts it back") {
    properties props{{"handle", std::string("h")}, {"location", std::string("Lyon")},
                     {"first_seen", std::string("2026-11-20T01:02:03Z")},
                     {"custom", std::int64_t{-5}}, {"flag", false}};
    REQUIRE(s.put_vertex("v", props, {}).ok());
    std::vector<interaction> batch = {
        make_interaction("p1", "v", "w", edge_kind::mention, {"tag1", "tag2"}, "2026-11-21T00:00:00Z"),
        make_interaction("p2", "v", "w", edge_kind::mention, {"tag3"}, "2026-11-22T00:00:00Z"),
        make_interaction("p3", "u", "v", edge_kind::reply, {}, "2026-11-21T12:00:00Z")};
    REQUIRE(s.apply(batch).ok());
    add_edge_request req;
    req.key = {"v", "v", edge_kind::link};
    req.props = {{"why", std::string("self")}};
    req.at = "2026-11-22T08:00:00Z";
    REQUIRE(s.add_edge(req).ok());
    auto before = s.get_vertex("v");
    REQUIRE(before.ok());
    const auto vw_before = get_edge(s, "v", "w", edge_kind::mention);
    const auto uv_before = get_edge(s, "u", "v", edge_kind::reply);
    const auto vv_before = get_edge(s, "v", "v", edge_kind::link);
    CHECK(vw_before.weight == 2);
    CHECK(vw_before.hashtags == std::vector<std::string>{"tag1", "tag2", "tag3"});

    auto removed = s.remove_vertex("v");
    REQUIRE(removed.ok());
    REQUIRE(removed->removed_vertex.has_value());
    CHECK(removed->removed_vertex->id == "v");
    CHECK(removed->removed_vertex->props == before->v.props);
    CHECK(removed->edges.size() == 3);
    CHECK(s.count_edges().value() == 0);
    CHECK(s.count_vertices().value() == 2);
    CHECK(s.get_vertex("w")->in_degree == 0);

    // Re-created meanwhile with other properties: restore overwrites them.
    REQUIRE(s.put_vertex("v", {{"handle", std::string("impostor")}}, {}).ok());
    REQUIRE(s.remove_vertex("w").ok());
    REQUIRE(s.restore(*removed).ok());
    auto after = s.get_vertex("v");
    REQUIRE(after.ok());
    CHECK(after->v.props == before->v.props);
    CHECK(after->in_degree == before->in_degree);
    CHECK(after->out_degree == before->out_degree);
    auto w = s.get_vertex("w");
    REQUIRE(w.ok()); // re-created bare
    CHECK(w->v.props.empty());
    for (const auto& want : {vw_before, uv_before, vv_before}) {
      const auto got = get_edge(s, want.key.from, want.key.to, want.key.kind);
      CHECK(got.weight == want.weight);
      CHECK(got.hashtags == want.hashtags);
      CHECK(got.first_seen == want.first_seen);
      CHECK(got.last_seen == want.last_seen);
      CHECK(got.props == want.props);
    }
    CHECK(s.count_edges().value() == 3);
  }

  SUBCASE("remove_edges: one kind or all; restore overwrites an edge of the same key") {
    add(s, "a", "b", edge_kind::mention);
    add(s, "a", "b", edge_kind::mention);
    add(s, "a", "b", edge_kind::reply);
    add(s, "b", "a", edge_kind::reply);
    auto one = s.remove_edges("a", "b", edge_kind::reply);
    REQUIRE(one.ok());
    CHECK_FALSE(one->removed_vertex.has_value());
    REQUIRE(one->edges.size() == 1);
    CHECK(one->edges[0].key == edge_key{"a", "b", edge_kind::reply});
    CHECK(s.count_edges().value() == 2);
    auto all = s.remove_edges("a", "b", std::nullopt);
    REQUIRE(all.ok());
    REQUIRE(all->edges.size() == 1);
    CHECK(all->edges[0].weight == 2);
    CHECK(s.count_edges().value() == 1); // b -> a stays
    CHECK(s.count_vertices().value() == 2);

    add(s, "a", "b", edge_kind::mention); // a new edge with the same key
    REQUIRE(s.restore(*all).ok());
    CHECK(get_edge(s, "a", "b", edge_kind::mention).weight == 2);
    REQUIRE(s.restore(*one).ok());
    CHECK(s.count_edges().value() == 3);

    // Restoring edges whose endpoints are gone re-creates them bare.
    REQUIRE(s.remove_vertex("a").ok());
    REQUIRE(s.restore(*one).ok());
    CHECK(s.get_vertex("a")->v.props.empty());
    CHECK(get_edge(s, "a", "b", edge_kind::reply).weight == 1);
  }

  SUBCASE("apply: upserts accounts, widens times, adds weight, merges hashtags") {
    auto x1 = make_interaction("twitter:p1", "twitter:1", "twitter:2", edge_kind::mention,
                               {"climate", "cop30"}, "2026-11-21T10:00:00Z");
    x1.from.platform = "twitter";
    x1.from.handle = "alice";
    x1.from.location = "  Paris,   France ";
    x1.to.platform = "twitter";
    x1.to.handle = "bob";
    auto x2 = make_interaction("twitter:p2", "twitter:1", "twitter:2", edge_kind::mention,
                               {"climate", "energy"}, "2026-11-20T10:00:00Z");
    x2.from.name = "Alice A.";     // new field
    x2.from.handle = "";           // unknown: keeps "alice"
    auto x3 = make_interaction("twitter:p3", "twitter:2", "twitter:1", edge_kind::reply, {},
                               "2026-11-22T10:00:00Z");
    x3.from.handle = "bobby";      // overwrites
    REQUIRE(s.apply({x1, x2}).ok());
    REQUIRE(s.apply({x3}).ok());
    REQUIRE(s.apply({}).ok());

    CHECK(s.count_vertices().value() == 2);
    CHECK(s.count_edges().value() == 2);
    auto e = get_edge(s, "twitter:1", "twitter:2", edge_kind::mention);
    CHECK(e.weight == 2);
    CHECK(e.hashtags == std::vector<std::string>{"climate", "cop30", "energy"});
    CHECK(e.first_seen == "2026-11-20T10:00:00Z");
    CHECK(e.last_seen == "2026-11-21T10:00:00Z");
    auto r = get_edge(s, "twitter:2", "twitter:1", edge_kind::reply);
    CHECK(r.weight == 1);
    CHECK(r.hashtags.empty());

    auto a = s.get_vertex("twitter:1");
    REQUIRE(a.ok());
    CHECK(prop_string(a->v.props, "platform") == "twitter");
    CHECK(prop_string(a->v.props, "handle") == "alice");
    CHECK(prop_string(a->v.props, "name") == "Alice A.");
    CHECK(prop_string(a->v.props, "location") == "  Paris,   France ");
    CHECK(prop_string(a->v.props, "first_seen") == "2026-11-20T10:00:00Z");
    CHECK(prop_string(a->v.props, "last_seen") == "2026-11-22T10:00:00Z");
    auto b = s.get_vertex("twitter:2");
    REQUIRE(b.ok());
    CHECK(prop_string(b->v.props, "handle") == "bobby");
    CHECK(b->out_degree == 1);
    CHECK(b->in_degree == 1);

    // The same interaction applied twice counts twice: de-duplication is the
    // caller's job.
    REQUIRE(s.apply({x1}).ok());
    CHECK(get_edge(s, "twitter:1", "twitter:2", edge_kind::mention).weight == 3);
  }

  SUBCASE("scan: the whole graph, and slices by kind, hashtag, time, weight, platform") {
    auto mk = [](std::string post, std::string f, std::string fp, std::string t, edge_kind k,
                 std::vector<std::string> tags, std::string at) {
      auto x = make_interaction(std::move(post), std::move(f), std::move(t), k, std::move(tags),
                                std::move(at));
      x.from.platform = fp;
      x.to.platform = fp;
      return x;
    };
    REQUIRE(s.apply({mk("twitter:1", "twitter:a", "twitter", "twitter:b", edge_kind::mention,
                        {"climate"}, "2026-11-20T10:00:00Z"),
                     mk("twitter:2", "twitter:a", "twitter", "twitter:b", edge_kind::mention,
                        {"energy"}, "2026-11-22T10:00:00Z"),
                     mk("twitter:3", "twitter:b", "twitter", "twitter:c", edge_kind::reply, {},
                        "2026-11-21T10:00:00Z"),
                     mk("mastodon:4", "mastodon:x", "mastodon", "mastodon:y", edge_kind::repost,
                        {"climate"}, "2026-11-23T10:00:00Z")})
                .ok());
    REQUIRE(s.put_vertex("lonely", {}, {}).ok());

    struct collect : scan_sink {
      std::vector<std::string> ids;
      std::vector<std::string> keys;
      status vertices(std::vector<vertex_view>& chunk) override {
        for (auto& v : chunk) ids.push_back(v.v.id);
        return ok_v;
      }
      status edges(std::vector<edge>& chunk) override {
        for (auto& e : chunk)
          keys.push_back(e.key.from + ">" + e.key.to + ":" + std::string(to_string(e.key.kind)) +
                                "=" + std::to_string(e.weight));
        return ok_v;
      }
    };
    auto run = [&](const slice& sl) {
      collect c;
      REQUIRE(s.scan(sl, c).ok());
      std::sort(c.ids.begin(), c.ids.end());
      std::sort(c.keys.begin(), c.keys.end());
      return c;
    };
    using strings = std::vector<std::string>;

    auto all = run(slice{});
    CHECK(all.ids == strings{"lonely", "mastodon:x", "mastodon:y", "twitter:a", "twitter:b",
                                  "twitter:c"});
    CHECK(all.keys == strings{"mastodon:x>mastodon:y:repost=1", "twitter:a>twitter:b:mention=2",
                               "twitter:b>twitter:c:reply=1"});

    slice by_kind;
    by_kind.kinds = {edge_kind::reply, edge_kind::repost};
    auto k = run(by_kind);
    CHECK(k.ids == strings{"mastodon:x", "mastodon:y", "twitter:b", "twitter:c"});
    CHECK(k.keys == strings{"mastodon:x>mastodon:y:repost=1", "twitter:b>twitter:c:reply=1"});

    slice by_tag;
    by_tag.hashtags = {"energy"};
    CHECK(run(by_tag).keys == strings{"twitter:a>twitter:b:mention=2"});

    // [first_seen, last_seen] overlaps [since, until].
    slice window;
    window.since = "2026-11-21T00:00:00Z";
    window.until = "2026-11-21T23:59:59Z";
    CHECK(run(window).keys == strings{"twitter:a>twitter:b:mention=2", "twitter:b>twitter:c:reply=1"});
    window.since = "2026-11-22T10:00:01Z";
    window.until.clear();
    CHECK(run(window).keys == strings{"mastodon:x>mastodon:y:repost=1"});

    slice heavy;
    heavy.min_weight = 2;
    auto h = run(heavy);
    CHECK(h.ids == strings{"twitter:a", "twitter:b"});
    CHECK(h.keys == strings{"twitter:a>twitter:b:mention=2"});

    slice on;
    on.platforms = {"mastodon"};
    on.hashtags = {"climate"};
    auto m = run(on);
    CHECK(m.ids == strings{"mastodon:x", "mastodon:y"});
    CHECK(m.keys == strings{"mastodon:x>mastodon:y:repost=1"});

    // The sink's error stops the scan and comes back.
    struct refuse : scan_sink {
      int calls = 0;
      status vertices(std::vector<vertex_view>&) override {
        ++calls;
        return error{errc::invalid_argument, "stop"};
      }
      status edges(std::vector<edge>&) override {
        ++calls;
        return ok_v;
      }
    } r;
    auto st = s.scan(slice{}, r);
    REQUIRE_FALSE(st.ok());
    CHECK(st.err().message == "stop");
    CHECK(r.calls == 1);
  }

  SUBCASE("location_flows: grouped by normalised location, heaviest first") {
    auto mk = [](std::string post, std::string f, std::string floc, std::string t,
                 std::string tloc) {
      auto x = make_interaction(std::move(post), std::move(f), std::move(t), edge_kind::mention,
                                {}, "2026-11-22T00:00:00Z");
      x.from.location = std::move(floc);
      x.to.location = std::move(tloc);
      return x;
    };
    REQUIRE(s.apply({mk("1", "a", "Paris", "b", "Berlin"), mk("2", "a", "Paris", "b", "Berlin"),
                     mk("3", "c", " PARIS ", "d", "berlin"), mk("4", "e", "", "a", ""),
                     mk("5", "f", "Rome", "g", ""), mk("6", "h", "", "i", "")})
                .ok());
    auto flows = s.location_flows(10);
    REQUIRE(flows.ok());
    REQUIRE(flows->size() == 4);
    // Ties (weight, then edges) by from, then to; unknown after known.
    using loc = std::optional<std::string>;
    CHECK((*flows)[1].from_location == loc("rome"));
    CHECK((*flows)[1].to_location == std::nullopt);
    CHECK((*flows)[2].from_location == std::nullopt);
    CHECK((*flows)[2].to_location == loc("paris"));
    CHECK((*flows)[3].from_location == std::nullopt);  // unknown to unknown is a flow too
    CHECK((*flows)[3].to_location == std::nullopt);
    CHECK((*flows)[0].from_location == std::optional<std::string>("paris"));
    CHECK((*flows)[0].to_location == std::optional<std::string>("berlin"));
    CHECK((*flows)[0].weight == 3);
    CHECK((*flows)[0].edges == 2);
    bool saw_unknown_from = false;
    for (const auto& f : *flows)
      if (!f.from_location && f.to_location == std::optional<std::string>("paris")) {
        saw_unknown_from = true;
        CHECK(f.weight == 1);
      }
    CHECK(saw_unknown_from);
    auto top = s.location_flows(1);
    REQUIRE(top.ok());
    CHECK(top->size() == 1);
  }

  SUBCASE("concurrent readers and writers") {
    constexpr int writers = 2;
    constexpr int per_writer = 200;
    std::atomic<bool> failed{false};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
      threads.emplace_back([&, w] {
        for (int i = 0; i < per_writer; ++i) {
          const std::string a = "w" + std::to_string(w) + ":" + std::to_string(i);
          const std::string b = "w" + std::to_string(w) + ":" + std::to_string(i + 1);
          add_edge_request req;
          req.key = {a, b, edge_kind::mention};
          if (!s.add_edge(req).ok()) failed = true;
          if (i % 10 == 0 && !s.put_vertex(a, {{"i", std::int64_t{i}}}, {}).ok()) failed = true;
        }
      });
    for (int r = 0; r < 2; ++r)
      threads.emplace_back([&] {
        for (int i = 0; i < 100; ++i) {
          if (!s.count_vertices().ok() || !s.list_vertices({}).ok() || !s.list_edges({}).ok())
            failed = true;
          auto p = s.shortest_path("w0:0", "w0:5", {});
          if (!p.ok() && p.err().code != errc::vertex_not_found && p.err().code != errc::no_path)
            failed = true;
        }
      });
    for (auto& t : threads) t.join();
    CHECK_FALSE(failed.load());
    CHECK(s.count_edges().value() == writers * per_writer);
    CHECK(s.count_vertices().value() == writers * (per_writer + 1));
    auto p = s.shortest_path("w1:0", "w1:6", {});
    REQUIRE(p.ok());
    CHECK(p->size() == 7);
  }
}
