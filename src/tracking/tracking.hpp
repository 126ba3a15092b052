// The tracking configuration: which hashtags (and keywords) the sources
// follow. Changed through the REST API (GET/PUT /tracking, POST/DELETE
// /tracking/hashtags), persisted in `<data_dir>/tracking.json`, and pushed
// live to every observer (the ingest service forwards it to each running
// source and to the pipeline's filter).
//
// Normalisation (normalize_hashtag): surrounding whitespace and one leading
// '#' (or the full-width '＃') are removed, the rest is lower-cased with the
// extractors' extract::normalize_hashtag (ASCII, Latin-1, Latin Extended-A,
// Greek, Cyrillic), so that tracked tags and tags read off posts compare
// byte for byte. Valid: 1–100 characters (code
// points), each a letter or digit in any script (the C.UTF-8 `alnum` class),
// a combining mark (combining diacritics; signs and viramas of the Brahmic
// scripts, which glibc files under punctuation), ZWNJ/ZWJ, or '_'. This matches what the platforms link as a hashtag closely enough;
// punctuation, spaces, emoji and control characters are refused.
// Keywords (normalize_keyword): trimmed, inner whitespace collapsed, 1–100
// characters, valid UTF-8, no control characters or double quotes; case is
// kept (platform keyword matching is case-insensitive anyway).
//
// Limits (max_tracked_hashtags / max_tracked_keywords, tlflow/source.hpp):
// replace() refuses a set over them (invalid_argument), add_hashtag() refuses
// one more hashtag when full (limit_reached), --track is held to them by the
// configuration, and load() keeps the first entries of a saved file over
// them, with a warning, rather than failing: a file the API wrote must never
// stop the service from starting. Saved entries that no longer validate are
// skipped the same way.
//
// Persistence: written atomically (temporary file, fsync, rename). A data dir
// of "" (ephemeral mode) keeps it in memory. On start, a persisted file wins
// over the initial set from --track/TLFLOW_TRACK, so that changes made
// through the API survive a restart; the initial set seeds a fresh data dir.
//
// Thread safety: every method may be called from any thread. Observers are
// called after the change is persisted, outside the state lock (they may call
// get()), in the calling thread, one notification at a time, always with the
// newest configuration; they must not call replace()/add/remove.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tlflow/error.hpp"
#include "tlflow/source.hpp"

namespace tlflow {

// invalid_argument with a message naming the problem.
result<std::string> normalize_hashtag(std::string_view text);
result<std::string> normalize_keyword(std::string_view text);
// Normalises, sorts and de-duplicates both lists. invalid_argument on the
// first invalid entry.
result<tracking_set> normalize_tracking(const tracking_set& in);
// invalid_argument when a normalised set holds more than the limits allow.
status check_tracking_limits(const tracking_set& t);

class tracking {
public:
  using observer = std::function<void(const tracking_set&)>;

  // `data_dir` empty: not persisted. `initial`: used when nothing is persisted.
  tracking(std::string data_dir, tracking_set initial);

  // Reads `<data_dir>/tracking.json` if present, else normalises `initial`
  // (and persists it). invalid_argument (bad initial entry, initial set over
  // the limits), malformed_json/invalid_argument (a file that is not a
  // tracking object at all), io_error.
  status load();

  tracking_set get() const;

  // Each returns the new configuration. invalid_argument (also: over the
  // limits), io_error.
  result<tracking_set> replace(const tracking_set& next);
  // Adding an existing hashtag is not an error (the set is unchanged), even
  // when full; a new one when full is limit_reached.
  result<tracking_set> add_hashtag(std::string_view tag);
  // not_found when the hashtag is not tracked.
  result<tracking_set> remove_hashtag(std::string_view tag);

  // Returns an id for unsubscribe().
  std::uint64_t subscribe(observer fn);
  void unsubscribe(std::uint64_t id);

  std::string file_path() const;

private:
  result<tracking_set> commit(tracking_set next, std::unique_lock<std::mutex>& lock);
  status persist(const tracking_set& t) const;

  std::string data_dir_;
  tracking_set initial_;
  mutable std::mutex mutex_;
  std::mutex notify_mutex_; // serialises notifications so observers see changes in order
  tracking_set current_;
  std::map<std::uint64_t, observer> observers_;
  std::uint64_t next_id_ = 1;
  std::uint64_t version_ = 0;
  std::uint64_t notified_version_ = 0;
};

// {"hashtags":[...],"keywords":[...]}
std::string tracking_to_json(const tracking_set& t);
// Parses the body of PUT /tracking (both keys optional, arrays of strings;
// a missing key means empty). malformed_json, invalid_argument. Not normalised.
result<tracking_set> tracking_from_json(std::string_view json);

} // namespace tlflow
