// The analytics routes (docs/analytics.md) against the real binary on
// loopback: small graphs whose answers are known by hand, every bad input as
// a JSON error, the size cap, and the background refresh of the whole-graph
// snapshot. /graph and the filtered ego networks run the same checks on the
// memory store and on the Gremlin store (the Gremlin test server).
#include <chrono>
#include <cmath>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include <sys/stat.h>

#include <doctest/doctest.h>

#include "support/api_client.hpp"
#include "support/gremlin_test_server.hpp"
#include "support/service_process.hpp"
#include "support/temp_dir.hpp"

using namespace tlflow::test;

namespace {

// A service of its own per test case: the whole-graph answers see every
// account, so test cases must not share one. No background refresh: every
// answer is computed from the store at the request.
struct fresh_service {
  service_process s;
  explicit fresh_service(std::vector<std::string> extra = {})
      : s(service_process::options{with(std::move(extra)), {}, {}}) {
    if (!s.start()) FAIL("tlflow did not start: " << s.stderr_text());
  }
  static std::vector<std::string> with(std::vector<std::string> extra) {
    std::vector<std::string> a{"--ephemeral"};
    bool refresh = false;
    for (const auto& e : extra) refresh = refresh || e == "--analytics-refresh";
    if (!refresh) a.insert(a.end(), {"--analytics-refresh", "0"});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  void link(const std::string& from, const std::string& to, const std::string& kind = "link",
            int times = 1) {
    for (int i = 0; i < times; ++i) {
      auto r = s.request("POST", "/edges",
                         R"({"from":")" + from + R"(","to":")" + to + R"(","kind":")" + kind + "\"}");
      REQUIRE((r.status == 201 || r.status == 200));
    }
  }
  void put(const std::string& id, const std::string& body = {}) {
    auto r = s.request("PUT", "/vertices/" + pct(id), body);
    REQUIRE((r.status == 201 || r.status == 200));
  }
  rapidjson::Document get(const std::string& target, int status = 200) {
    auto r = s.get(target);
    CAPTURE(target);
    CAPTURE(r.body);
    CHECK(r.status == status);
    return json_of(r);
  }
};

std::vector<std::string> ranked_ids(const rapidjson::Document& d) {
  std::vector<std::string> out;
  for (const auto& r : d["rankings"].GetArray()) out.push_back(str(r, "id"));
  return out;
}

// The rankings graph: a→b mention ×2 and reply ×1, b→c, c→a, d→a; e alone.
void rankings_graph(fresh_service& f) {
  f.link("r:a", "r:b", "mention", 2);
  f.link("r:a", "r:b", "reply");
  f.link("r:b", "r:c");
  f.link("r:c", "r:a");
  f.link("r:d", "r:a");
  f.put("r:e", R"({"properties":{"handle":"eve","platform":"twitter"}})");
}

} // namespace

