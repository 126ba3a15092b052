// The analytics engine (docs/analytics.md, "Freshness"): slices of a store
// turned into results the routes serve.
//
// A `snapshot` is one slice_graph with the results computed on it, each
// computed once, on first use (thread-safe), so a request asking for
// PageRank does not pay for Louvain. For the unfiltered graph the engine keeps
// one snapshot fresh in the background: a thread rebuilds it when
// `refresh_changes` changes arrived (at most once a second) or, after any
// change, when it is `refresh_s` old — and never sooner after the previous
// rebuild than that rebuild took, so the background uses at most half of
// one core however fast changes arrive; the rebuild computes PageRank warm
// started from the previous scores mapped by id (at most
// `pagerank_refresh_iterations` power iterations: a bounded refresh, whose
// distance to the exact vector is reported), betweenness, Louvain and label
// propagation (seed 0) and the search index before it replaces the old one.
// Between rebuilds, while the PageRank vector has not converged, the thread
// publishes continuations: the same graph and results, PageRank advanced by
// up to as many iterations again, until it converges. A filtered slice gets a
// snapshot of its own per request, PageRank run to convergence.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "analytics/algorithms.hpp"
#include "analytics/slice_graph.hpp"

namespace tlflow::analytics {

struct engine_options {
  std::uint64_t max_elements = 12000000; // vertices + edges of one slice; 0: no cap
  // Background refresh of the unfiltered snapshot; 0: none, every request
  // builds a fresh snapshot from the store.
  unsigned refresh_s = 60;
  std::uint64_t refresh_changes = 10000;
  // Betweenness is exact up to this many vertices, else sampled: as many
  // sources as an error bound of betweenness_epsilon needs (probability
  // 0.99), at most betweenness_max_samples (then the bound is looser, and
  // the reply says how loose).
  std::uint32_t betweenness_exact_max = 2000;
  double betweenness_epsilon = 0.05;
  std::size_t betweenness_max_samples = 1000;
  // ... and at most as many as keep sources × (vertices + arcs), the
  // breadth-first work of the sampled betweenness, within this (at least one
  // source); 0: no such cap. Exact computation (up to betweenness_exact_max
  // vertices) is not capped.
  std::uint64_t betweenness_max_work = 200000000;
  // Power iterations of one background PageRank refresh warm-started from the
  // previous vector; 0: run to convergence. A snapshot without a previous
  // vector (the first one, a filtered slice, refresh_s 0) always converges.
  std::uint32_t pagerank_refresh_iterations = 3;
  // ... only on graphs of at least this many arcs: below, a refresh costs
  // little and runs to convergence.
  std::uint64_t pagerank_bound_arcs = 1000000;
  // A background rebuild computes betweenness (the costliest result) only
  // when a request asked for it within this long; otherwise the first
  // request for it on a snapshot computes it.
  std::uint64_t betweenness_keep_ms = 600000;
  // Changes to the graph so far (any monotonic count: interactions ingested
  // plus API writes). Empty: the refresh runs on time alone.
  std::function<std::uint64_t()> changes;
};

// Case- and accent-folded text for search (docs/analytics.md, "Search"):
// ASCII and Latin-1 / Latin Extended-A letters lose case and diacritics
// (é → e, Ł → l, ß → ss, æ → ae, œ → oe, ĳ → ij, þ → th), combining marks
// U+0300–U+036F are dropped, everything else is kept as it is.
std::string fold_for_search(std::string_view text);

// How a snapshot's PageRank vector came about (the replies report it).
struct pagerank_provenance {
  bool warm_start = false;           // started from the previous snapshot's vector
  std::uint32_t max_iterations = 0;  // cap of each refresh on this graph; 0: none
  std::uint32_t refreshes = 1;       // PageRank runs on this graph (1 + continuations)
  std::uint32_t total_iterations = 0; // power iterations over those runs
  std::uint64_t updated_at_ms = 0;   // when the vector was last advanced (0: with the graph)
};

class snapshot {
public:
  // computed_at_ms: the same moment in milliseconds (0: computed_at's second).
  snapshot(std::shared_ptr<const slice_graph> g, std::uint32_t computed_at,
           const engine_options& options, std::uint64_t computed_at_ms = 0);

  const slice_graph& graph() const noexcept { return *g_; }
  std::shared_ptr<const slice_graph> graph_ptr() const noexcept { return g_; }
  std::uint32_t computed_at() const noexcept { return computed_at_; }
  std::uint64_t computed_at_ms() const noexcept { return computed_at_ms_; }

