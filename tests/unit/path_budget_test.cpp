// The path search's work budget (path_query::max_visited): past it the
// memory store answers too_expensive instead of walking on.
#include <string>

#include <doctest/doctest.h>

#include "api/router.hpp"
#include "store/memory/memory_store.hpp"

using namespace tlflow;

TEST_CASE("path search: max_visited gives too_expensive (422), 0 means no budget") {
  memory_store_options o;
  o.ephemeral = true;
  auto opened = memory_store::open(o);
  REQUIRE(opened.ok());
  auto& s = **opened;
  // A chain a - v0 - ... - v19 - b with a fan of 50 leaves on every link.
  std::string prev = "a";
  for (int i = 0; i < 20; ++i) {
    const std::string v = "v" + std::to_string(i);
    add_edge_request req;
    req.key = {prev, v, edge_kind::mention};
    REQUIRE(s.add_edge(req).ok());
    for (int j = 0; j < 50; ++j) {
      add_edge_request leaf;
      leaf.key = {v, v + "_leaf" + std::to_string(j), edge_kind::reply};
      REQUIRE(s.add_edge(leaf).ok());
    }
    prev = v;
  }
  add_edge_request last;
  last.key = {prev, "b", edge_kind::mention};
  REQUIRE(s.add_edge(last).ok());

  path_query q;
  q.max_depth = 32;
  auto unlimited = s.shortest_path("a", "b", q);
  REQUIRE(unlimited.ok());
  CHECK(unlimited->size() == 22);

  q.max_visited = 100;
  auto limited = s.shortest_path("a", "b", q);
  REQUIRE_FALSE(limited.ok());
  CHECK(limited.err().code == errc::too_expensive);
  CHECK(api::http_status(errc::too_expensive) == 422);
  CHECK(to_string(errc::too_expensive) == "too_expensive");

  q.max_visited = 5000;  // enough for the whole graph
  CHECK(s.shortest_path("a", "b", q).ok());
  s.close();
}