TEST_CASE("GET /rankings: every score, ties by id, kinds merged, filters, bad input") {
  fresh_service f;
  rankings_graph(f);
  auto d = f.get("/rankings?by=in_weight");
  CHECK(str(d, "by") == "in_weight");
  CHECK(d["vertices"].GetUint64() == 5);
  CHECK(d["edges"].GetUint64() == 5);
  CHECK(d["cached"].IsFalse());
  CHECK(d["age_seconds"].IsUint64());
  CHECK(str(d, "computed_at").size() == 20);
  CHECK(ranked_ids(d) == std::vector<std::string>{"r:b", "r:a", "r:c", "r:d", "r:e"});
  CHECK(d["rankings"][0]["score"].GetUint64() == 3);
  CHECK(d["rankings"][0]["rank"].GetUint64() == 1);
  CHECK(d["rankings"][4]["rank"].GetUint64() == 5);
  CHECK(str(d["rankings"][4], "handle") == "eve");
  CHECK(ranked_ids(f.get("/rankings?by=in_degree")) ==
        std::vector<std::string>{"r:a", "r:b", "r:c", "r:d", "r:e"});
  CHECK(ranked_ids(f.get("/rankings?by=out_weight&limit=4")) ==
        std::vector<std::string>{"r:a", "r:b", "r:c", "r:d"});
  CHECK(f.get("/rankings?by=out_degree")["rankings"][0]["score"].GetUint64() == 1); // a→b merged

  d = f.get("/rankings?limit=1000");
  CHECK(str(d, "by") == "pagerank");
  CHECK(d["pagerank"]["converged"].IsTrue());
  // Per request (no background): a cold run to convergence, bounded by
  // tolerance · d / (1 − d).
  CHECK(d["pagerank"]["warm_start"].IsFalse());
  CHECK(d["pagerank"]["refresh_iterations"].GetUint() == 0);
  CHECK(d["pagerank"]["refreshes"].GetUint() == 1);
  CHECK(d["pagerank"]["iterations"].GetUint() > 0);
  CHECK(d["pagerank"]["tolerance"].GetDouble() == 1e-10);
  CHECK(d["pagerank"]["error_bound"].GetDouble() <= 1e-10 * 0.85 / 0.15);
  CHECK(d["pagerank"]["last_change"].GetDouble() < 1e-10);
  CHECK(d["pagerank"]["updated_age_seconds"].GetUint64() <= 5);
  CHECK(str(d["pagerank"], "updated_at").size() == 20);
  double sum = 0;
  for (const auto& r : d["rankings"].GetArray()) sum += r["score"].GetDouble();
  CHECK(sum == doctest::Approx(1.0).epsilon(1e-9));
  CHECK(str(d["rankings"][0], "id") == "r:a");

  d = f.get("/rankings?by=betweenness");
  CHECK(d["betweenness"]["exact"].IsTrue());
  CHECK(d["betweenness"]["error_bound"].GetDouble() == 0.0);
  CHECK(str(d["rankings"][0], "id") == "r:a"); // every path from d runs through a

  d = f.get("/rankings?by=in_weight&kind=mention");
  CHECK(d["vertices"].GetUint64() == 2);
  CHECK(ranked_ids(d) == std::vector<std::string>{"r:b", "r:a"});
  CHECK(d["rankings"][0]["score"].GetUint64() == 2);
  CHECK(f.get("/rankings?min_weight=2")["edges"].GetUint64() == 1);
  CHECK(f.get("/rankings?since=2000-01-01&until=2000-01-02")["vertices"].GetUint64() == 0);

  expect_error(f.s.get("/rankings?by=charisma"), 400, "invalid_argument");
  expect_error(f.s.get("/rankings?limit=0"), 400, "invalid_argument");
  expect_error(f.s.get("/rankings?limit=1001"), 400, "invalid_argument");
  expect_error(f.s.get("/rankings?since=yesterday"), 400, "invalid_argument");
  expect_error(f.s.get("/rankings?since=2026-02-01&until=2026-01-01"), 400, "invalid_argument");
  expect_error(f.s.get("/rankings?kind=hug"), 400, "invalid_argument");
  expect_error(f.s.get("/rankings?platform=myspace"), 400, "invalid_argument");
}

