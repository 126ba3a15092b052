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
