// The Gremlin test server's default evaluator: an in-memory property graph
// that executes GremlinStore's script templates (src/store/gremlin/scripts.hpp).
//
// Honest scope: this is not a Gremlin engine. A script is recognised only if
// its text is EXACTLY one of the texts `templates` generates (for the shape
// implied by the bindings present), and its meaning is then executed here in
// C++ with the binding values. Any other script fails with 597, as a real
// server fails an unknown variable. A few tiny scripts for client tests are
// recognised too: "g.inject(x)", "g.inject(x).unfold()", and
// "tlflow_test_vertices(n)" (n made-up vertices, for driver checks and the
// serialization benchmark; not Gremlin) and "tlflow_test_batch_markers()"
// (how many batch marker vertices the graph holds).
// Faithfulness of the store's Gremlin itself is checked against a real
// Gremlin Server (tests/integration/gremlin_real_server_test.cpp).
#pragma once

#include <memory>
#include <string>

#include "store/gremlin/scripts.hpp"
#include "support/gremlin_test_server.hpp"

namespace tlflow::test {

gremlin_evaluator make_graph_evaluator(gremlin::dialect d = gremlin::dialect::tinkerpop,
                                       std::string partition_key = "pk");

} // namespace tlflow::test
