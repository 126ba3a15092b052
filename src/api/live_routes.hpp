// api/live_routes.hpp — the changefeed routes (docs/live.md): GET /changes
// (Server-Sent Events), GET /changes/ws (WebSocket) and GET /gephi (Gephi
// graph streaming), served from a live::changefeed.
#pragma once

#include "api/router.hpp"
#include "live/changefeed.hpp"
#include "tlflow/graph_store.hpp"

namespace tlflow::api {

// `feed` and `store` must outlive `r` and every stream it starts.
void add_live_routes(router& r, live::changefeed& feed, graph_store& store);

} // namespace tlflow::api
