// The ingestion pipeline: sources -> bounded queue -> extract workers ->
// de-duplication and batching (one writer thread) -> graph_store::apply().
//
// Threading map:
//   * source threads call push(): it blocks while the raw queue is full
//     (backpressure — a slow store slows the sources down, nothing is dropped);
//   * `workers` threads pop raw messages, run the extractor (pure, no I/O),
//     apply the local hashtag filter and push the results to a second bounded
//     queue;
//   * one writer thread de-duplicates by platform post id (seen_set, owned by
//     that thread only), batches by count and by time, and calls apply(); a
//     failed apply is retried with backoff until it succeeds or stop() is
//     called — a batch is never skipped while the pipeline runs.
// All public methods are thread-safe.
//
// Tracking: when hashtags are tracked, each interaction's hashtags are
// reduced to the tracked ones (an edge's `hashtags` are the tracked hashtags
// seen on its posts, docs/architecture.md). Messages the platform did not filter are
// filtered locally (docs/ingestion.md): an interaction is kept only if its post
// carries a tracked hashtag — its own or one of the post it quotes or
// reposts, the extractors' rule — or reposts or quotes a recent tracked post
// (a Jetstream event names that post without its tags; the post inherits
// the tracked tags the pipeline saw on it).
// Jetstream is always filtered (with nothing tracked, nothing is kept: the
// unfiltered network is not a conversation); files only while hashtags are
// tracked (`tlflow import` without --track brings a whole archive).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pipeline/bounded_queue.hpp"
#include "pipeline/seen_set.hpp"
#include "tlflow/graph_store.hpp"
#include "tlflow/source.hpp"
#include "util/metrics.hpp"

namespace tlflow {

// What an extractor made of one raw message.
struct extracted {
  std::vector<interaction> interactions;
  std::uint32_t posts = 0;   // posts the message carried (0 for a notice)
  bool notice = false;       // a stream notice: delete, limit, disconnect, heartbeat
  std::string malformed;     // non-empty: the reason code (not_json, invalid_utf8, ...)
  // Filled for Jetstream messages only (the local filter needs them): each
  // post with its hashtags and the ids of the posts it reposts or quotes
  // (a Jetstream event names them but does not carry their hashtags).
  struct post_ref {
    std::string post_id, reposted_post_id, quoted_post_id;
    std::vector<std::string> hashtags;
  };
  std::vector<post_ref> post_refs;
};
using extract_fn = std::function<extracted(const raw_message&)>;

struct pipeline_options {
  std::size_t queue_capacity = 10000;        // raw messages
  unsigned workers = 1;                      // extract threads
  std::size_t batch_max = 2000;              // interactions per apply()
  std::size_t recent_tracked_posts = 100000; // remembered for reposts of them
  std::chrono::milliseconds batch_interval{100}; // longest a batch waits
  std::string seen_path;                     // empty: de-dup in memory only
  std::chrono::milliseconds retry_initial{100};  // apply() retry backoff
  std::chrono::milliseconds retry_max{5000};
};

// The snapshot shown in /status as `ingest` (see ingest_service).
struct ingest_stats {
  std::uint64_t messages = 0;
  std::uint64_t posts = 0;
  std::uint64_t interactions = 0;    // applied to the store
  std::uint64_t duplicates = 0;      // posts skipped as already seen
  std::uint64_t filtered = 0;        // interactions dropped by the local filter
  std::uint64_t notices = 0;
  std::uint64_t malformed = 0;
  std::map<std::string, std::uint64_t> malformed_by_reason;
  std::uint64_t batches = 0;
  std::uint64_t store_errors = 0;    // failed apply() calls (retried)
  std::uint64_t lost = 0;            // interactions of batches the store still refused at shutdown
  std::uint64_t queue_depth = 0;
  std::uint64_t queue_capacity = 0;
  std::uint64_t seen_posts = 0;
  std::string last_store_error;
};

class pipeline final : public message_sink {
public:
  pipeline(graph_store& store, metrics_registry& metrics, extract_fn extract,
           pipeline_options opts = {});
  ~pipeline() override;
  pipeline(const pipeline&) = delete;
  pipeline& operator=(const pipeline&) = delete;

  // Loads the seen-set and starts the threads. io_error.
  status start();

  // Blocks while full; false once stop() has begun.
  bool push(raw_message msg) override;

  // Hashtags to keep on edges and to filter locally by. Thread-safe, live.
  void set_tracking(const tracking_set& t);

  // Waits until everything pushed so far has been applied (or dropped as a
  // duplicate / malformed / filtered). For tests and `tlflow import`.
  void drain();

  // Stops accepting, processes what is queued, applies the last batch, joins.
  // Idempotent.
  void stop();

  ingest_stats stats() const;

private:
  struct work {
    std::string source;
    extracted result;
    enum class filter : std::uint8_t { none, while_tracking, always } local = filter::none;
  };
  void worker_loop();
  void writer_loop();
  void handle(work& w, std::vector<interaction>& batch, std::uint64_t& batch_msgs);
  std::uint64_t filter_locally(extracted& r, const std::unordered_set<std::string>& tracked);
  bool apply_batch(std::vector<interaction>& batch);
  void publish_counts();
  counter_metric& malformed_counter(const std::string& reason);
  counter_metric& messages_counter(const std::string& source);

  graph_store& store_;
  metrics_registry& metrics_;
  extract_fn extract_;
  pipeline_options opts_;

  bounded_queue<raw_message> raw_;
  bounded_queue<work> extracted_;
  seen_set seen_;
  std::vector<std::thread> workers_;
  std::thread writer_;
  std::atomic<unsigned> workers_left_{0};
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  std::mutex lifecycle_mutex_;

  // tracking (copied under lock, used outside)
  mutable std::mutex tracking_mutex_;
  std::shared_ptr<const std::unordered_set<std::string>> tracked_;

  // drain(): accepted vs completed message counts
  std::mutex drain_mutex_;
  std::condition_variable drained_;
  std::atomic<std::uint64_t> accepted_{0};
  std::uint64_t completed_ = 0;

  // writer thread only: counts of the current batch, and its tracking snapshot
  struct pending_counts {
    std::uint64_t messages = 0, posts = 0, filtered = 0, duplicates = 0, notices = 0, malformed = 0;
    std::map<std::string, std::uint64_t> by_source;
    std::map<std::string, std::uint64_t> malformed_by_reason;
  };
  pending_counts counts_;
  std::shared_ptr<const std::unordered_set<std::string>> tracked_local_;
  // writer thread only: recent posts that carried a tracked hashtag -> those
  // tags (oldest forgotten first), so that reposts of them pass the filter
  std::unordered_map<std::string, std::vector<std::string>> recent_tracked_;
  std::deque<std::string> recent_order_;

  // counters
  mutable std::mutex stats_mutex_;
  ingest_stats stats_;
  std::map<std::string, counter_metric*> malformed_counters_;
  std::map<std::string, counter_metric*> message_counters_;
  counter_metric& m_posts_;
  counter_metric& m_interactions_;
  counter_metric& m_duplicates_;
  counter_metric& m_filtered_;
  counter_metric& m_notices_;
  counter_metric& m_batches_;
  counter_metric& m_store_errors_;
  histogram_metric& m_batch_seconds_;
  gauge_metric& m_queue_depth_;
};

} // namespace tlflow
