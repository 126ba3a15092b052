// From a store to the algorithms: the slice_graph a scan builds, the size cap,
// the engine's snapshots (fresh per request, or refreshed in the background
// with a warm-started PageRank), and the search folding.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "analytics/engine.hpp"
#include "store/memory/memory_store.hpp"

using namespace tlflow;
using namespace tlflow::analytics;

namespace {

std::unique_ptr<memory_store> open_store() {
  memory_store_options o;
  o.ephemeral = true;
  auto s = memory_store::open(o);
  REQUIRE(s.ok());
  return std::move(s).value();
}

interaction act(const std::string& post, const std::string& from, const std::string& to,
                edge_kind kind, std::vector<std::string> tags, const std::string& at) {
  interaction i;
  i.post_id = post;
  i.from.id = from;
  i.from.platform = "twitter";
  i.from.handle = from.substr(2);
  i.to.id = to;
  i.to.platform = "mastodon";
  i.kind = kind;
  i.hashtags = std::move(tags);
  i.at = at;
  return i;
}

// A background engine that rebuilds after every change counted in `changes`.
engine_options background_options(std::atomic<std::uint64_t>& changes) {
  engine_options o;
  o.refresh_s = 3600;
  o.refresh_changes = 1;
  o.changes = [&changes] { return changes.load(); };
  return o;
}

// Whether `pred` holds within a minute (the background thread is asynchronous).
template <class Pred>
bool wait_for(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!pred() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return pred();
}

} // namespace

TEST_CASE("a slice_graph numbers accounts by id, merges kinds, sums weights, interns hashtags") {
  auto store = open_store();
  REQUIRE(store->apply({act("p1", "t:b", "t:a", edge_kind::mention, {"x", "y"}, "2026-01-01T10:15:00Z"),
                        act("p2", "t:b", "t:a", edge_kind::mention, {"y"}, "2026-01-01T11:00:00Z"),
                        act("p3", "t:b", "t:a", edge_kind::reply, {}, "2026-01-02T00:00:00Z"),
                        act("p4", "t:c", "t:b", edge_kind::quote, {"x"}, "2026-01-03T00:00:00Z")})
              .ok());
  REQUIRE(store->put_vertex("t:z", {{"location", std::string("Quito")}}, {}).ok());
  REQUIRE(store->put_vertex("t:a", {{"location", std::string("Quito")}}, {}).ok());
  auto built = slice_graph::build(*store, slice{}, 0);
  REQUIRE(built.ok());
  const slice_graph& g = **built;
  REQUIRE(g.vertex_count() == 4);
  CHECK(g.id(0) == "t:a");
  CHECK(g.id(3) == "t:z");
  CHECK(g.index_of("t:c") == 2);
  CHECK(g.index_of("t:nobody") == -1);
  CHECK(g.handle(1) == "b");
  CHECK(g.platform(2) == "twitter"); // t:c, only ever a source
  CHECK(g.platform(0) == "mastodon");
  CHECK(g.location(0) == "Quito"); // /graph's nodes carry it
  CHECK(g.location(3) == "Quito");
  CHECK(g.location(1).empty());
  CHECK(g.edges().size() == 3);   // three (from, to, kind)
  CHECK(g.graph().arc_count() == 2); // b→a merged, c→b
  CHECK(g.graph().out_weight(g.graph().out_begin(1)) == 3.0);
  CHECK(g.hashtag_count() == 2);  // x and y once each
  CHECK(g.weighted_degree(1) == 4.0);

  slice only_mentions;
  only_mentions.kinds = {edge_kind::mention};
  auto sliced = slice_graph::build(*store, only_mentions, 0);
  REQUIRE(sliced.ok());
  CHECK((*sliced)->vertex_count() == 2); // a filter keeps the ends of its edges only
  CHECK((*sliced)->graph().arc_count() == 1);

  auto capped = slice_graph::build(*store, slice{}, 5);
  REQUIRE(!capped.ok());
  CHECK(capped.err().code == errc::too_expensive);
  CHECK(slice_graph::build(*store, slice{}, 7).ok()); // 4 vertices + 3 edges
}

