#include <doctest/doctest.h>

#include <cmath>

#include "analytics/algorithms.hpp"

using namespace tlflow::analytics;

namespace {

// The definition written out once more, independently of the implementation:
// the right-hand side of the fixed-point equation for x.
std::vector<double> apply_definition(const digraph& g, const std::vector<double>& x, double d) {
  const std::uint32_t n = g.vertex_count();
  std::vector<double> out_w(n, 0.0), r(n, 0.0);
  for (std::uint32_t u = 0; u < n; ++u)
    for (auto i = g.out_begin(u); i < g.out_end(u); ++i) out_w[u] += g.out_weight(i);
  double dangling = 0;
  for (std::uint32_t u = 0; u < n; ++u)
    if (out_w[u] == 0) dangling += x[u];
  for (std::uint32_t u = 0; u < n; ++u) {
    r[u] += d * dangling / n + (1 - d) / n;
    for (auto i = g.out_begin(u); i < g.out_end(u); ++i)
      r[g.out_target(i)] += d * x[u] * g.out_weight(i) / out_w[u];
  }
  return r;
}

// Parallel arcs, a self-loop, a dangling vertex and an isolated one.
digraph mixed() {
  return digraph::from_arcs(6, {{0, 1, 3.0}, {0, 2, 1.0}, {0, 1, 1.0}, {1, 0, 1.0}, {2, 0, 2.0},
                                {2, 2, 5.0}, {1, 3, 1.0}, {3, 4, 0.5}, {4, 3, 1.0}});
}

} // namespace

TEST_CASE("pagerank of two vertices with a dangling one spreads its mass uniformly") {
  const digraph g = digraph::from_arcs(2, {{0, 1, 1.0}});
  auto r = pagerank(g);
  REQUIRE(r.ok());
  CHECK(r->converged);
  // x0 = 0.075 + 0.425 x1, x1 = 1 - x0  =>  x0 = 0.5 / 1.425
  CHECK(r->scores[0] == doctest::Approx(0.5 / 1.425).epsilon(1e-9));
  CHECK(r->scores[1] == doctest::Approx(1 - 0.5 / 1.425).epsilon(1e-9));
}

TEST_CASE("pagerank is the fixed point of the weighted definition, self-loops included") {
  const digraph g = mixed();
  auto r = pagerank(g, {});
  REQUIRE(r.ok());
  CHECK(r->converged);
  double sum = 0;
  for (double s : r->scores) sum += s;
  CHECK(sum == doctest::Approx(1.0).epsilon(1e-15));
  const auto again = apply_definition(g, r->scores, 0.85);
  for (std::uint32_t v = 0; v < 6; ++v) CHECK(std::fabs(again[v] - r->scores[v]) < 1e-10);
  // the self-loop keeps weight at 2: it is not dropped
  const digraph no_loop = digraph::from_arcs(6, {{0, 1, 3.0}, {0, 2, 1.0}, {0, 1, 1.0}, {1, 0, 1.0},
                                                 {2, 0, 2.0}, {1, 3, 1.0}, {3, 4, 0.5}, {4, 3, 1.0}});
  CHECK(pagerank(no_loop)->scores[2] < r->scores[2] - 0.01);
}

TEST_CASE("pagerank with two threads gives the single-thread scores") {
  std::vector<arc> arcs;
  for (std::uint32_t i = 0; i < 5000; ++i) arcs.push_back({i % 997, (i * 7919u) % 1000, 1.0 + i % 3});
  const digraph g = digraph::from_arcs(1000, arcs);
  pagerank_options one, two;
  two.threads = 2;
  auto a = pagerank(g, one);
  auto b = pagerank(g, two);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->iterations == b->iterations);
  for (std::uint32_t v = 0; v < 1000; ++v) CHECK(std::fabs(a->scores[v] - b->scores[v]) < 1e-15);
}

TEST_CASE("pagerank warm start converges to the same scores in fewer iterations") {
  const digraph g = mixed();
  auto cold = pagerank(g);
  REQUIRE(cold.ok());
  // The previous graph had vertices 0..4; vertex 5 is new.
  std::vector<double> previous(cold->scores.begin(), cold->scores.begin() + 5);
  const std::vector<double> start = make_warm_start(previous, {0, 1, 2, 3, 4, -1}, 6);
  CHECK(start[5] == doctest::Approx(1.0 / 6 / (1.0 - cold->scores[5] + 1.0 / 6)));
  pagerank_options o;
  o.warm_start = &start;
  auto warm = pagerank(g, o);
  REQUIRE(warm.ok());
  CHECK(warm->iterations < cold->iterations);
  for (std::uint32_t v = 0; v < 6; ++v) CHECK(std::fabs(warm->scores[v] - cold->scores[v]) < 1e-9);
}

