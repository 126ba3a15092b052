// The graph_store contract suite over GremlinStore, against the Gremlin test
// server on loopback: once as TinkerPop (GraphSON 3, bindings) and once as
// Cosmos DB (GraphSON 2 requests, untyped replies with x-ms-* attributes,
// partition key property).
#include <doctest/doctest.h>

#include "store/gremlin/gremlin_store.hpp"
#include "support/graph_store_contract.hpp"
#include "support/gremlin_graph_evaluator.hpp"
#include "support/gremlin_test_server.hpp"

namespace {

using namespace tlflow;

template <bool Cosmos>
struct gremlin_fixture_t {
  test::gremlin_test_server server{make_server_options()};
  std::unique_ptr<gremlin::gremlin_store> store_;

  static test::gremlin_test_server_options make_server_options() {
    test::gremlin_test_server_options o;
    o.cosmos = Cosmos;
    o.evaluator = test::make_graph_evaluator(Cosmos ? gremlin::dialect::cosmos : gremlin::dialect::tinkerpop, "pk");
    return o;
  }

  gremlin_fixture_t() {
    gremlin::gremlin_store_options o;
    o.client.url = server.url();
    o.client.pool_size = 4;
    o.dialect = Cosmos ? "cosmos" : "tinkerpop";
    auto s = gremlin::gremlin_store::open(o);
    REQUIRE(s.ok());
    store_ = std::move(*s);
  }
  graph_store& store() { return *store_; }
};

using gremlin_fixture = gremlin_fixture_t<false>;
using gremlin_cosmos_fixture = gremlin_fixture_t<true>;

} // namespace

TEST_CASE_TEMPLATE_INVOKE(graph_store_contract, gremlin_fixture, gremlin_cosmos_fixture);