  const pagerank_result& pagerank() const;
  // Meaningful once pagerank() was called.
  const pagerank_provenance& pagerank_info() const;
  // The same graph, read at the same time, sharing every other result, with
  // PageRank advanced from this snapshot's vector by at most `max_iterations`
  // power iterations (0: to convergence).
  std::shared_ptr<snapshot> continued(std::uint32_t max_iterations) const;
  // A request's betweenness: computed now if the background did not, and
  // noted as asked for (betweenness_asked_ms).
  const betweenness_result& betweenness() const;
  // When a request last asked this graph, or the one before it (0: never):
  // a rebuild computes betweenness in the background only while it is asked
  // for (engine_options::betweenness_keep_ms).
  std::uint64_t betweenness_asked_ms() const noexcept { return cache_->betweenness_asked_ms.load(); }
  // Whether betweenness was computed on this graph (by a request or the
  // background).
  bool betweenness_computed() const noexcept { return cache_->betweenness_done.load(); }
  void carry_betweenness_asked(const snapshot& previous) noexcept {
    cache_->betweenness_asked_ms = std::max(cache_->betweenness_asked_ms.load(), previous.betweenness_asked_ms());
  }
  // Seed 0 is cached; other seeds are computed per call.
  result<communities> louvain(std::uint64_t seed) const;
  result<communities> label_propagation(std::uint64_t seed) const;
  const std::vector<double>& weighted_degrees() const;

  // Accounts whose folded handle or name contains `needle` (folded, no
  // control characters), ascending by index, with how they match: 0 the
  // handle equals it, 1 handle or name starts with it, 2 contains it.
  struct search_hit {
    std::uint32_t vertex = 0;
    unsigned match = 2;
  };
  std::vector<search_hit> search(std::string_view needle) const;

  // Computes everything cacheable now (the background does this before it
  // publishes a snapshot); `warm` is PageRank's starting vector or null, and
  // a warm-started PageRank runs at most `max_iterations` (0: no cap);
  // betweenness only `with_betweenness`.
  void compute_all(const std::vector<double>* warm, std::uint32_t max_iterations = 0,
                   bool with_betweenness = true);

private:
  void build_search() const;
  const betweenness_result& compute_betweenness() const;

  // Every result but PageRank, computed once and shared with continuations.
  struct cache {
    std::once_flag betweenness_once, louvain_once, lp_once, wd_once, search_once;
    betweenness_result betweenness;
    std::atomic<std::uint64_t> betweenness_asked_ms{0};
    std::atomic<bool> betweenness_done{false};
    std::optional<result<communities>> louvain, lp;
    std::vector<double> weighted;
    // The search index: every account's folded handle, '\x01', folded name,
    // '\0', in index order, in one buffer (one pass of a substring search
    // finds every account); record[v] is where v's text starts, and
    // record[v + 1] - 1 where it ends.
    std::string search_text;
    std::vector<std::uint64_t> record;
  };

  std::shared_ptr<const slice_graph> g_;
  std::uint32_t computed_at_;
  std::uint64_t computed_at_ms_;
  engine_options options_;
  std::shared_ptr<cache> cache_;

  mutable std::once_flag pagerank_once_;
  mutable pagerank_result pagerank_;
  mutable pagerank_provenance pagerank_info_;
  const std::vector<double>* warm_ = nullptr; // only during compute_all
  std::uint32_t warm_max_iterations_ = 0;     // only during compute_all
};

class engine {
public:
  engine(graph_store& store, engine_options options);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // Starts the background refresh (no-op when refresh_s is 0).
  void start();
  void stop();

  // The snapshot answering `s`: the background one for the whole graph
  // (built now when there is none yet), a new one for any filter.
  result<std::shared_ptr<const snapshot>> view(const slice& s);
  // The whole-graph snapshot as last published (by the background refresh
  // or a whole-graph view()); null when there is none yet or refresh_s is 0.
  // Never builds one.
  std::shared_ptr<const snapshot> published();

  const engine_options& options() const noexcept { return options_; }
  // Background rebuilds done (for tests and /status).
  std::uint64_t rebuilds() const noexcept { return rebuilds_.load(); }
  // Continuations published (PageRank advanced between rebuilds).
  std::uint64_t continuations() const noexcept { return continuations_.load(); }

private:
  result<std::shared_ptr<const snapshot>> rebuild(); // under build_mutex_
  void run();

  graph_store& store_;
  engine_options options_;
  std::mutex build_mutex_;  // one whole-graph build at a time
  std::mutex mutex_;        // current_ and the refresh bookkeeping
  std::condition_variable wake_;
  std::shared_ptr<const snapshot> current_;
  std::uint64_t changes_at_build_ = 0;
  std::chrono::steady_clock::time_point built_at_{};
  std::chrono::steady_clock::duration last_build_{}; // how long the last rebuild took
  bool stopping_ = false;
  bool last_failed_ = false;
  std::thread thread_;
  std::atomic<std::uint64_t> rebuilds_{0};
  std::atomic<std::uint64_t> continuations_{0};
  std::atomic<bool> cancel_{false}; // set by stop(): the background scan gives up
};

} // namespace tlflow::analytics