namespace {

// The /graph checks, on the store the extra arguments choose.
void graph_route_checks(std::vector<std::string> store_args) {
  fresh_service f(std::move(store_args));
  rankings_graph(f);
  f.put("r:a", R"({"properties":{"handle":"ann","name":"Ann","platform":"twitter","location":"Quito"}})");
  auto node_ids = [](const rapidjson::Document& d) {
    std::vector<std::string> out;
    for (const auto& n : d["nodes"].GetArray()) out.push_back(str(n, "id"));
    return out;
  };
  auto edge_keys = [](const rapidjson::Document& d) {
    std::vector<std::string> out;
    for (const auto& e : d["edges"].GetArray())
      out.push_back(str(e, "from") + ">" + str(e, "to") + ":" + str(e, "kind") + "=" +
                    std::to_string(e["weight"].GetUint64()));
    return out;
  };

  // Everything: 5 accounts, every store edge (one per kind) in (from, to, kind) order.
  auto d = f.get("/graph");
  CHECK(str(d, "by") == "pagerank");
  CHECK(d["limit"].GetUint64() == 500);
  CHECK(d["accounts"].GetUint64() == 5);
  CHECK(d["slice_edges"].GetUint64() == 5);
  CHECK(d["truncated"].IsFalse());
  CHECK(d["cached"].IsFalse());
  CHECK(d["age_seconds"].IsUint64());
  CHECK(d["age_ms"].IsUint64());
  CHECK(str(d, "computed_at").size() == 20);
  CHECK(d["pagerank"]["converged"].IsTrue());
  CHECK(node_ids(d) == ranked_ids(f.get("/rankings?limit=5")));
  CHECK(edge_keys(d) == std::vector<std::string>{"r:a>r:b:mention=2", "r:a>r:b:reply=1",
                                                 "r:b>r:c:link=1", "r:c>r:a:link=1",
                                                 "r:d>r:a:link=1"});
  const auto& ann = d["nodes"][0];
  CHECK(str(ann, "id") == "r:a");
  CHECK(str(ann, "handle") == "ann");
  CHECK(str(ann, "name") == "Ann");
  CHECK(str(ann, "platform") == "twitter");
  CHECK(str(ann, "location") == "Quito");
  CHECK(ann["rank"].GetUint64() == 1);
  CHECK(ann["score"].GetDouble() ==
        f.get("/rankings?limit=1")["rankings"][0]["score"].GetDouble());
  // Louvain seed 0 of the same slice, as /communities numbers it.
  REQUIRE(d["community"].IsObject());
  CHECK(str(d["community"], "algorithm") == "louvain");
  auto parts = f.get("/communities");
  CHECK(d["community"]["count"].GetUint() == parts["count"].GetUint());
  CHECK(d["community"]["modularity"].GetDouble() == parts["modularity"].GetDouble());
  for (const auto& n : d["nodes"].GetArray())
    for (const auto& a : parts["accounts"].GetArray())
      if (str(a, "id") == str(n, "id")) CHECK(n["community"].GetUint() == a["community"].GetUint());

  // The top 3 by in_weight (b 3, a 2, c 1): only the edges whose two ends are kept.
  d = f.get("/graph?by=in_weight&limit=3");
  CHECK(node_ids(d) == std::vector<std::string>{"r:b", "r:a", "r:c"});
  CHECK(d["nodes"][0]["score"].GetUint64() == 3);
  CHECK(d["nodes"][2]["rank"].GetUint64() == 3);
  CHECK(d["truncated"].IsTrue());
  CHECK(d["accounts"].GetUint64() == 5);
  CHECK(edge_keys(d) == std::vector<std::string>{"r:a>r:b:mention=2", "r:a>r:b:reply=1",
                                                 "r:b>r:c:link=1", "r:c>r:a:link=1"});
  CHECK(node_ids(f.get("/graph?by=out_degree&limit=2")) ==
        ranked_ids(f.get("/rankings?by=out_degree&limit=2")));
  d = f.get("/graph?by=betweenness&limit=2");
  CHECK(d["betweenness"]["exact"].IsTrue());
  CHECK(node_ids(d) == ranked_ids(f.get("/rankings?by=betweenness&limit=2")));

  // A slice: its accounts are the ends of its edges.
  d = f.get("/graph?kind=mention,reply&by=in_weight");
  CHECK(d["accounts"].GetUint64() == 2);
  CHECK(d["truncated"].IsFalse());
  CHECK(node_ids(d) == std::vector<std::string>{"r:b", "r:a"});
  CHECK(edge_keys(d) == std::vector<std::string>{"r:a>r:b:mention=2", "r:a>r:b:reply=1"});
  d = f.get("/graph?min_weight=2");
  CHECK(edge_keys(d) == std::vector<std::string>{"r:a>r:b:mention=2"});
  d = f.get("/graph?since=2000-01-01&until=2000-01-02");
  CHECK(d["accounts"].GetUint64() == 0);
  CHECK(d["nodes"].Size() == 0);
  CHECK(d["edges"].Size() == 0);
  CHECK(f.get("/graph?limit=10000")["nodes"].Size() == 5);

  expect_error(f.s.get("/graph?by=charisma"), 400, "invalid_argument");
  expect_error(f.s.get("/graph?limit=0"), 400, "invalid_argument");
  expect_error(f.s.get("/graph?limit=10001"), 400, "invalid_argument");
  expect_error(f.s.get("/graph?limit=ten"), 400, "invalid_argument");
  expect_error(f.s.get("/graph?since=yesterday"), 400, "invalid_argument");
  expect_error(f.s.get("/graph?since=2026-02-01&until=2026-01-01"), 400, "invalid_argument");
  expect_error(f.s.get("/graph?kind=hug"), 400, "invalid_argument");
  expect_error(f.s.get("/graph?platform=myspace"), 400, "invalid_argument");
}

} // namespace

TEST_CASE("GET /graph: the ranking's top accounts, the edges among them, communities, bad input") {
  SUBCASE("memory store") { graph_route_checks({}); }
  SUBCASE("gremlin store") {
    gremlin_test_server gremlin;
    graph_route_checks({"--store", "gremlin", "--gremlin-url", gremlin.url()});
  }
}

