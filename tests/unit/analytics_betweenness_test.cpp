#include <doctest/doctest.h>

#include <cmath>

#include "analytics/algorithms.hpp"

using namespace tlflow::analytics;

TEST_CASE("betweenness of a directed path, normalised by (n-1)(n-2)") {
  const digraph g = digraph::from_arcs(3, {{0, 1, 1.0}, {1, 2, 7.0}, {1, 1, 1.0}});
  auto r = betweenness(g);
  REQUIRE(r.ok());
  CHECK(r->exact);
  CHECK(r->epsilon == 0);
  CHECK(r->scores[0] == 0);
  CHECK(r->scores[1] == doctest::Approx(0.5)); // one pair (0,2) of 2·1
  CHECK(r->scores[2] == 0);
}

TEST_CASE("betweenness splits over equally short paths and ignores weights") {
  // 0 -> {1, 2} -> 3, 3 -> 4: pairs (0,3) and (0,4) each go half through 1.
  const digraph g =
      digraph::from_arcs(5, {{0, 1, 1.0}, {0, 2, 9.0}, {1, 3, 1.0}, {2, 3, 1.0}, {3, 4, 1.0}});
  auto r = betweenness(g);
  REQUIRE(r.ok());
  CHECK(r->scores[1] == doctest::Approx(1.0 / 12));
  CHECK(r->scores[2] == doctest::Approx(1.0 / 12));
  CHECK(r->scores[3] == doctest::Approx(3.0 / 12)); // (0,4), (1,4), (2,4)
}

TEST_CASE("sampled betweenness stays within its reported bound and is deterministic") {
  std::vector<arc> arcs;
  for (std::uint32_t i = 0; i < 3000; ++i) arcs.push_back({(i * 31u) % 400, (i * 17u + i / 7) % 400, 1.0});
  const digraph g = digraph::from_arcs(400, arcs);
  auto exact = betweenness(g);
  betweenness_options o;
  o.samples = 100;
  o.seed = 5;
  auto a = betweenness(g, o);
  auto b = betweenness(g, o);
  REQUIRE(exact.ok());
  REQUIRE(a.ok());
  CHECK_FALSE(a->exact);
  CHECK(a->sources == 100);
  CHECK(a->epsilon == doctest::Approx(400.0 / 399 * std::sqrt(std::log(800 / 0.01) / 200)));
  CHECK(a->scores == b->scores);
  for (std::uint32_t v = 0; v < 400; ++v) CHECK(std::fabs(a->scores[v] - exact->scores[v]) <= a->epsilon);
  o.samples = 400; // as many as vertices: exact
  CHECK(betweenness(g, o)->exact);
  betweenness_options two;
  two.threads = 2;
  auto t = betweenness(g, two);
  for (std::uint32_t v = 0; v < 400; ++v) CHECK(t->scores[v] == doctest::Approx(exact->scores[v]).epsilon(1e-12));
}

TEST_CASE("betweenness refuses a bad failure probability") {
  betweenness_options o;
  o.delta = 1;
  CHECK(betweenness(digraph::from_arcs(2, {}), o).err().code == tlflow::errc::invalid_argument);
}
