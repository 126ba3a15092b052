// The slice filters that every analytics, export and changefeed route takes
// (docs/analytics.md, "Slices"), parsed in one place:
//
//   kind=      mention|reply|repost|quote|link   repeatable or comma-separated
//   hashtag=   a hashtag, '#' optional           repeatable or comma-separated
//   since=     ISO-8601 time or date (a date means its first second, UTC)
//   until=     ISO-8601 time or date (a date means its last second, UTC)
//   min_weight= integer 0..1000000000
//   platform=  twitter|mastodon|bluesky         repeatable or comma-separated
//
// Bad input throws api_error(invalid_argument) naming the parameter.
#pragma once

#include "api/router.hpp"
#include "tlflow/graph_store.hpp"

namespace tlflow::api {

slice parse_slice(const request& q);

// The query string that parse_slice reads back as `s` (for links and job
// records); empty for the whole graph.
std::string slice_query(const slice& s);

} // namespace tlflow::api
