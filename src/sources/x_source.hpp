// X API v2 filtered stream and its rules endpoints, and Twitter v1.1
// statuses/filter, over libcurl (as X's API documentation describes them).
//
// x_source: `GET {x_api_url}/2/tweets/search/stream` with the bearer token,
// NDJSON lines (keep-alive blank lines every 20 s; 20 s without any byte
// reconnects, X's rule), `backfill_minutes` on reconnects when
// configured. A second thread keeps the stream rules in sync with the
// tracking configuration: for each tracked hashtag a rule `#tag` tagged
// `tlflow:<tag>`, for each keyword a rule `"keyword"` tagged
// `tlflow:kw:<keyword>`; rules whose tag starts with `tlflow:` and that are no
// longer wanted are deleted; rules of anyone else are never touched. Rule
// changes apply to the open stream without reconnecting.
//
// twitter_v1_source: `POST {twitter_v1_url}/1.1/statuses/filter.json` with
// `track=#tag,...,keyword` (form-encoded) and `stall_warning=true`;
// reconnects when tracking changes (v1.1 cannot change a predicate in place).
// Authorization: the bearer token when one is configured (OAuth 1.0a user
// signing is not implemented; the endpoint is retired and this source serves
// compatible archives/mirrors).
#pragma once

#include "sources/oauth1.hpp"

#include <atomic>
#include <mutex>
#include <string>

#include "sources/source_base.hpp"
#include "tlflow/error.hpp"

namespace tlflow {

struct x_source_options {
  std::string api_url = "https://api.x.com";
  std::string bearer_token;        // secret
  unsigned backfill_minutes = 0;   // 1..5 on reconnect (Enterprise feature); 0: off
  millis rules_retry{5000};        // first retry after a failed rules sync (doubles, cap 320 s)
};

class x_source final : public source_base {
public:
  // X sends a keep-alive every 20 s and says to reconnect after 20 s
  // without data or keep-alive.
  static constexpr millis default_stall_timeout{20000};

  x_source(source_context ctx, x_source_options opts);
  ~x_source() override;

  void start() override;
  void on_tracking_changed(const tracking_set& t) override;

  // Completed rule syncs, and whether the last one matched the current
  // tracking (tests).
  std::uint64_t rule_syncs() const;
  bool rules_in_sync() const;

  // The query string of the stream request (without backfill), for tests/docs.
  static std::string stream_query();

protected:
  void on_stop() override;

private:
  void stream_loop();
  void rules_loop();
  status sync_rules(const tracking_set& want);

  x_source_options opts_;
  std::atomic<bool> abort_{false};
  mutable std::mutex mutex_;
  tracking_set tracking_;
  std::uint64_t tracking_gen_ = 0;
  std::uint64_t synced_gen_ = 0;
  std::uint64_t syncs_ = 0;
};

struct twitter_v1_options {
  std::string url = "https://stream.twitter.com";
  std::string bearer_token;        // secret; used when `oauth` is incomplete
  oauth1_credentials oauth;        // secrets; all four set: OAuth 1.0a user context
};

class twitter_v1_source final : public source_base {
public:
  // v1.1's documented rule: no data and no keep-alive newline for 90 s
  // means a stalled connection.
  static constexpr millis default_stall_timeout{90000};

  twitter_v1_source(source_context ctx, twitter_v1_options opts);
  ~twitter_v1_source() override;

  void start() override;
  void on_tracking_changed(const tracking_set& t) override;

  // The `track` value for a tracking set: "#a,#b,some phrase".
  static std::string track_param(const tracking_set& t);

protected:
  void on_stop() override;

private:
  void loop();
  twitter_v1_options opts_;
  std::atomic<bool> abort_{false};
  mutable std::mutex mutex_;
  tracking_set tracking_;
};

} // namespace tlflow