TEST_CASE("pagerank refuses bad options and bad weights") {
  const digraph g = mixed();
  pagerank_options o;
  o.damping = 1.0;
  CHECK(pagerank(g, o).err().code == tlflow::errc::invalid_argument);
  o = {};
  o.tolerance = 0;
  CHECK(pagerank(g, o).err().code == tlflow::errc::invalid_argument);
  o = {};
  o.threads = 3;
  CHECK(pagerank(g, o).err().code == tlflow::errc::invalid_argument);
  const std::vector<double> short_start(5, 0.2);
  o = {};
  o.warm_start = &short_start;
  CHECK(pagerank(g, o).err().code == tlflow::errc::invalid_argument);
  const std::vector<double> zero_start(6, 0.0);
  o.warm_start = &zero_start;
  CHECK(pagerank(g, o).err().code == tlflow::errc::invalid_argument);
  const digraph negative = digraph::from_arcs(2, {{0, 1, -1.0}});
  CHECK(pagerank(negative).err().code == tlflow::errc::invalid_argument);
}

TEST_CASE("pagerank reports non-convergence and handles the empty graph") {
  pagerank_options o;
  o.max_iterations = 2;
  auto r = pagerank(mixed(), o);
  REQUIRE(r.ok());
  CHECK_FALSE(r->converged);
  CHECK(r->iterations == 2);
  auto empty = pagerank(digraph::from_arcs(0, {}));
  REQUIRE(empty.ok());
  CHECK(empty->scores.empty());
}

namespace {
double l1(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += std::fabs(a[i] - b[i]);
  return s;
}
} // namespace

TEST_CASE("pagerank's error bound holds after every capped iteration count") {
  // A generated graph with dangling vertices (every fifth has no out-arc), a
  // self-loop and repeated arcs, started from a vector far from the answer.
  std::vector<arc> arcs;
  std::uint64_t state = 12345;
  auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(state >> 33);
  };
  const std::uint32_t n = 500;
  for (int k = 0; k < 3000; ++k) {
    const std::uint32_t from = next() % n;
    if (from % 5 == 0) continue;
    arcs.push_back({from, (next() % n) * (next() % n) % n, 1.0 + next() % 3});
  }
  arcs.push_back({7, 7, 2.0});
  const digraph g = digraph::from_arcs(n, std::move(arcs));
  pagerank_options exact_o;
  exact_o.tolerance = 1e-15;
  auto exact = pagerank(g, exact_o);
  REQUIRE(exact.ok());
  REQUIRE(exact->converged);
  std::vector<double> start(n, 0.0);
  start[1] = 1.0; // all the mass on one vertex
  for (std::uint32_t k = 0; k <= 30; ++k) {
    CAPTURE(k);
    pagerank_options o;
    o.warm_start = &start;
    o.max_iterations = k;
    auto r = pagerank(g, o);
    REQUIRE(r.ok());
    if (r->converged) CHECK(r->iterations <= k);
    else CHECK(r->iterations == k);
    const double err = l1(r->scores, exact->scores);
    CHECK(err <= r->error_bound + 1e-13);
    if (k == 0) CHECK(r->error_bound == 2.0);
    else CHECK(r->error_bound == doctest::Approx(std::min(2.0, 0.85 / 0.15 * r->last_change)));
  }
  // Converged at the default tolerance: within tolerance · d / (1 − d).
  auto cold = pagerank(g);
  REQUIRE(cold.ok());
  CHECK(cold->error_bound <= 1e-10 * 0.85 / 0.15);
  CHECK(l1(cold->scores, exact->scores) <= cold->error_bound + 1e-13);
}

TEST_CASE("pagerank's error bound is attained when the walk cannot mix") {
  // Two self-loops: P is the identity, x_k − x* = d^k (x_0 − x*), so the
  // distance equals d / (1 − d) times the last change: the bound is tight
  // (a smaller factor would be wrong).
  const digraph g = digraph::from_arcs(2, {{0, 0, 1.0}, {1, 1, 1.0}});
  const std::vector<double> start{0.9, 0.1};
  for (std::uint32_t k = 1; k <= 20; ++k) {
    CAPTURE(k);
    pagerank_options o;
    o.warm_start = &start;
    o.max_iterations = k;
    auto r = pagerank(g, o);
    REQUIRE(r.ok());
    const double err = l1(r->scores, {0.5, 0.5});
    CHECK(err <= r->error_bound * (1 + 1e-9) + 1e-15);
    CHECK(err >= r->error_bound * (1 - 1e-6));
  }
}

TEST_CASE("a capped pagerank continued from its own vector converges to the exact one") {
  const digraph g = mixed();
  auto exact = pagerank(g);
  REQUIRE(exact.ok());
  std::vector<double> x(6, 0.0);
  x[5] = 1.0;
  std::uint32_t runs = 0;
  double last_bound = 3;
  for (;;) {
    pagerank_options o;
    o.warm_start = &x;
    o.max_iterations = 3;
    auto r = pagerank(g, o);
    REQUIRE(r.ok());
    ++runs;
    CHECK(l1(r->scores, exact->scores) <= r->error_bound + 1e-13);
    CHECK(r->error_bound < last_bound); // every run gets closer
    last_bound = r->error_bound;
    x = r->scores;
    if (r->converged || runs > 100) break;
  }
  CHECK(runs < 100);
  CHECK(l1(x, exact->scores) < 1e-9);
}
