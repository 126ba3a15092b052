#include <doctest/doctest.h>

#include "tlflow/graph_store.hpp"
#include "tlflow/model.hpp"

using namespace tlflow;

TEST_CASE("vertex ids: length, UTF-8 and control characters") {
  CHECK(validate_vertex_id("twitter:2244994945").empty());
  CHECK(validate_vertex_id("x').drop();g.V().drop();//").empty());
  CHECK(validate_vertex_id("a/b/../c \"q\" \xF0\x9F\x98\x80").empty());
  CHECK(validate_vertex_id(std::string(256, 'a')).empty());
  CHECK_FALSE(validate_vertex_id("").empty());
  CHECK_FALSE(validate_vertex_id(std::string(257, 'a')).empty());
  CHECK_FALSE(validate_vertex_id(std::string("a\0b", 3)).empty());
  CHECK_FALSE(validate_vertex_id("a\nb").empty());
  CHECK_FALSE(validate_vertex_id("a\x7f").empty());
  CHECK_FALSE(validate_vertex_id("a\xC2\x85").empty());   // U+0085 NEL
  CHECK_FALSE(validate_vertex_id("\xC0\xAF").empty());     // overlong '/'
  CHECK_FALSE(validate_vertex_id("\xED\xA0\x80").empty()); // surrogate
  CHECK_FALSE(validate_vertex_id("\xF0\x9F\x98").empty()); // truncated
}

TEST_CASE("edge kinds round-trip through their names") {
  for (edge_kind k : all_edge_kinds) {
    auto parsed = parse_edge_kind(to_string(k));
    REQUIRE(parsed.has_value());
    CHECK(*parsed == k);
  }
  CHECK_FALSE(parse_edge_kind("Mention").has_value());
  CHECK_FALSE(parse_edge_kind("").has_value());
}

TEST_CASE("locations are normalised for flows") {
  CHECK(normalize_location("  New   York\tCity ") == "new york city");
  CHECK(normalize_location("   ").empty());
  CHECK(normalize_location("São Paulo") == "são paulo");
}
