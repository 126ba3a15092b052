// api/export_routes.hpp — GET /export (streamed) and the export jobs
// (POST /exports, GET and DELETE /exports/{id}, GET /exports/{id}/file);
// docs/analytics.md, "Exports".
#pragma once

#include "api/analytics_routes.hpp"
#include "api/export_service.hpp"
#include "api/router.hpp"

namespace tlflow::api {

// `exports` must outlive `r`; it need not be open for routes to be listed.
void add_export_routes(router& r, export_service& exports);

// include=pagerank,community from the analytics: PageRank and Louvain (seed
// 0) of the slice, as GET /rankings?by=pagerank and GET /communities answer
// them (for the whole graph: their background snapshot). `analytics` must
// outlive the provider.
extras_provider analytics_extras(analytics_routes& analytics);

} // namespace tlflow::api