TEST_CASE("fold_for_search drops case and Latin diacritics, keeps the rest") {
  CHECK(fold_for_search("JoséÑandú") == "josenandu");
  CHECK(fold_for_search("STRAẞE Straße") == "straẞe strasse"); // U+1E9E is outside the folded blocks
  CHECK(fold_for_search("Łódź Œuvre Æsir ĳs Þór") == "lodz oeuvre aesir ijs thor");
  CHECK(fold_for_search("e\xCC\x81t\xC3\xA9") == "ete"); // combining acute, then precomposed
  CHECK(fold_for_search("Ωμέγα 東京 ×÷") == "Ωμέγα 東京 ×÷");
  CHECK(fold_for_search("\xFF\xC3") == "\xFF\xC3"); // invalid UTF-8 passes through
}

TEST_CASE("engine: per-request snapshots without a refresh, a background one with it") {
  auto store = open_store();
  REQUIRE(store->apply({act("p1", "t:a", "t:b", edge_kind::mention, {}, "2026-01-01T00:00:00Z"),
                        act("p2", "t:b", "t:c", edge_kind::mention, {}, "2026-01-01T00:00:00Z")})
              .ok());
  SUBCASE("refresh 0: every view reads the store") {
    engine_options o;
    o.refresh_s = 0;
    engine e(*store, o);
    auto a = e.view(slice{});
    REQUIRE(a.ok());
    CHECK((*a)->graph().vertex_count() == 3);
    REQUIRE(store->apply({act("p3", "t:c", "t:d", edge_kind::reply, {}, "2026-01-01T00:00:00Z")}).ok());
    auto b = e.view(slice{});
    CHECK((*b)->graph().vertex_count() == 4);
  }
  SUBCASE("background: rebuilt after enough changes, PageRank warm-started") {
    std::atomic<std::uint64_t> changes{0};
    engine_options o = background_options(changes);
    o.pagerank_refresh_iterations = 0; // to convergence at every refresh
    engine e(*store, o);
    e.start();
    auto a = e.view(slice{});
    REQUIRE(a.ok());
    CHECK((*a)->graph().vertex_count() == 3);
    REQUIRE(store->apply({act("p3", "t:c", "t:d", edge_kind::reply, {}, "2026-01-01T00:00:00Z")}).ok());
    CHECK(e.view(slice{}).value()->graph().vertex_count() == 3); // the cached one, until a change is counted
    changes = 1;
    wait_for([&] { return e.view(slice{}).value()->graph().vertex_count() == 4; });
    auto b = e.view(slice{});
    REQUIRE((*b)->graph().vertex_count() == 4);
    CHECK(e.rebuilds() >= 2);
    // The warm start reaches the same fixed point as a cold start.
    auto cold = pagerank((*b)->graph().graph());
    REQUIRE(cold.ok());
    const auto& warm = (*b)->pagerank().scores;
    REQUIRE(warm.size() == cold->scores.size());
    for (std::size_t i = 0; i < warm.size(); ++i) CHECK(std::fabs(warm[i] - cold->scores[i]) < 1e-9);
    e.stop();
  }
  SUBCASE("background: betweenness computed by a rebuild only while requests ask for it") {
    std::atomic<std::uint64_t> changes{0};
    engine_options o = background_options(changes);
    engine e(*store, o);
    e.start();
    const auto rebuilt_by = [](engine& en, std::uint64_t after) {
      return wait_for([&] { return en.rebuilds() > after; });
    };
    const auto rebuilt = [&](std::uint64_t after) { return rebuilt_by(e, after); };
    auto first = e.view(slice{}).value();
    CHECK_FALSE(first->betweenness_computed()); // no one asked
    CHECK(first->betweenness_asked_ms() == 0);
    changes = 1;
    REQUIRE(rebuilt(1));
    auto second = e.view(slice{}).value();
    CHECK_FALSE(second->betweenness_computed());
    // A request asks: computed then, and by the rebuilds after it.
    CHECK(second->betweenness().scores.size() == second->graph().vertex_count());
    CHECK(second->betweenness_computed());
    const std::uint64_t done = e.rebuilds();
    changes = 2;
    REQUIRE(rebuilt(done));
    auto third = e.view(slice{}).value();
    CHECK(third->betweenness_computed());
    CHECK(third->betweenness_asked_ms() == second->betweenness_asked_ms()); // carried, not asked again
    e.stop();
    // Asked longer ago than betweenness_keep_ms: left to the next request.
    o.betweenness_keep_ms = 1;
    engine late(*store, o);
    late.start();
    changes = 3;
    late.view(slice{}).value()->betweenness();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const std::uint64_t before = late.rebuilds();
    changes = 4;
    REQUIRE(rebuilt_by(late, before));
    CHECK_FALSE(late.view(slice{}).value()->betweenness_computed());
    late.stop();
  }
}