TEST_CASE("GET /graph: no communities for a filtered slice over --analytics-graph-communities") {
  fresh_service f({"--analytics-graph-communities", "5"});
  rankings_graph(f); // 5 accounts, 5 edges
  auto d = f.get("/graph?kind=mention,reply"); // 2 + 2
  REQUIRE(d["community"].IsObject());
  CHECK(d["nodes"][0]["community"].IsUint());
  d = f.get("/graph?kind=mention,reply,link"); // 4 + 5
  CHECK(d["community"].IsNull());
  REQUIRE(d["nodes"].Size() == 4);
  CHECK(d["nodes"][0]["community"].IsNull());
  CHECK(d["edges"].Size() == 5);
  CHECK(f.get("/graph")["community"].IsNull()); // read at the request (no background here)
}

TEST_CASE("GET /graph from the background snapshot: cached, with its communities") {
  // The snapshot computed them: whatever the size.
  fresh_service f({"--analytics-refresh", "3600", "--analytics-graph-communities", "0"});
  rankings_graph(f);
  auto d = f.get("/graph?limit=2");
  CHECK(d["cached"].IsTrue());
  CHECK(d["nodes"].Size() == 2);
  CHECK(d["truncated"].IsTrue());
  REQUIRE(d["community"].IsObject());
  CHECK(d["nodes"][0]["community"].IsUint());
}

TEST_CASE("GET /communities and /vertices/{id}/community: two cliques, deterministic, paged") {
  fresh_service f;
  for (const char* side : {"c:a", "c:b"})
    for (int i = 1; i <= 4; ++i)
      for (int j = 1; j <= 4; ++j)
        if (i != j) f.link(side + std::to_string(i), side + std::to_string(j));
  f.link("c:a1", "c:b1");

  for (const char* algorithm : {"louvain", "label_propagation"}) {
    CAPTURE(algorithm);
    auto d = f.get(std::string("/communities?algorithm=") + algorithm);
    CHECK(str(d, "algorithm") == algorithm);
    CHECK(d["count"].GetUint() == 2);
    CHECK(d["modularity"].GetDouble() > 0.4);
    REQUIRE(d["communities"].Size() == 2);
    CHECK(d["communities"][0]["size"].GetUint64() == 4);
    CHECK(d["communities"][0]["top_accounts"].Size() == 4);
    const auto& accounts = d["accounts"];
    REQUIRE(accounts.Size() == 8);
    for (unsigned i = 1; i < 4; ++i) {
      CHECK(accounts[i]["community"].GetUint() == accounts[0]["community"].GetUint());
      CHECK(accounts[4 + i]["community"].GetUint() == accounts[4]["community"].GetUint());
    }
    CHECK(accounts[0]["community"].GetUint() != accounts[4]["community"].GetUint());
    CHECK(d["next_cursor"].IsNull());
  }
  // The same graph and seed: the same partition.
  auto a = f.get("/communities?seed=7"), b = f.get("/communities?seed=7");
  CHECK(a["accounts"] == b["accounts"]);
  CHECK(a["communities"] == b["communities"]);

  // Paged by id.
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto d = f.get("/communities?limit=3&top=1&communities=1" +
                   (cursor.empty() ? std::string() : "&cursor=" + cursor));
    CHECK(d["communities"].Size() == 1);
    CHECK(d["communities"][0]["top_accounts"].Size() == 1);
    for (const auto& x : d["accounts"].GetArray()) seen.push_back(str(x, "id"));
    if (!d["next_cursor"].IsString()) break;
    cursor = d["next_cursor"].GetString();
  }
  CHECK(seen == std::vector<std::string>{"c:a1", "c:a2", "c:a3", "c:a4", "c:b1", "c:b2", "c:b3", "c:b4"});

  auto one = f.get("/vertices/c%3Ab2/community");
  CHECK(one["size"].GetUint64() == 4);
  CHECK(one["community"].GetUint() == f.get("/communities")["accounts"][5]["community"].GetUint());
  expect_error(f.s.get("/vertices/c%3Anobody/community"), 404, "vertex_not_found");
  expect_error(f.s.get("/communities?algorithm=girvan_newman"), 400, "invalid_argument");
  expect_error(f.s.get("/communities?seed=-1"), 400, "invalid_argument");
  expect_error(f.s.get("/communities?cursor=%21%21"), 400, "invalid_argument");
  expect_error(f.s.get("/communities?until=never"), 400, "invalid_argument");
}

