// The graph_store contract suite against a real Gremlin server, when
// TLFLOW_TEST_GREMLIN_URL names one (e.g. ws://127.0.0.1:8182/gremlin).
// TLFLOW_TEST_GREMLIN_DIALECT (default tinkerpop), TLFLOW_TEST_GREMLIN_USER
// and TLFLOW_TEST_GREMLIN_PASSWORD are optional. THE SERVER'S GRAPH IS
// DROPPED before each subcase: never point this at data you want to keep.
// Its own executable (tests/scripts/gremlin.cmake) so that it can skip
// visibly (exit 77) when the variable is not set.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>

#include "store/gremlin/client.hpp"
#include "store/gremlin/gremlin_store.hpp"
#include "support/graph_store_contract.hpp"

namespace {

using namespace tlflow;

std::string env(const char* name, const char* fallback = "") {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

struct real_gremlin_fixture {
  std::unique_ptr<gremlin::gremlin_store> store_;

  real_gremlin_fixture() {
    gremlin::gremlin_store_options o;
    o.client.url = env("TLFLOW_TEST_GREMLIN_URL");
    o.client.user = env("TLFLOW_TEST_GREMLIN_USER");
    o.client.password = env("TLFLOW_TEST_GREMLIN_PASSWORD");
    o.client.request_timeout = std::chrono::seconds(60);
    o.dialect = env("TLFLOW_TEST_GREMLIN_DIALECT", "tinkerpop");
    // Empty the graph with the plain client (the only non-template script).
    auto c = gremlin::client::create(o.client);
    REQUIRE(c.ok());
    auto dropped = (*c)->submit("g.V().drop()");
    REQUIRE_MESSAGE(dropped.ok(), (dropped.ok() ? "" : dropped.err().message));
    auto s = gremlin::gremlin_store::open(o);
    REQUIRE(s.ok());
    store_ = std::move(*s);
  }
  graph_store& store() { return *store_; }
};

} // namespace

TEST_CASE_TEMPLATE_INVOKE(graph_store_contract, real_gremlin_fixture);

int main(int argc, char** argv) {
  if (env("TLFLOW_TEST_GREMLIN_URL").empty()) {
    std::puts("SKIPPED: TLFLOW_TEST_GREMLIN_URL is not set: no real Gremlin server to test against");
    return 77;
  }
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