TEST_CASE("engine: a bounded PageRank refresh reports its error and converges while quiet") {
  auto store = open_store();
  REQUIRE(store->apply({act("p1", "t:a", "t:b", edge_kind::mention, {}, "2026-01-01T00:00:00Z"),
                        act("p2", "t:b", "t:c", edge_kind::mention, {}, "2026-01-01T00:00:00Z"),
                        act("p3", "t:c", "t:a", edge_kind::mention, {}, "2026-01-01T00:00:00Z")})
              .ok());
  std::atomic<std::uint64_t> changes{0};
  engine_options o = background_options(changes);
  o.pagerank_refresh_iterations = 3;
  o.pagerank_bound_arcs = 0; // bounded whatever the size
  engine e(*store, o);
  e.start();
  auto first = e.view(slice{}).value(); // no previous vector: to convergence
  CHECK(first->pagerank().converged);
  CHECK_FALSE(first->pagerank_info().warm_start);
  CHECK(first->pagerank().error_bound <= 1e-10 * 0.85 / 0.15);
  // A new account pointed at by all: far from the previous vector.
  REQUIRE(store->apply({act("p4", "t:a", "t:d", edge_kind::reply, {}, "2026-01-01T00:00:00Z"),
                        act("p5", "t:b", "t:d", edge_kind::reply, {}, "2026-01-01T00:00:00Z"),
                        act("p6", "t:c", "t:d", edge_kind::reply, {}, "2026-01-01T00:00:00Z")})
              .ok());
  changes = 1;
  REQUIRE(wait_for([&] { return e.view(slice{}).value()->graph().vertex_count() == 4; }));
  auto bounded = e.view(slice{}).value();
  const auto& graph = bounded->graph().graph();
  pagerank_options tight;
  tight.tolerance = 1e-15;
  const auto exact = pagerank(graph, tight).value();
  auto l1 = [&](const std::vector<double>& x) {
    double s = 0;
    for (std::size_t i = 0; i < x.size(); ++i) s += std::fabs(x[i] - exact.scores[i]);
    return s;
  };
  const pagerank_provenance& info = bounded->pagerank_info();
  CHECK(info.warm_start);
  CHECK(info.max_iterations == 3);
  if (info.refreshes == 1) { // seen before the first continuation (a second later)
    CHECK(info.total_iterations == 3);
    CHECK_FALSE(bounded->pagerank().converged);
  }
  CHECK(bounded->pagerank().error_bound > 1e-10);
  CHECK(l1(bounded->pagerank().scores) <= bounded->pagerank().error_bound + 1e-13);
  // Quiet: continuations advance it until it converges, on the same graph.
  REQUIRE(wait_for([&] { return e.view(slice{}).value()->pagerank().converged; }));
  auto done = e.view(slice{}).value();
  CHECK(&done->graph() == &bounded->graph());
  CHECK(done->computed_at_ms() == bounded->computed_at_ms());
  CHECK(done->pagerank_info().refreshes >= 2);
  CHECK(e.continuations() >= 1);
  CHECK(e.rebuilds() >= 2); // the thread may also have built the first one again
  CHECK(done->pagerank().error_bound <= 1e-10 * 0.85 / 0.15);
  CHECK(l1(done->pagerank().scores) <= done->pagerank().error_bound + 1e-13);
  CHECK(l1(done->pagerank().scores) < 1e-9);
  // The other results are shared, not recomputed.
  CHECK(&done->betweenness() == &bounded->betweenness());
  const auto n = e.continuations();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(e.continuations() == n); // converged: nothing more to do
  e.stop();
}

TEST_CASE("a scan gives up once cancelled (a rebuild at shutdown)") {
  auto store = open_store();
  REQUIRE(store->apply({act("p1", "t:a", "t:b", edge_kind::mention, {}, "2026-01-01T00:00:00Z")}).ok());
  std::atomic<bool> cancel{true};
  auto g = slice_graph::build(*store, slice{}, 0, &cancel);
  REQUIRE_FALSE(g.ok());
  CHECK(g.err().code == errc::overloaded);
  engine_options o;
  o.refresh_s = 3600;
  engine e(*store, o);
  e.stop();
  auto v = e.view(slice{});
  REQUIRE_FALSE(v.ok());
  CHECK(v.err().code == errc::overloaded);
  slice mentions;
  mentions.kinds = {edge_kind::mention};
  CHECK(e.view(mentions).ok()); // a request's own slice is not the background's to cancel
}

