// api/routes.hpp — the REST routes (docs/architecture.md, "REST API")
// except /tracking* (those live in src/api/tracking_routes.cpp and are added
// to the same router).
//
// Handlers run on the server's I/O threads (routes marked heavy on its
// worker pool), many at once; everything they
// touch (graph_store, undo_tickets, metrics_registry) is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>

#include "api/json.hpp"
#include "api/router.hpp"
#include "api/undo.hpp"
#include "tlflow/graph_store.hpp"
#include "util/metrics.hpp"

namespace tlflow::api {

struct api_context {
  graph_store& store;
  undo_tickets& tickets;
  metrics_registry& metrics;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // The `ingest` object of /status as a JSON object text (the pipeline's
  // figures). Empty function: `"ingest":{}`.
  std::function<std::string()> ingest_status;
  // Vertices a path search may visit (path_query::max_visited); 0: no budget.
  std::size_t path_budget = 0;
  // Successful writes through the API, for the analytics refresh (a change
  // count; ingestion counts its own).
  std::atomic<std::uint64_t> writes{0};
};

// Registers every core and legacy route on `r`. `ctx` must outlive `r`.
void add_core_routes(router& r, api_context& ctx);

// Store sizes as callback gauges (tlflow_store_vertices, tlflow_store_edges).
void register_store_gauges(metrics_registry& m, graph_store& store);

} // namespace tlflow::api