TEST_CASE("GET /vertices/{id}/ego: rings by weight, edges among the nodes, the cut, bad input") {
  fresh_service f;
  f.link("e:1", "e:h", "link", 3);
  f.link("e:h", "e:2", "link", 2);
  f.link("e:h", "e:3");
  f.link("e:1", "e:2");
  f.link("e:2", "e:x");
  f.link("e:3", "e:y", "link", 2);
  f.link("e:y", "e:x");
  auto ids = [](const rapidjson::Document& d) {
    std::vector<std::string> out;
    for (const auto& n : d["nodes"].GetArray()) out.push_back(str(n, "id"));
    return out;
  };
  auto d = f.get("/vertices/e%3Ah/ego");
  CHECK(ids(d) == std::vector<std::string>{"e:h", "e:1", "e:2", "e:3"});
  CHECK(d["edges"].Size() == 4);
  CHECK(d["truncated"].IsFalse());
  CHECK(d["nodes"][1]["weight"].GetUint64() == 3);
  CHECK(d["nodes"][1]["distance"].GetUint() == 1);

  d = f.get("/vertices/e%3Ah/ego?radius=2&limit=10");
  CHECK(ids(d) == std::vector<std::string>{"e:h", "e:1", "e:2", "e:3", "e:y", "e:x"});
  CHECK(d["edges"].Size() == 7);
  CHECK(d["nodes"][4]["distance"].GetUint() == 2);
  CHECK(d["truncated"].IsFalse());

  d = f.get("/vertices/e%3Ah/ego?radius=2&limit=5");
  CHECK(ids(d) == std::vector<std::string>{"e:h", "e:1", "e:2", "e:3", "e:y"});
  CHECK(d["edges"].Size() == 5);
  CHECK(d["truncated"].IsTrue());

  d = f.get("/vertices/e%3Ah/ego?limit=2");
  CHECK(ids(d) == std::vector<std::string>{"e:h", "e:1"});
  CHECK(d["edges"].Size() == 1);
  CHECK(d["truncated"].IsTrue());

  CHECK(ids(f.get("/vertices/e%3Ah/ego?kind=reply")) == std::vector<std::string>{"e:h"});
  CHECK(ids(f.get("/vertices/e%3Ah/ego?min_weight=2")) == std::vector<std::string>{"e:h", "e:1", "e:2"});

  expect_error(f.s.get("/vertices/e%3Ah/ego?radius=3"), 400, "invalid_argument");
  expect_error(f.s.get("/vertices/e%3Ah/ego?radius=0"), 400, "invalid_argument");
  expect_error(f.s.get("/vertices/e%3Ah/ego?since=yesterday"), 400, "invalid_argument");
  expect_error(f.s.get("/vertices/e%3Ah/ego?platform=myspace"), 400, "invalid_argument");
  expect_error(f.s.get("/vertices/e%3Anobody/ego"), 404, "vertex_not_found");
}

