// api/live_routes.hpp — the changefeed routes (docs/live.md): GET /changes
// (Server-Sent Events), GET /changes/ws (WebSocket) and GET /gephi (Gephi
// graph streaming), served from a live::changefeed.
#pragma once

#include "api/analytics_routes.hpp"
#include "api/router.hpp"
#include "live/changefeed.hpp"
#include "tlflow/graph_store.hpp"

namespace tlflow::api {

// `feed` and `store` must outlive `r` and every stream it starts.
void add_live_routes(router& r, live::changefeed& feed, graph_store& store);

// GET /gephi's pagerank and community: the background whole-graph snapshot
// of `analytics` (its PageRank and Louvain seed 0, as /rankings and
// /vertices/{id}/community answer for the unfiltered graph); one
// attributes object per published snapshot. `analytics` must outlive it.
live::attributes_source analytics_attributes(analytics_routes& analytics);

} // namespace tlflow::api
