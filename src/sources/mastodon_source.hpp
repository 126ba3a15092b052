// Mastodon hashtag streaming (Mastodon's streaming API docs).
//
// WebSocket first: one connection per instance, `ws[s]://<host>/api/v1/streaming`
// (the configured URL's scheme mapped http→ws, https→wss; TLS with
// certificate and host-name verification, SNI), the token as
// `Authorization: Bearer` on the upgrade (Mastodon 4.2+ wants a user token
// with read:statuses; never in the URL, which proxies log). One
// `{"type":"subscribe","stream":"hashtag","tag":"<tag>"}` per tracked tag;
// tracking changes send subscribe/unsubscribe on the same connection, without
// reconnecting. Each server message (`{"stream":["hashtag","<tag>"],
// "event":"update","payload":"<Status JSON as a string>"}`) is delivered
// whole as wire_format::mastodon with the instance host as origin: the
// extractor unwraps the payload string and ignores what is not a status.
// The server pings every 30 s (Beast answers); any frame, ping included,
// keeps the stall detector quiet. After a reconnect every tag is subscribed
// again.
//
// Server-Sent Events as the fallback, when the WebSocket upgrade is refused
// with an HTTP status other than 401/403/429/5xx (an instance or proxy
// without WebSocket streaming): one stream per tag,
// `GET {url}/api/v1/streaming/hashtag?tag=<tag>`, each its own thread and
// backoff, at most `max_sse_streams` of them (the first tags in sorted
// order; the rest are logged as not followed). `update` events are
// delivered as above; `delete` and `status.update` are ignored (an edit is
// the same post id). `:thump` heartbeats (every 15 s) keep the stall
// detector quiet. Once in fallback the source stays there until restart.
// A status carrying two tracked tags arrives twice (two subscriptions or
// two streams); the pipeline's de-duplication keeps one.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sources/source_base.hpp"

namespace tlflow {

struct mastodon_options {
  std::string url;        // instance or streaming host base URL (http[s]://)
  std::string token;      // secret
  // Cap on SSE fallback streams (one thread and one connection each).
  std::size_t max_sse_streams = 20;
};

class mastodon_source final : public source_base {
public:
  // WebSocket: the server pings every 30 s; two periods without any frame
  // is a dead connection. SSE: a `:thump` every 15 s, two periods likewise.
  static constexpr millis default_stall_timeout{30000};
  static constexpr millis websocket_stall_timeout{60000};

  mastodon_source(source_context ctx, mastodon_options opts);
  ~mastodon_source() override;

  void start() override;
  void on_tracking_changed(const tracking_set& t) override;

  // Tags with an SSE stream thread running (tests).
  std::vector<std::string> open_streams() const;
  // Tags subscribed on the open WebSocket (tests).
  std::vector<std::string> subscriptions() const;
  // True once the WebSocket upgrade was refused and SSE took over.
  bool sse_fallback() const noexcept { return fallback_.load(); }
  // Host part of the URL ("example.social").
  static std::string host_of(const std::string& url);
  // {"type":"subscribe"|"unsubscribe","stream":"hashtag","tag":"<tag>"}
  static std::string subscription_message(bool subscribe, const std::string& tag);

protected:
  void on_stop() override;

private:
  struct stream_worker {
    std::string tag;
    std::atomic<bool> stop{false};
    std::thread thread;
  };
  void apply(const std::vector<std::string>& tags);
  void run(stream_worker& w);
  void ws_loop();
  millis ws_stall_timeout() const;

  mastodon_options opts_;
  std::string host_;
  bool ws_tls_ = true;
  std::string ws_host_, ws_port_, ws_path_;
  bool ws_url_ok_ = true;
  std::atomic<bool> fallback_{false};
  mutable std::mutex mutex_;
  bool started_ = false;
  std::vector<std::string> tags_;
  std::uint64_t tags_version_ = 0;
  std::vector<std::string> subscribed_;  // mirror of the WebSocket's subscriptions
  std::map<std::string, std::unique_ptr<stream_worker>> workers_;
};

} // namespace tlflow