namespace {

// One X v2 post: `author` mentions `mentioned` with one hashtag (or none).
std::string x_post(int id, int author, int mentioned, const std::string& tag, const std::string& at) {
  auto user = [](int u) {
    return R"({"id":")" + std::to_string(u) + R"(","name":"U)" + std::to_string(u) +
           R"(","username":"u)" + std::to_string(u) + "\"}";
  };
  std::string hashtags = tag.empty() ? "" : R"(,"hashtags":[{"start":0,"end":1,"tag":")" + tag + "\"}]";
  return R"({"data":{"id":")" + std::to_string(id) + R"(","author_id":")" + std::to_string(author) +
         R"(","created_at":")" + at + R"(","text":"x","entities":{"mentions":[{"start":0,"end":1,"username":"u)" +
         std::to_string(mentioned) + R"(","id":")" + std::to_string(mentioned) + "\"}]" + hashtags +
         R"(}},"includes":{"users":[)" + user(author) + "," + user(mentioned) + "]}}\n";
}

} // namespace

namespace {

void ego_filter_checks(std::vector<std::string> store_args) {
  temp_dir dir;
  const std::string posts = dir.file("posts.ndjson");
  {
    std::ofstream out(posts);
    // 1 -> 100 mention x2 #climate on the 20th; 100 -> 2 #energy on the 22nd;
    // 3 -> 100 untagged on the 21st; 2 -> 4 #climate on the 20th; 1 -> 5
    // #climate on the 21st.
    out << x_post(1, 1, 100, "climate", "2026-11-20T10:00:00.000Z")
        << x_post(2, 1, 100, "climate", "2026-11-20T11:00:00.000Z")
        << x_post(3, 100, 2, "energy", "2026-11-22T10:00:00.000Z")
        << x_post(4, 3, 100, "", "2026-11-21T10:00:00.000Z")
        << x_post(5, 2, 4, "climate", "2026-11-20T12:00:00.000Z")
        << x_post(6, 1, 5, "climate", "2026-11-21T12:00:00.000Z");
  }
  store_args.insert(store_args.end(), {"--source", "file:" + posts});
  fresh_service f(std::move(store_args));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (f.get("/edges/count")["count"].GetUint64() < 5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(f.get("/edges/count")["count"].GetUint64() == 5);
  // 3 moves to another platform: its edge's source platform changes.
  f.put("twitter:3", R"({"properties":{"platform":"mastodon"}})");

  auto ego = [&](const std::string& query) {
    auto d = f.get("/vertices/twitter%3A100/ego?radius=2" + query);
    std::vector<std::string> out;
    for (const auto& n : d["nodes"].GetArray()) out.push_back(str(n, "id"));
    for (const auto& e : d["edges"].GetArray()) out.push_back(str(e, "from") + ">" + str(e, "to"));
    return out;
  };
  using strings = std::vector<std::string>;
  CHECK(ego("") == strings{"twitter:100", "twitter:1", "twitter:2", "twitter:3", "twitter:4", "twitter:5",
                           "twitter:1>twitter:100", "twitter:1>twitter:5", "twitter:100>twitter:2",
                           "twitter:2>twitter:4", "twitter:3>twitter:100"});
  CHECK(ego("&hashtag=climate") == strings{"twitter:100", "twitter:1", "twitter:5",
                                           "twitter:1>twitter:100", "twitter:1>twitter:5"});
  CHECK(ego("&hashtag=%23Energy") == strings{"twitter:100", "twitter:2", "twitter:100>twitter:2"});
  CHECK(ego("&hashtag=energy,climate") ==
        strings{"twitter:100", "twitter:1", "twitter:2", "twitter:4", "twitter:5", "twitter:1>twitter:100",
                "twitter:1>twitter:5", "twitter:100>twitter:2", "twitter:2>twitter:4"});
  CHECK(ego("&hashtag=unheard") == strings{"twitter:100"});
  // [first_seen, last_seen] overlaps [since, until].
  CHECK(ego("&since=2026-11-21&until=2026-11-21") ==
        strings{"twitter:100", "twitter:3", "twitter:3>twitter:100"});
  CHECK(ego("&since=2026-11-22") == strings{"twitter:100", "twitter:2", "twitter:100>twitter:2"});
  CHECK(ego("&until=2026-11-20T23:00:00Z") == strings{"twitter:100", "twitter:1", "twitter:1>twitter:100"});
  // The platform of each edge's source account.
  CHECK(ego("&platform=mastodon") == strings{"twitter:100", "twitter:3", "twitter:3>twitter:100"});
  CHECK(ego("&platform=twitter") ==
        strings{"twitter:100", "twitter:1", "twitter:2", "twitter:4", "twitter:5", "twitter:1>twitter:100",
                "twitter:1>twitter:5", "twitter:100>twitter:2", "twitter:2>twitter:4"});
  CHECK(ego("&platform=twitter&hashtag=climate&kind=mention&min_weight=2") ==
        strings{"twitter:100", "twitter:1", "twitter:1>twitter:100"});
  CHECK(ego("&platform=bluesky") == strings{"twitter:100"});
  // The ring weights are those of the slice's edges.
  auto d = f.get("/vertices/twitter%3A100/ego?hashtag=climate");
  CHECK(d["nodes"][1]["weight"].GetUint64() == 2);
  expect_error(f.s.get("/vertices/twitter%3A100/ego?since=2026-11-22&until=2026-11-21"), 400,
               "invalid_argument");
}

} // namespace

TEST_CASE("GET /vertices/{id}/ego takes every slice filter: hashtag, since/until, platform") {
  SUBCASE("memory store") { ego_filter_checks({}); }
  SUBCASE("gremlin store") {
    gremlin_test_server gremlin;
    ego_filter_checks({"--store", "gremlin", "--gremlin-url", gremlin.url()});
  }
}

TEST_CASE("GET /search: case and accents folded, exact before prefix before substring, paged") {
  fresh_service f;
  f.put("s:1", R"({"properties":{"handle":"José","name":"José Ñandú"}})");
  f.put("s:2", R"({"properties":{"handle":"jose_fan","name":"Fan"}})");
  f.put("s:3", R"({"properties":{"handle":"ajose","name":"A"}})");
  f.put("s:4", R"({"properties":{"handle":"zzz","name":"Mr JOSÉ"}})");
  f.put("s:5", R"({"properties":{"handle":"other","name":"Other"}})");
  f.link("s:4", "s:5");  // s:4 outweighs s:3 among the substrings
  auto d = f.get("/search?q=JOSE");
  std::vector<std::string> ids, matches;
  for (const auto& r : d["results"].GetArray()) {
    ids.push_back(str(r, "id"));
    matches.push_back(str(r, "match"));
  }
  CHECK(ids == std::vector<std::string>{"s:1", "s:2", "s:4", "s:3"});
  CHECK(matches == std::vector<std::string>{"exact", "prefix", "substring", "substring"});
  CHECK(d["next_cursor"].IsNull());
  CHECK(f.get("/search?q=%C3%B1AND")["results"].Size() == 1); // "ñAND" finds "Ñandú"
  CHECK(f.get("/search?q=%40jos%C3%A9")["results"].Size() == 4); // a leading @ is ignored

  std::vector<std::string> paged;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto p = f.get("/search?q=jose&limit=1" + (cursor.empty() ? std::string() : "&cursor=" + cursor));
    for (const auto& r : p["results"].GetArray()) paged.push_back(str(r, "id"));
    if (!p["next_cursor"].IsString()) break;
    cursor = p["next_cursor"].GetString();
  }
  CHECK(paged == ids);

  expect_error(f.s.get("/search"), 400, "invalid_argument");
  expect_error(f.s.get("/search?q="), 400, "invalid_argument");
  expect_error(f.s.get("/search?q=x&cursor=abc"), 400, "invalid_argument");
  expect_error(f.s.get("/search?q=a%01b"), 400, "invalid_argument");
  expect_error(f.s.get("/search?q=x&limit=0"), 400, "invalid_argument");
  expect_error(f.s.get("/search?q=" + std::string(300, 'a')), 400, "invalid_argument");
}

TEST_CASE("GET /summary: counts, density, reciprocity, components, bins, hours") {
  fresh_service f;
  rankings_graph(f);
  auto d = f.get("/summary");
  CHECK(d["vertices"].GetUint64() == 5);
  CHECK(d["edges"].GetUint64() == 5);
  CHECK(d["arcs"].GetUint64() == 4);
  CHECK(d["total_weight"].GetUint64() == 6);
  CHECK(d["density"].GetDouble() == doctest::Approx(0.2));
  CHECK(d["reciprocity"].GetDouble() == 0.0);
  CHECK(d["components"]["weak"]["count"].GetUint() == 2);
  CHECK(d["components"]["weak"]["largest"].GetUint() == 4);
  CHECK(d["components"]["strong"]["count"].GetUint() == 3);
  CHECK(d["components"]["strong"]["largest"].GetUint() == 3);
  std::uint64_t binned = 0;
  for (const auto& b : d["degree_distribution"]["in"].GetArray()) binned += b["count"].GetUint64();
  CHECK(binned == 5);
  std::uint64_t hourly = 0;
  for (const auto& h : d["interactions_per_hour"].GetArray()) {
    hourly += h["weight"].GetUint64();
    CHECK(std::string(h["hour"].GetString()).substr(13) == ":00:00Z");
  }
  CHECK(hourly == 6);
  CHECK(d["top_hashtags"].Size() == 0);

  f.link("r:b", "r:a");
  CHECK(f.get("/summary")["reciprocity"].GetDouble() == doctest::Approx(0.4)); // a→b and b→a of 5 arcs
  d = f.get("/summary?kind=quote");
  CHECK(d["vertices"].GetUint64() == 0);
  CHECK(d["reciprocity"].IsNull());
  expect_error(f.s.get("/summary?min_weight=x"), 400, "invalid_argument");
  expect_error(f.s.get("/summary?until=2026-13-45"), 400, "invalid_argument");
}

TEST_CASE("a slice over --analytics-max-elements is 422 too_expensive") {
  fresh_service f({"--analytics-max-elements", "4"});
  f.link("x:a", "x:b");
  CHECK(f.s.get("/rankings").status == 200); // 2 vertices + 1 edge
  f.link("x:b", "x:c");
  expect_error(f.s.get("/rankings"), 422, "too_expensive");
  expect_error(f.s.get("/summary"), 422, "too_expensive");
  expect_error(f.s.get("/graph"), 422, "too_expensive");
  CHECK(f.s.get("/summary?kind=mention").status == 200); // a narrower slice fits
}

TEST_CASE("the whole-graph snapshot is cached and refreshed in the background after writes") {
  fresh_service f({"--analytics-refresh", "2", "--analytics-refresh-changes", "1",
                   "--analytics-pagerank-bound-arcs", "0"});
  f.link("b:a", "b:b");
  auto d = f.get("/rankings");
  CHECK(d["cached"].IsTrue());
  REQUIRE(d["vertices"].GetUint64() == 2);
  f.link("b:b", "b:c");
  // A filtered request reads the store now; the whole graph follows shortly.
  CHECK(f.get("/rankings?kind=link")["vertices"].GetUint64() == 3);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  std::uint64_t seen = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    seen = f.get("/summary")["vertices"].GetUint64();
    if (seen == 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(seen == 3);
  CHECK(f.get("/search?q=b")["cached"].IsTrue());
  // The refresh was warm-started and bounded (3 iterations by default); while
  // quiet it goes on until converged, and says so.
  rapidjson::Document r;
  const auto converge_by = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < converge_by) {
    r = f.get("/rankings");
    if (r["pagerank"]["converged"].IsTrue()) break;
    CHECK(r["pagerank"]["error_bound"].GetDouble() > 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(r["pagerank"]["converged"].IsTrue());
  CHECK(r["vertices"].GetUint64() == 3);
  CHECK(r["pagerank"]["warm_start"].IsTrue());
  CHECK(r["pagerank"]["refresh_iterations"].GetUint() == 3);
  CHECK(r["pagerank"]["error_bound"].GetDouble() <= 1e-10 * 0.85 / 0.15);
  CHECK(r["pagerank"]["iterations"].GetUint() >= r["pagerank"]["refreshes"].GetUint());
  CHECK(f.get("/graph")["pagerank"]["converged"].IsTrue()); // /graph describes the same vector
}

TEST_CASE("GET /rankings?by=betweenness is sampled above 2,000 accounts, with its error bound") {
  fresh_service f;
  // A path of 2,101 accounts: the middle ones carry the most shortest paths.
  for (int i = 0; i < 2100; ++i) f.link("bt:" + std::to_string(10000 + i), "bt:" + std::to_string(10001 + i));
  auto d = f.get("/rankings?by=betweenness&limit=3");
  CHECK(d["vertices"].GetUint64() == 2101);
  CHECK(d["betweenness"]["exact"].IsFalse());
  CHECK(d["betweenness"]["sources"].GetUint64() == 1000); // a bound of 0.05 would need more: the cap
  CHECK(d["betweenness"]["error_bound"].GetDouble() > 0.05);
  CHECK(d["betweenness"]["error_bound"].GetDouble() < 0.1);
  CHECK(d["betweenness"]["confidence"].GetDouble() == 0.99);
  // Exact: (i)(n-1-i) / ((n-1)(n-2)) for the i-th of n on a directed path,
  // 0.25 at the middle; the estimate is within its bound.
  const double top = d["rankings"][0]["score"].GetDouble();
  CHECK(std::abs(top - 0.25) <= d["betweenness"]["error_bound"].GetDouble() + 1e-3);
}

// Ingestion drives the refresh: posts arriving through a source count as
// changes, so the whole-graph snapshot follows them long before the
// refresh period (an hour here) would.
TEST_CASE("ingested interactions trigger the background refresh") {
  temp_dir dir;
  const std::string fifo = dir.file("posts");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  fresh_service f({"--source", "file:" + fifo, "--analytics-refresh", "3600",
                   "--analytics-refresh-changes", "1"});
  std::ifstream sample(std::string(TLFLOW_SOURCE_DIR) + "/samples/x-v2-sample.ndjson");
  std::ofstream out(fifo); // the source has the FIFO open for reading by now, or soon
  REQUIRE(out.good());
  std::string line;
  auto write_lines = [&](int n) {
    for (int i = 0; i < n && std::getline(sample, line); ++i) out << line << '\n';
    out.flush();
  };
  auto vertices = [&] { return f.get("/rankings?limit=1")["vertices"].GetUint64(); };
  auto wait_for = [&](auto pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!pred() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return pred();
  };
  write_lines(200);
  REQUIRE(wait_for([&] { return vertices() > 0; }));
  const std::uint64_t before = vertices();
  CHECK(f.get("/rankings?limit=1")["cached"].IsTrue());
  write_lines(2800);
  CHECK(wait_for([&] { return vertices() == 597; })); // the whole sample's accounts
  CHECK(vertices() > before);
}
