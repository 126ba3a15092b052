// A pipeline over a recording_store with the real extractors, and fast
// source timings, for the loopback source tests.
#pragma once

#include <memory>

#include "pipeline/extract_adapter.hpp"
#include "pipeline/pipeline.hpp"
#include "sources/source_base.hpp"
#include "support/recording_store.hpp"
#include "util/metrics.hpp"

namespace tlflow::test {

// Backoff scaled for tests: network +10 ms (cap 40), HTTP 20 ms doubling
// (cap 80), 429 50 ms doubling (cap 200); a connection counts as
// established after 50 ms.
inline backoff_policy fast_backoff() {
  backoff_policy p;
  p.network_step = millis(10);
  p.network_cap = millis(40);
  p.http_base = millis(20);
  p.http_cap = millis(80);
  p.throttled_base = millis(50);
  p.throttled_cap = millis(200);
  p.min_established = millis(50);
  return p;
}

struct harness {
  recording_store store;
  metrics_registry metrics;
  std::unique_ptr<pipeline> pipe;

  explicit harness(const std::string& seen_path = {}) {
    pipeline_options o;
    o.batch_interval = millis(5);
    o.seen_path = seen_path;
    pipe = std::make_unique<pipeline>(store, metrics, default_extractor(), o);
    (void)pipe->start();
  }
  source_context context(const std::string& data_dir = {}) {
    source_context c;
    c.sink = pipe.get();
    c.metrics = &metrics;
    c.data_dir = data_dir;
    c.backoff = fast_backoff();
    c.stall_timeout = millis(300);
    c.connect_timeout = millis(1000);
    return c;
  }
  ingest_stats stats() const { return pipe->stats(); }
};

} // namespace tlflow::test