TEST_CASE("snapshot search: one hit per account, classified, separators never matched") {
  auto store = open_store();
  auto put = [&](const std::string& id, const std::string& handle, const std::string& name) {
    REQUIRE(store->put_vertex(id, {{"handle", handle}, {"name", name}}, {}).ok());
  };
  put("s:1", "José", "José Jose");   // handle equals; the name matches twice more
  put("s:2", "ajose", "Jose\x01x"); // name starts with it; a control character in a name
  put("s:3", "zz", "mr jose");      // substring of the name
  put("s:4", "jo", "se");           // "jo" + separator + "se" must not match "jose"
  auto built = slice_graph::build(*store, slice{}, 0);
  REQUIRE(built.ok());
  const snapshot snap(*built, 0, engine_options{});
  const auto hits = snap.search("jose");
  REQUIRE(hits.size() == 3);
  CHECK(hits[0].vertex == 0);
  CHECK(hits[0].match == 0);
  CHECK(hits[1].vertex == 1);
  CHECK(hits[1].match == 1);
  CHECK(hits[2].vertex == 2);
  CHECK(hits[2].match == 2);
  CHECK(snap.search("x").size() == 1);
  CHECK(snap.search("e x").size() == 1); // the control character is a space in the index
  CHECK(snap.search("nobody").empty());
  CHECK(snap.search("").empty());
}

// Readers share snapshots while the background replaces them (scripts/tsan.sh
// runs this under ThreadSanitizer).
TEST_CASE("engine: concurrent readers during background rebuilds") {
  auto store = open_store();
  std::atomic<std::uint64_t> changes{0};
  engine e(*store, background_options(changes));
  e.start();
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      while (!done) {
        auto v = e.view(slice{});
        if (!v) { ++failures; continue; }
        const snapshot& s = **v;
        if (s.pagerank().scores.size() != s.graph().vertex_count()) ++failures;
        if (!s.louvain(t == 0 ? 0 : 5).ok()) ++failures;
        (void)s.search("t:");
        (void)s.betweenness();
      }
    });
  }
  for (int i = 0; i < 30; ++i) {
    CHECK(store->apply({act("c" + std::to_string(i), "t:" + std::to_string(i), "t:" + std::to_string(i + 1),
                            edge_kind::mention, {"x"}, "2026-01-01T00:00:00Z")})
              .ok());
    ++changes;
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
  }
  wait_for([&] { return e.view(slice{}).value()->graph().vertex_count() == 31; });
  done = true;
  for (auto& r : readers) r.join();
  CHECK(failures == 0);
  CHECK(e.view(slice{}).value()->graph().vertex_count() == 31);
  CHECK(e.rebuilds() >= 2);
}

TEST_CASE("snapshot betweenness: sources capped by the work budget, the bound reported for them") {
  auto store = open_store();
  std::vector<interaction> path;
  for (int i = 0; i < 2500; ++i)
    path.push_back(act("w" + std::to_string(i), "t:" + std::to_string(10000 + i), "t:" + std::to_string(10001 + i),
                       edge_kind::mention, {}, "2026-01-01T00:00:00Z"));
  REQUIRE(store->apply(path).ok());
  auto built = slice_graph::build(*store, slice{}, 0);
  REQUIRE(built.ok());
  const std::uint64_t n = (*built)->vertex_count(), m = (*built)->graph().arc_count();
  REQUIRE(n == 2501);
  engine_options capped;
  capped.betweenness_max_work = 10 * (n + m) + 5; // 10 sources' worth
  const snapshot a(*built, 0, capped);
  CHECK_FALSE(a.betweenness().exact);
  CHECK(a.betweenness().sources == 10);
  const double r = static_cast<double>(n) / static_cast<double>(n - 1);
  CHECK(a.betweenness().epsilon == doctest::Approx(r * std::sqrt(std::log(2.0 * n / 0.01) / 20.0)));
  engine_options tiny;
  tiny.betweenness_max_work = 1; // still one source
  CHECK(snapshot(*built, 0, tiny).betweenness().sources == 1);
  engine_options uncapped;
  uncapped.betweenness_max_work = 0;
  CHECK(snapshot(*built, 0, uncapped).betweenness().sources == 1000); // the sample cap alone
}
