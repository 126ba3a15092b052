// extract/extract.hpp — pure extractors: one raw message -> interactions.
//
// Every supported wire format (X API v2 filtered stream and twarc2 archives,
// Twitter v1.1 and twarc 1.x archives, Mastodon statuses, Bluesky Jetstream
// events) is read by one function, `extract()`, that never throws on bad
// input and does no I/O. What it could not use is reported as a value: an
// `error_reason` the pipeline counts per reason, or a `notice_kind` for the
// platform's control messages (delete, limit, disconnect, ...), which are not
// errors. The rules for the ambiguous cases (retweet mentions, reply
// mentions, self-interactions, deleted references) are in
// docs/extraction-rules.md.
//
// Thread safety: all functions are reentrant; each thread keeps its own
// scratch buffers (thread_local), so concurrent calls need no locking.
#pragma once

#include "tlflow/model.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlflow::extract {

enum class format : std::uint8_t {
  auto_detect, // look at the message's keys (see detect_format)
  x_v2,        // X API v2 stream line, twarc2 response page, twarc2 flattened post
  twitter_v1,  // Twitter v1.1 status or stream notice, twarc 1.x lines
  mastodon,    // Mastodon Status JSON (SSE `update` payload) or WebSocket envelope
  jetstream,   // Bluesky Jetstream event (commit / identity / account)
};

// Names: "auto", "x" | "x-v2" | "twarc2", "twitter-v1" | "v1" | "twarc",
// "mastodon", "jetstream" | "bluesky". Case-sensitive.
std::optional<format> parse_format(std::string_view name) noexcept;
std::string_view to_string(format f) noexcept;

// Why a message produced nothing usable. `none` when it did (or was a notice).
enum class error_reason : std::uint8_t {
  none,
  empty,          // blank line / keep-alive: nothing to do (not counted as malformed)
  malformed_json, // not one complete JSON document (truncated, trailing garbage, ...)
  invalid_utf8,   // JSON strings hold bytes that are not UTF-8
  not_a_post,     // valid JSON, but not a message of the expected format
  missing_field,  // looks like a post but lacks what we need (id, author, ...)
};
std::string_view to_string(error_reason r) noexcept; // snake_case, stable (metric labels)

// Control messages of the platforms. Not errors; counted separately.
enum class notice_kind : std::uint8_t {
  none,
  delete_post,  // v1.1 {"delete":...}, Jetstream commit delete, Mastodon `delete`
  scrub_geo,    // v1.1 {"scrub_geo":...}
  limit,        // v1.1 {"limit":{"track":N}}: N undelivered matches
  disconnect,   // v1.1 {"disconnect":...}; X v2 {"errors":[{disconnect_type...}]}
  warning,      // v1.1 {"warning":...} stall warning
  stream_error, // X v2 top-level {"errors":[...]} without data, {"title":...} problem
  ignored,      // valid, carries no interactions by design (Jetstream identity /
                // account / other collections, Mastodon non-status events)
};
std::string_view to_string(notice_kind n) noexcept;

// One post read off the message (a twarc2 page carries many).
struct extracted_post {
  std::string post_id;                // "<platform>:<post id>", the de-duplication key
  account author;
  std::string at;                     // ISO-8601 UTC, YYYY-MM-DDTHH:MM:SSZ
  // Sorted, unique, lower-case, no '#': the post's own hashtags plus those of
  // the posts it quotes or reposts (as far as the message carries them) and,
  // for X v2, the hashtags named by tlflow's matching rules — everything that
  // can have made the platform match the post (docs/extraction-rules.md).
  std::vector<std::string> hashtags;
  std::vector<std::string> rule_tags; // X v2 matching_rules[].tag (as sent)
  // Bluesky: the reposted / quoted post, "bluesky:at://<did>/app.bsky.feed.post/<rkey>".
  // Jetstream carries only its URI, so the pipeline's local filter gives the
  // post the tracked hashtags of that post when it saw it recently.
  std::string reposted_post_id;
  std::string quoted_post_id;
};

struct extraction {
  format detected = format::auto_detect; // the format the message was read as
  error_reason error = error_reason::none;
  notice_kind notice = notice_kind::none;
  std::string detail;                     // short text for a log line (no message bytes)
  std::vector<extracted_post> posts;
  // At most one per (post_id, to, kind); self-interactions are dropped.
  std::vector<interaction> interactions;
  // Every account seen (authors first, then acted-upon accounts), unique by id.
  std::vector<account> accounts;
  // For notice_kind::delete_post: the deleted post, "<platform>:<post id>".
  std::string deleted_post_id;
  // For notice_kind::limit: the number of undelivered posts the platform reported.
  std::uint64_t limit_count = 0;

  // Elements of earlier messages, kept for their string capacity: the reusing
  // overload of extract() refills them instead of allocating anew. Internal;
  // moving `interactions` out is fine (the pool then just stays smaller).
  std::vector<interaction> spare_interactions_;
  std::vector<account> spare_accounts_;

  bool ok() const noexcept { return error == error_reason::none && notice == notice_kind::none; }
  bool is_notice() const noexcept { return notice != notice_kind::none; }
  bool is_error() const noexcept { return error != error_reason::none; }
  void clear() noexcept;
};

// Extracts one raw message (one JSON document; a trailing '\r' or '\n' is
// fine). Never throws except std::bad_alloc.
extraction extract(format f, std::string_view raw);
// Same, reusing `out`'s capacity (the fast path for bulk import).
void extract(format f, std::string_view raw, extraction& out);

// The format a message looks like, from its top-level keys; auto_detect when
// none fits (including malformed input).
format detect_format(std::string_view raw);

// Hashtag normalisation used everywhere: strips one leading '#' (or U+FF03),
// lower-cases ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic letters;
// other code points are kept as they are.
std::string normalize_hashtag(std::string_view tag);

// Time normalisation: Twitter v1.1 "Wed Oct 10 20:19:24 +0000 2018" or ISO-8601
// with optional fraction and Z / ±hh:mm offset -> "YYYY-MM-DDTHH:MM:SSZ".
// Empty string when it cannot be parsed.
std::string normalize_time(std::string_view text);

} // namespace tlflow::extract
