// Bluesky Jetstream over a Boost.Beast WebSocket (Jetstream's README): `ws://` or
// `wss://` (TLS with certificate and host-name verification, SNI),
// `wantedCollections=app.bsky.feed.post&wantedCollections=app.bsky.feed.repost`.
// Jetstream cannot filter by hashtag, so the pipeline filters these messages
// locally (pipeline.hpp).
//
// Cursor: the `time_us` of the last event delivered is kept, written to
// `<data_dir>/jetstream.cursor` at most every `cursor_save_interval` and on
// stop (atomic rename), and sent back as `cursor=` on every reconnect and
// after a restart, `rewind` earlier (5 s by default) so that nothing is
// missed; the events replayed by the rewind are dropped by the pipeline's
// de-duplication. The source reads the cursor with a substring search for
// the top-level "time_us" key rather than parsing the event (it only moves
// bytes; extraction happens in the pipeline).
//
// Threading: one thread runs an asio io_context per connection with
// run_for() slices, checking the stop flag between slices, so stop() is
// prompt in every state (resolving, handshaking, reading, backing off).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "sources/source_base.hpp"

namespace tlflow {

struct jetstream_options {
  std::string url = "wss://jetstream2.us-east.bsky.network/subscribe";
  millis rewind{5000};                 // resume this far before the saved cursor
  millis cursor_save_interval{1000};
};

class jetstream_source final : public source_base {
public:
  // Jetstream documents no client timeout; its server pings every 30 s
  // (WebSocket ping frames, which answer themselves and never complete a
  // read), and the followed collections of the whole network carry events
  // every second. No event for two ping periods means a dead connection;
  // the cursor rewind makes the reconnect lose nothing.
  static constexpr millis default_stall_timeout{60000};

  jetstream_source(source_context ctx, jetstream_options opts);
  ~jetstream_source() override;

  void start() override;
  void on_tracking_changed(const tracking_set&) override {}

  // time_us of the last event delivered (0 before any).
  std::int64_t cursor() const noexcept { return cursor_.load(); }
  std::string cursor_file() const;
  // The request target for a given resume cursor (0: live), for tests/docs.
  std::string target_for(std::int64_t resume_cursor) const;

  // Reads "time_us" off an event; 0 when absent.
  static std::int64_t time_us_of(std::string_view event);

private:
  void loop();
  void save_cursor();

  jetstream_options opts_;
  bool tls_ = true;
  std::string host_;
  std::string port_;
  std::string path_;    // path and query of the configured URL
  std::atomic<std::int64_t> cursor_{0};
  std::int64_t saved_cursor_ = 0;
  bool url_ok_ = true;
};

} // namespace tlflow
