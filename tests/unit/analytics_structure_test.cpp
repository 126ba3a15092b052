#include <doctest/doctest.h>

#include "analytics/algorithms.hpp"

using namespace tlflow::analytics;

TEST_CASE("top_k orders by score, equal scores by index") {
  const std::vector<double> s{0.5, 2.0, 0.5, 3.0, 2.0};
  CHECK(top_k(s, 4) == std::vector<std::uint32_t>{3, 1, 4, 0});
  CHECK(top_k(s, 10).size() == 5);
  CHECK(top_k({}, 3).empty());
}

TEST_CASE("degrees count arcs, strengths their weights, self-loops on both sides") {
  const digraph g = digraph::from_arcs(3, {{0, 1, 2.0}, {0, 1, 1.0}, {1, 1, 4.0}, {2, 0, 1.0}});
  CHECK(degrees(g, direction::out) == std::vector<double>{1, 1, 1});
  CHECK(degrees(g, direction::both) == std::vector<double>{2, 3, 1});
  CHECK(strengths(g, direction::in) == std::vector<double>{1, 7, 0});
  CHECK(strengths(g, direction::both) == std::vector<double>{4, 11, 1});
}

TEST_CASE("components: strong and weak, numbered by size then smallest member") {
  const digraph g = digraph::from_arcs(
      6, {{0, 1, 1.0}, {1, 2, 1.0}, {2, 0, 1.0}, {2, 3, 1.0}, {3, 4, 1.0}, {4, 3, 1.0}, {5, 5, 1.0}});
  const components s = strongly_connected_components(g);
  CHECK(s.count == 3);
  CHECK(s.largest == 3);
  CHECK(s.component == std::vector<std::uint32_t>{0, 0, 0, 1, 1, 2});
  const components w = weakly_connected_components(g);
  CHECK(w.count == 2);
  CHECK(w.largest == 5);
  CHECK(w.component == std::vector<std::uint32_t>{0, 0, 0, 0, 0, 1});
  CHECK(strongly_connected_components(digraph::from_arcs(0, {})).largest == 0);
}

TEST_CASE("components of a path of a million vertices need no recursion") {
  const std::uint32_t n = 1000000;
  std::vector<arc> arcs;
  for (std::uint32_t i = 0; i + 1 < n; ++i) arcs.push_back({i, i + 1, 1.0});
  const digraph path = digraph::from_arcs(n, arcs);
  CHECK(strongly_connected_components(path).count == n);
  CHECK(weakly_connected_components(path).count == 1);
  arcs.push_back({n - 1, 0, 1.0});
  const components ring = strongly_connected_components(digraph::from_arcs(n, arcs));
  CHECK(ring.count == 1);
  CHECK(ring.largest == n);
}

TEST_CASE("reciprocity and density as NetworkX on a DiGraph, self-loops included") {
  const digraph g = digraph::from_arcs(3, {{0, 1, 1.0}, {1, 0, 3.0}, {1, 2, 1.0}, {2, 2, 1.0}});
  CHECK(reciprocity(g).value() == doctest::Approx(0.5)); // 2 of 4; the loop only counts below
  CHECK(density(g) == doctest::Approx(4.0 / 6));
  CHECK_FALSE(reciprocity(digraph::from_arcs(3, {})).has_value());
  CHECK(density(digraph::from_arcs(1, {{0, 0, 1.0}})) == 0);
}

TEST_CASE("degree distribution in powers of two, no gaps") {
  // out-degrees: 0 -> 5, 1 -> 1, others 0
  const digraph g = digraph::from_arcs(
      7, {{0, 1, 1.0}, {0, 2, 1.0}, {0, 3, 1.0}, {0, 4, 1.0}, {0, 5, 1.0}, {1, 0, 1.0}});
  const auto bins = degree_distribution(g, direction::out);
  REQUIRE(bins.size() == 4); // [0,1) [1,2) [2,4) [4,8)
  CHECK(bins[0].count == 5);
  CHECK(bins[1].count == 1);
  CHECK(bins[2].count == 0);
  CHECK(bins[3].lower == 4);
  CHECK(bins[3].upper == 8);
  CHECK(bins[3].count == 1);
  CHECK(degree_distribution(digraph::from_arcs(0, {}), direction::in).empty());
}
