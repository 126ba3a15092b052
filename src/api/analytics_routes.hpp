// The analytics routes (docs/analytics.md): reads over a slice of the graph,
// all on the server's worker pool.
//
//   GET /rankings?by=&limit=&<slice>          top accounts by a score
//   GET /communities?algorithm=&seed=&<slice> a partition, paged by account
//   GET /vertices/{id}/community              one account's community
//   GET /graph?by=&limit=&<slice>             the top accounts and the edges among them
//   GET /vertices/{id}/ego?radius=&limit=     the neighbourhood, from the store
//   GET /search?q=&limit=&cursor=             accounts by handle or name
//   GET /summary?<slice>                      counts, structure, time series
//
// The whole-graph answers come from a snapshot the analytics engine keeps
// fresh in the background (reply fields computed_at, age_seconds); a filtered
// request builds its own from the store. Owns the engine: construct, add(),
// start() once the store is open, stop() before the store closes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "api/routes.hpp"

namespace tlflow::analytics {
class snapshot;
} // namespace tlflow::analytics

namespace tlflow::api {

struct analytics_settings {
  std::uint64_t max_elements = 12000000; // vertices + edges of one slice (422 above); 0: none
  unsigned refresh_s = 60;               // 0: no background snapshot
  std::uint64_t refresh_changes = 10000;
  // Power iterations of a background PageRank refresh (warm-started); 0: converge.
  std::uint32_t pagerank_refresh_iterations = 3;
  std::uint64_t pagerank_bound_arcs = 1000000; // ... on graphs of at least this many arcs
  // Sampled betweenness: sources × (vertices + arcs) per snapshot; 0: no cap.
  std::uint64_t betweenness_work = 200000000;
  // GET /graph computes a filtered slice's Louvain partition up to this many
  // vertices + edges (community null above); 0: never.
  std::uint64_t graph_communities = 1000000;
  // Monotonic count of changes to the graph (see analytics::engine_options).
  std::function<std::uint64_t()> changes;
};

class analytics_routes {
public:
  analytics_routes(api_context& ctx, analytics_settings settings);
  ~analytics_routes();
  analytics_routes(const analytics_routes&) = delete;
  analytics_routes& operator=(const analytics_routes&) = delete;

  void add(router& r);
  void start();
  void stop();

  // The analytics of `s` as the routes see them (the background snapshot
  // for the whole graph), for other routes: the exports' include=.
  result<std::shared_ptr<const analytics::snapshot>> view(const slice& s);
  // The background whole-graph snapshot as published (null: none yet, or
  // no background refresh); never builds one. For GET /gephi's attributes.
  std::shared_ptr<const analytics::snapshot> published();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace tlflow::api
