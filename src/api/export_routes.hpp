// api/export_routes.hpp — GET /export (streamed) and the export jobs
// (POST /exports, GET and DELETE /exports/{id}, GET /exports/{id}/file);
// docs/analytics.md, "Exports".
#pragma once

#include "api/export_service.hpp"
#include "api/router.hpp"

namespace tlflow::api {

// `exports` must outlive `r`; it need not be open for routes to be listed.
void add_export_routes(router& r, export_service& exports);

} // namespace tlflow::api
