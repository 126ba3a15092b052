#include <doctest/doctest.h>

#include "analytics/algorithms.hpp"

using namespace tlflow::analytics;

namespace {

// Two directed triangles joined by the arc 2 -> 3; one reversed arc doubles a
// pair's weight in the undirected view.
digraph two_triangles() {
  return digraph::from_arcs(6, {{0, 1, 1.0}, {1, 2, 1.0}, {2, 0, 1.0}, {3, 4, 1.0}, {4, 5, 1.0},
                                {5, 3, 1.0}, {2, 3, 1.0}});
}

} // namespace

TEST_CASE("modularity of the undirected view: two triangles and a bridge") {
  const digraph g = two_triangles();
  // Σ_c L_c/m - (d_c/2m)²: 2 (3/7 - (7/14)²)
  CHECK(modularity(g, {0, 0, 0, 1, 1, 1}).value() == doctest::Approx(6.0 / 7 - 0.5));
  CHECK(modularity(g, {9, 9, 9, 9, 9, 9}).value() == doctest::Approx(0.0));
  // labels need not be dense
  CHECK(modularity(g, {4000000000u, 4000000000u, 4000000000u, 7, 7, 7}).value() ==
        doctest::Approx(6.0 / 7 - 0.5));
  CHECK(modularity(g, {0, 0}).err().code == tlflow::errc::invalid_argument);
}

TEST_CASE("modularity counts a self-loop once in L_c and twice in the degree") {
  const digraph g = digraph::from_arcs(2, {{0, 0, 1.0}, {0, 1, 1.0}});
  CHECK(modularity(g, {0, 1}).value() == doctest::Approx(0.5 - 9.0 / 16 - 1.0 / 16));
  // w(0,1) + w(1,0) is one undirected edge of weight 2
  const digraph both = digraph::from_arcs(3, {{0, 1, 1.0}, {1, 0, 1.0}, {1, 2, 2.0}});
  CHECK(modularity(both, {0, 0, 1}).value() == doctest::Approx(0.5 - 36.0 / 64 - 4.0 / 64));
  CHECK(modularity(digraph::from_arcs(3, {}), {0, 1, 2}).value() == 0);
}

TEST_CASE("louvain separates two triangles, numbered by size then smallest member") {
  auto r = louvain(two_triangles(), {7, 1.0});
  REQUIRE(r.ok());
  CHECK(r->count == 2);
  CHECK(r->community == std::vector<std::uint32_t>{0, 0, 0, 1, 1, 1});
  CHECK(r->modularity == doctest::Approx(6.0 / 7 - 0.5));
  CHECK(r->levels >= 1);
}

TEST_CASE("louvain is deterministic for a seed and merges levels on a ring of cliques") {
  // 8 cliques of 5, each joined to the next by one arc: one community per
  // clique is the optimum (with many more cliques, the resolution limit makes
  // pairs of cliques score higher).
  std::vector<arc> arcs;
  for (std::uint32_t c = 0; c < 8; ++c) {
    for (std::uint32_t i = 0; i < 5; ++i)
      for (std::uint32_t j = i + 1; j < 5; ++j) arcs.push_back({c * 5 + i, c * 5 + j, 1.0});
    arcs.push_back({c * 5, ((c + 1) % 8) * 5 + 1, 1.0});
  }
  const digraph g = digraph::from_arcs(40, arcs);
  auto a = louvain(g, {3, 1.0});
  auto b = louvain(g, {3, 1.0});
  REQUIRE(a.ok());
  CHECK(a->community == b->community);
  CHECK(a->count == 8);
  for (std::uint32_t c = 0; c < 8; ++c)
    for (std::uint32_t i = 1; i < 5; ++i) CHECK(a->community[c * 5 + i] == a->community[c * 5]);
  CHECK(a->modularity == doctest::Approx(modularity(g, a->community).value()));
  // a high resolution splits further
  auto fine = louvain(g, {3, 20.0});
  CHECK(fine->count == 40);
  CHECK(louvain(g, {3, 0.0}).err().code == tlflow::errc::invalid_argument);
}

TEST_CASE("louvain and label propagation leave isolated vertices alone") {
  const digraph g = digraph::from_arcs(3, {});
  auto r = louvain(g);
  REQUIRE(r.ok());
  CHECK(r->count == 3);
  CHECK(r->modularity == 0);
  auto l = label_propagation(g);
  REQUIRE(l.ok());
  CHECK(l->count == 3);
  CHECK(l->converged);
}

TEST_CASE("label propagation finds two triangles, deterministically for a seed") {
  const digraph g = two_triangles();
  label_propagation_options o;
  o.seed = 11;
  auto a = label_propagation(g, o);
  auto b = label_propagation(g, o);
  REQUIRE(a.ok());
  CHECK(a->community == b->community);
  CHECK(a->converged);
  CHECK(a->modularity == doctest::Approx(modularity(g, a->community).value()));
  // in two cliques of 4 joined by one arc, both cliques keep one label each
  std::vector<arc> arcs;
  for (std::uint32_t i = 0; i < 4; ++i)
    for (std::uint32_t j = 0; j < 4; ++j)
      if (i != j) {
        arcs.push_back({i, j, 1.0});
        arcs.push_back({4 + i, 4 + j, 1.0});
      }
  arcs.push_back({0, 4, 1.0});
  auto c = label_propagation(digraph::from_arcs(8, arcs), o);
  CHECK(c->count == 2);
  CHECK(c->community == std::vector<std::uint32_t>{0, 0, 0, 0, 1, 1, 1, 1});
  o.max_iterations = 0;
  CHECK_FALSE(label_propagation(g, o)->converged);
}
