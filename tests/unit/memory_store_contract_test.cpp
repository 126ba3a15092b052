// The graph_store contract suite run against MemoryStore (ephemeral).
#include "support/graph_store_contract.hpp"

#include "store/memory/memory_store.hpp"

namespace {

struct memory_fixture {
  memory_fixture() {
    tlflow::memory_store_options o;
    o.ephemeral = true;
    auto r = tlflow::memory_store::open(o);
    REQUIRE(r.ok());
    store_ = std::move(r).value();
  }
  tlflow::graph_store& store() { return *store_; }
  std::unique_ptr<tlflow::memory_store> store_;
};

} // namespace

TEST_CASE_TEMPLATE_INVOKE(graph_store_contract, memory_fixture);
