#include <doctest/doctest.h>

#include "analytics/digraph.hpp"

using tlflow::analytics::arc;
using tlflow::analytics::digraph;

TEST_CASE("digraph merges parallel arcs and indexes both directions") {
  const digraph g = digraph::from_arcs(4, {{2, 0, 1.0}, {0, 1, 2.0}, {0, 1, 3.0}, {1, 1, 1.0}, {0, 2, 1.5}});
  CHECK(g.vertex_count() == 4);
  CHECK(g.arc_count() == 4);
  REQUIRE(g.out_degree(0) == 2);
  CHECK(g.out_target(g.out_begin(0)) == 1);
  CHECK(g.out_weight(g.out_begin(0)) == doctest::Approx(5.0));
  CHECK(g.out_target(g.out_begin(0) + 1) == 2);
  CHECK(g.out_degree(3) == 0);
  CHECK(g.in_degree(3) == 0);
  REQUIRE(g.in_degree(1) == 2);
  CHECK(g.in_source(g.in_begin(1)) == 0);   // ascending by source
  CHECK(g.in_source(g.in_begin(1) + 1) == 1); // the self-loop is kept
  CHECK(g.in_degree(0) == 1);
  CHECK(g.in_weight(g.in_begin(0)) == doctest::Approx(1.0));
}

TEST_CASE("digraph keeps each vertex's out-strength (merged arcs, self-loop) and whether weights are positive") {
  const digraph g = digraph::from_arcs(4, {{0, 1, 2.0}, {0, 1, 0.5}, {0, 0, 1.0}, {2, 3, 4.0}});
  CHECK(g.out_strength(0) == 3.5);
  CHECK(g.out_strength(1) == 0.0);
  CHECK(g.out_strength(2) == 4.0);
  CHECK(g.out_strength(3) == 0.0);
  CHECK(g.weights_positive());
  CHECK_FALSE(digraph::from_arcs(2, {{0, 1, 0.0}}).weights_positive());
  CHECK_FALSE(digraph::from_arcs(2, {{0, 1, -1.0}, {1, 0, 2.0}}).weights_positive());
}
