// tlflow/source.hpp — the port between a source of posts and the pipeline
// (docs/architecture.md, "Data flow" and "Sources and tracking").
//
// A source only moves bytes: it connects, reconnects with backoff, and hands
// complete raw messages (one JSON document each) to a `message_sink`. It never
// parses interactions; the pipeline runs the extractor named by the message's
// `wire_format`.
//
// Thread safety: a source runs its own thread(s) between start() and stop().
// start(), stop(), on_tracking_changed() and state() may be called from any
// thread, concurrently with each other and with the source's own threads.
// message_sink::push() is called from source threads only and may block.
//
// Errors: a source never throws out of these methods and never terminates the
// process. Network and HTTP failures, bad bytes and malformed messages are
// counted in its `source_state` (errors, last_error) and handled by
// reconnecting; a message that is not valid JSON is still pushed, and the
// extractor reports it as malformed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tlflow {

// The wire format of one raw message, which picks the extractor.
enum class wire_format : std::uint8_t {
  detect,      // unknown: the pipeline recognises it per message (files, stdin)
  x_v2,        // X API v2 filtered-stream line (or a twarc 2.x page / flattened post)
  twitter_v1,  // Twitter v1.1 status or stream notice
  mastodon,    // Mastodon Status JSON (an SSE `update` payload)
  jetstream,   // Bluesky Jetstream event
};
std::string_view to_string(wire_format f) noexcept;

struct raw_message {
  std::string source;          // name of the source that produced it, e.g. "x"
  wire_format format = wire_format::detect;
  std::string bytes;           // exactly one JSON document, no trailing newline
  std::string origin;          // optional context: the Mastodon instance host
                               // (qualifies local accts), a file name, ...
};

// Where a source delivers messages. push() blocks while the pipeline is full
// (backpressure: nothing is dropped) and returns false once the pipeline is
// shutting down, after which the source should stop reading.
class message_sink {
public:
  virtual ~message_sink() = default;
  virtual bool push(raw_message msg) = 0;
};

// What is tracked: hashtags (normalised: lower-case, no '#') and keywords
// (free phrases, used where a platform can filter on them).
//
// The limits are constants rather than settings so that the API, the saved
// tracking file and --track can never disagree across a restart: the API
// refuses past them, and a saved file over them (an older version wrote it)
// loads its first entries instead of stopping the service.
inline constexpr std::size_t max_tracked_hashtags = 1000;
inline constexpr std::size_t max_tracked_keywords = 1000;

struct tracking_set {
  std::vector<std::string> hashtags;  // sorted, unique
  std::vector<std::string> keywords;  // sorted, unique
  friend bool operator==(const tracking_set& a, const tracking_set& b) {
    return a.hashtags == b.hashtags && a.keywords == b.keywords;
  }
  friend bool operator!=(const tracking_set& a, const tracking_set& b) { return !(a == b); }
};

// A source's health as /status and /metrics show it.
struct source_state {
  std::string name;                 // "x", "twitter-v1", "mastodon", "jetstream", "file:<path>"
  bool connected = false;           // a stream is open (file: being read)
  bool finished = false;            // a file source reached its end
  std::uint64_t connections = 0;    // streams successfully opened
  std::uint64_t reconnects = 0;     // connection attempts after the first
  std::uint64_t messages = 0;       // raw messages pushed
  std::uint64_t bytes = 0;          // payload bytes received
  std::uint64_t errors = 0;         // failed attempts, dropped connections, bad frames
  std::string last_message_at;      // ISO-8601 UTC, empty before the first
  std::string last_error;           // for a person; never contains secrets
  std::uint64_t last_delay_ms = 0;  // the backoff delay most recently waited
};

class source {
public:
  virtual ~source() = default;

  virtual const std::string& name() const noexcept = 0;

  // Starts the source's thread(s). Called once.
  virtual void start() = 0;

  // Asks the source to stop and joins its threads; returns promptly (well
  // under a second), also in the middle of a backoff wait or a stalled read.
  // Idempotent.
  virtual void stop() = 0;

  // The tracking configuration changed; apply it live (resync X rules,
  // reconnect v1.1 with a new `track=`, open/close Mastodon streams, swap a
  // local filter). Also called once before start() with the initial set.
  virtual void on_tracking_changed(const tracking_set& t) = 0;

  virtual source_state state() const = 0;
};

} // namespace tlflow
