// The one ingestion object main owns: the pipeline plus every configured
// source (docs/architecture.md, "Sources and tracking"), wired to the
// tracking configuration.
//
//   tlflow::ingest_service ingest(cfg, store, metrics, tracking);
//   if (auto st = ingest.start(); !st) { ... }   // after tracking.load()
//   api_ctx.ingest_status = [&](api::json_writer& w) { ingest.write_status(w); };
//   ingest.stop();                                 // on SIGTERM, before store.close()
//
// start() builds the pipeline (seen-set in <data_dir>/seen_posts.bin unless
// ephemeral) and one source per `cfg.sources` entry, hands them the current
// tracking and subscribes to its changes (sources and the pipeline's filter
// follow them live). stop() stops the sources (promptly), then drains the
// pipeline into the store. Thread-safe; stop() is idempotent and also run by
// the destructor.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "pipeline/pipeline.hpp"
#include "tracking/tracking.hpp"
#include "sources/source_base.hpp"
#include "tlflow/config.hpp"
#include "tlflow/graph_store.hpp"
#include "util/metrics.hpp"

namespace tlflow {

// Knobs not in `config` (defaults are the production values; tests scale
// them down).
struct ingest_options {
  pipeline_options pipeline;
  backoff_policy backoff;
  millis stall_timeout{0};   // 0: each source's platform default
  millis connect_timeout{10000};
  millis jetstream_rewind{5000};
};

struct ingest_status {
  ingest_stats pipeline;
  std::vector<source_state> sources;
};

// The members of the `ingest` object of /status (between StartObject and
// EndObject), and the whole object as text.
void write_ingest_members(rapidjson::Writer<rapidjson::StringBuffer>& w, const ingest_status& s);
std::string to_json(const ingest_status& s);

class ingest_service {
public:
  ingest_service(const config& cfg, graph_store& store, metrics_registry& metrics, tracking& track,
                 ingest_options opts = {});
  ~ingest_service();
  ingest_service(const ingest_service&) = delete;
  ingest_service& operator=(const ingest_service&) = delete;

  // invalid_argument (unknown source, mastodon without --mastodon-url),
  // io_error (data dir).
  status start();
  void stop();

  ingest_status stats() const;
  std::string stats_json() const { return to_json(stats()); }
  // For api_context::ingest_status.
  void write_status(rapidjson::Writer<rapidjson::StringBuffer>& w) const {
    write_ingest_members(w, stats());
  }

  // For tests: the pipeline and the sources in cfg.sources order.
  pipeline* get_pipeline() { return pipeline_.get(); }
  const std::vector<std::unique_ptr<source>>& sources() const { return sources_; }

private:
  const config& cfg_;
  graph_store& store_;
  metrics_registry& metrics_;
  tracking& tracking_;
  ingest_options opts_;
  std::unique_ptr<pipeline> pipeline_;
  std::vector<std::unique_ptr<source>> sources_;
  std::uint64_t subscription_ = 0;
  mutable std::mutex mutex_;
  bool started_ = false;
  bool stopped_ = false;
};

} // namespace tlflow
