// The graph_store contract suite against a real Gremlin server, when
// TLFLOW_TEST_GREMLIN_URL names one (e.g. ws://127.0.0.1:8182/gremlin).
// TLFLOW_TEST_GREMLIN_DIALECT (default tinkerpop), TLFLOW_TEST_GREMLIN_USER
// and TLFLOW_TEST_GREMLIN_PASSWORD are optional (over ws:// also
// TLFLOW_TEST_GREMLIN_ALLOW_PLAINTEXT_AUTH=1). THE SERVER'S GRAPH IS
// DROPPED before each subcase: never point this at data you want to keep.
// Its own executable (tests/scripts/gremlin.cmake) so that it can skip
// visibly (exit 77) when the variable is not set.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>

#include "tlflow/gremlin/client.hpp"
#include "store/gremlin/gremlin_store.hpp"
#include "store/gremlin/scripts.hpp"
#include "support/graph_store_contract.hpp"
#include "support/rest_parity.hpp"

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
    // Credentials over ws:// only when asked (TLFLOW_TEST_GREMLIN_ALLOW_PLAINTEXT_AUTH=1).
    o.client.allow_plaintext_auth = env("TLFLOW_TEST_GREMLIN_ALLOW_PLAINTEXT_AUTH") == "1";
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

// What GremlinStore does when a batch's reply was lost: it sends the same
// request again. The server must apply it once.
TEST_CASE("a batch request sent twice is applied once") {
  real_gremlin_fixture f;
  auto d = gremlin::parse_dialect(env("TLFLOW_TEST_GREMLIN_DIALECT", "tinkerpop"));
  REQUIRE(d.has_value());
  gremlin::templates t(*d, "pk");
  gremlin::write_batch b;
  b.id = gremlin::graphson::random_uuid();
  for (const char* id : {"twice:a", "twice:b"}) {
    gremlin::batch_item a;
    a.id = id;
    b.items.push_back(a);
  }
  gremlin::batch_item e;
  e.is_edge = true;
  e.from = "twice:a";
  e.to = "twice:b";
  e.kind = "mention";
  e.rank = gremlin::kind_rank(edge_kind::mention);
  e.increment = 3;
  e.first = e.last = "2026-12-06T10:00:00Z";
  b.items.push_back(e);
  gremlin::script_request r = t.batch(b);
  std::string script = r.script;
  gremlin::graphson::value bindings = r.bindings;
  if (!t.uses_bindings()) {
    auto text = gremlin::inline_bindings(r.script, r.bindings);
    REQUIRE(text.ok());
    script = *text;
    bindings = gremlin::graphson::value::object();
  }
  gremlin::client_options co;
  co.url = env("TLFLOW_TEST_GREMLIN_URL");
  co.user = env("TLFLOW_TEST_GREMLIN_USER");
  co.password = env("TLFLOW_TEST_GREMLIN_PASSWORD");
  co.allow_plaintext_auth = env("TLFLOW_TEST_GREMLIN_ALLOW_PLAINTEXT_AUTH") == "1";
  if (*d == gremlin::dialect::cosmos) co.serializer = gremlin::graphson::version::v2;
  auto c = gremlin::client::create(co);
  REQUIRE(c.ok());
  for (int i = 0; i < 2; ++i) {
    auto sent = (*c)->submit(script, bindings);
    REQUIRE_MESSAGE(sent.ok(), (sent.ok() ? "" : sent.err().message));
  }
  CHECK(contract::get_edge(f.store(), "twice:a", "twice:b", edge_kind::mention).weight == 3);
  CHECK(*f.store().count_vertices() == 2); // the marker is no account
}

// The service itself on the real server: the same ingestion as the memory
// store, then every REST read, analytics route and export compared
// (tests/support/rest_parity.hpp).
TEST_CASE("the service on the real server answers the REST API as on the memory store") {
  real_gremlin_fixture emptied; // drops the server's graph
  using tlflow::test::service_process;
  service_process::options mo;
  mo.args = tlflow::test::parity::service_args();
  service_process mem(mo);
  service_process::options go;
  go.args = tlflow::test::parity::service_args();
  for (const std::string& a :
       {std::string("--store"), std::string("gremlin"), std::string("--gremlin-url"),
        env("TLFLOW_TEST_GREMLIN_URL"), std::string("--gremlin-dialect"),
        env("TLFLOW_TEST_GREMLIN_DIALECT", "tinkerpop")})
    go.args.push_back(a);
  if (!env("TLFLOW_TEST_GREMLIN_USER").empty())
    for (const std::string& a : {std::string("--gremlin-user"), env("TLFLOW_TEST_GREMLIN_USER"),
                                 std::string("--gremlin-password"), env("TLFLOW_TEST_GREMLIN_PASSWORD")})
      go.args.push_back(a);
  if (env("TLFLOW_TEST_GREMLIN_ALLOW_PLAINTEXT_AUTH") == "1") go.args.push_back("--gremlin-allow-plaintext-auth");
  service_process grem(go);
  REQUIRE(mem.start());
  REQUIRE(grem.start());
  tlflow::test::parity::check_same_answers(mem, grem);
  // A clean stop removes the export jobs' temporary directories.
  CHECK(mem.terminate() == 0);
  CHECK(grem.terminate() == 0);
}

int main(int argc, char** argv) {
  if (env("TLFLOW_TEST_GREMLIN_URL").empty()) {
    std::puts("SKIPPED: TLFLOW_TEST_GREMLIN_URL is not set: no real Gremlin server to test against");
    return 77;
  }
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
