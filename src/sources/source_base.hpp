// Shared plumbing of the network and file sources: state bookkeeping for
// /status, Prometheus series, an interruptible wait for backoff delays, and
// the history of delays waited (tests assert on it).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sources/backoff.hpp"
#include "sources/http_client.hpp"
#include "tlflow/source.hpp"
#include "util/metrics.hpp"

namespace tlflow {

// What every source needs from its owner.
struct source_context {
  message_sink* sink = nullptr;
  metrics_registry* metrics = nullptr;   // may be null (tests)
  std::string data_dir;                  // "" in ephemeral mode: nothing persisted
  backoff_policy backoff;
  // No byte at all for this long -> reconnect. Zero: the source's own
  // default, the platform's figure (x: 20 s, twitter-v1: 90 s, mastodon:
  // 30 s, jetstream: 60 s; docs/ingestion.md). Tests set a short one.
  millis stall_timeout{0};
  millis connect_timeout{10000};
  std::string user_agent = "tlflow/" TLFLOW_VERSION;
  std::string ca_file;                   // extra trusted CA certificates (PEM), --ca-file
};

class source_base : public source {
public:
  // `default_stall_timeout`: the platform's figure, used when the context
  // sets none.
  source_base(std::string name, source_context ctx, millis default_stall_timeout);
  ~source_base() override;

  // The silence after which a connection counts as dead and is reopened.
  millis stall_timeout() const noexcept { return stall_timeout_; }

  const std::string& name() const noexcept override { return name_; }
  source_state state() const override;
  void stop() override;

  // Delays waited before reconnect attempts, oldest first (last 256).
  std::vector<millis> delay_history() const;

protected:
  // Sleeps up to `d`; false if stop was requested meanwhile. Records `d`.
  bool wait_backoff(millis d);
  // Adds `d` to the delay history (for loops that wait on their own flag).
  void record_delay(millis d);
  // Sleeps up to `d` without recording it; false if stop was requested.
  bool sleep_for(millis d);
  bool stopping() const noexcept { return stop_.load(std::memory_order_relaxed); }
  const std::atomic<bool>& stop_flag() const noexcept { return stop_; }
  // Interrupts sleep_for/wait_backoff without stopping (tracking changed).
  void wake();
  // Called by stop() after the flag is set, before joining (e.g. to wake
  // per-stream threads). Default: nothing.
  virtual void on_stop() {}

  // Pushes one message; false when the pipeline refuses (shutting down).
  bool deliver(wire_format f, std::string bytes, std::string origin = {});

  void on_connected();
  void on_disconnected();
  void on_attempt(bool first);
  void on_error(const std::string& what);
  void on_bytes(std::size_t n);
  void set_finished();

  void spawn(std::function<void()> fn);

  // One HTTP NDJSON stream (X v2, Twitter v1.1): every complete line is
  // delivered as `f`, connection state and bytes are reported, a line cut
  // off by the end of the connection is reported and dropped. `refused` is
  // set when the pipeline refused a message (it is shutting down).
  stream_result stream_ndjson(const http_request& req, const stream_options& so,
                              const std::atomic<bool>& abort, wire_format f, bool& refused);

  source_context ctx_;

private:
  std::string name_;
  millis stall_timeout_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool woken_ = false;
  source_state state_;
  int connected_streams_ = 0;
  std::deque<millis> delays_;
  std::vector<std::thread> threads_;
  std::mutex threads_mutex_;

  counter_metric* m_messages_ = nullptr;
  counter_metric* m_bytes_ = nullptr;
  counter_metric* m_reconnects_ = nullptr;
  counter_metric* m_errors_ = nullptr;
  gauge_metric* m_connected_ = nullptr;
  gauge_metric* m_last_message_ = nullptr;
};

} // namespace tlflow
