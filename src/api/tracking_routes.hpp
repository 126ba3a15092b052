// REST routes of the tracking configuration (docs/ingestion.md, "Tracking"):
//   GET    /tracking                 -> 200 {"hashtags":[...],"keywords":[...]}
//   PUT    /tracking                 body {"hashtags":[...],"keywords":[...]} -> 200 (the new set)
//   POST   /tracking/hashtags        body {"hashtag":"..."} -> 201 added, 200 already tracked
//   DELETE /tracking/hashtags/{tag}  -> 200 (the new set); 404 not_found if not tracked
// Bad input is 400 invalid_argument / malformed_json in the standard error
// shape. Changes are persisted and applied live to every running source.
#pragma once

#include "api/router.hpp"
#include "tracking/tracking.hpp"

namespace tlflow::api {

void add_tracking_routes(router& r, tracking& t);

// The domain half of POST /tracking/hashtags: parses {"hashtag":"..."}.
// malformed_json, invalid_argument.
result<std::string> hashtag_from_json(std::string_view body);

} // namespace tlflow::api
