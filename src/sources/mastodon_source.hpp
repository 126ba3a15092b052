// Mastodon hashtag streaming over Server-Sent Events (Mastodon's streaming API docs): one
// stream per tracked hashtag, `GET {mastodon_url}/api/v1/streaming/hashtag?tag=<tag>`
// with `Authorization: Bearer <token>` (Mastodon 4.2+ wants a user token with
// read:statuses). Streams are opened and closed live as tracking changes.
// `update` events carry a Status JSON, delivered as wire_format::mastodon
// with the instance host as origin (local accts are qualified with it);
// `delete` and `status.update` events are ignored (an edit is the same post
// id, so it would only count as a duplicate). `:thump` heartbeats (every
// 15 s) keep the stall detector quiet. A status carrying two tracked tags
// arrives on two streams; the pipeline's de-duplication keeps one.
// Each stream has its own thread and its own backoff.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sources/source_base.hpp"

namespace tlflow {

struct mastodon_options {
  std::string url;        // instance or streaming host base URL
  std::string token;      // secret
};

class mastodon_source final : public source_base {
public:
  // The streaming server writes a `:thump` comment every 15 s; Mastodon
  // documents no client rule, so two heartbeat periods: one late heartbeat
  // on a loaded server is not a dead stream.
  static constexpr millis default_stall_timeout{30000};

  mastodon_source(source_context ctx, mastodon_options opts);
  ~mastodon_source() override;

  void start() override;
  void on_tracking_changed(const tracking_set& t) override;

  // Tags with a stream thread running (tests).
  std::vector<std::string> open_streams() const;
  // Host part of the URL ("example.social").
  static std::string host_of(const std::string& url);

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

  mastodon_options opts_;
  std::string host_;
  mutable std::mutex mutex_;
  bool started_ = false;
  std::vector<std::string> tags_;
  std::map<std::string, std::unique_ptr<stream_worker>> workers_;
};

} // namespace tlflow
