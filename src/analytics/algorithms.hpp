// The analytics algorithms: pure functions on a `digraph`, no I/O, no store.
//
// Each one is defined as a NetworkX or igraph call on the same graph (named
// below and in docs/analytics.md), and tests/scripts/analytics_check.py checks
// that it is. Indices are the digraph's vertex indices; the caller maps them to
// ids. Functions that take options validate them and return an error value
// (errc::invalid_argument) for a bad one; none throws on bad input.
//
// The undirected view used by the community functions: the symmetrised graph
// A + Aᵀ, i.e. one edge {u, v} of weight w(u,v) + w(v,u) for u != v, and for a
// self-loop one loop of weight w(u,u) (a loop counts twice in a degree, as in
// NetworkX and igraph). Its total weight m is the sum of all arc weights.
//
// Thread safety: every function reads its digraph only; concurrent calls on the
// same digraph are safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "analytics/digraph.hpp"
#include "tlflow/error.hpp"

namespace tlflow::analytics {

// ---- PageRank -------------------------------------------------------------

struct pagerank_options {
  double damping = 0.85; // in [0, 1)
  // Stop when the L1 norm of the change of the score vector in one iteration
  // is below this. The distance to the fixed point is then at most
  // tolerance * damping / (1 - damping) in L1 (5.7 × tolerance at 0.85).
  // NetworkX's `tol` is per vertex: its test is L1 < n * tol.
  double tolerance = 1e-10;
  std::uint32_t max_iterations = 1000;
  // Start from this vector instead of uniform: exactly vertex_count() entries
  // in the digraph's index order, finite, >= 0, sum > 0; it is normalised to
  // sum 1. After vertices were added, the caller maps the previous scores to
  // the new indices and gives each new vertex 1/n (make_warm_start does this).
  const std::vector<double>* warm_start = nullptr;
  // 1 or 2: worker threads of the iteration (docs/analytics.md has the
  // measurement that decides the default).
  unsigned threads = 1;
};

struct pagerank_result {
  std::vector<double> scores; // sums to 1 (empty graph: empty)
  std::uint32_t iterations = 0;
  bool converged = false;      // false: max_iterations reached first
  double last_change = 0;      // L1 change of the last iteration
  // An upper bound on the L1 distance from `scores` to the exact fixed point:
  // damping / (1 - damping) * last_change after at least one iteration, never
  // more than 2 (two probability vectors); 2 when no iteration ran.
  // docs/analytics.md ("PageRank", "Bounded refresh") has the proof.
  double error_bound = 2;
};

// NetworkX's pagerank(G, alpha=damping, weight='weight') on the DiGraph:
//   x'[v] = d * (Σ_{u→v} x[u] w(u,v) / W(u) + Σ_{dangling u} x[u] / n) + (1-d)/n
// with W(u) the out-strength (self-loops included) and dangling meaning W(u) = 0.
// Arc weights must be finite and > 0.
result<pagerank_result> pagerank(const digraph& g, const pagerank_options& options = {});

// A warm start for a graph of `n` vertices from the previous scores:
// previous_index[v] is v's index in `previous` or -1 for a new vertex (which
// gets 1/n). The result is normalised to sum 1.
std::vector<double> make_warm_start(const std::vector<double>& previous,
                                    const std::vector<std::int64_t>& previous_index,
                                    std::uint32_t n);

// ---- Degrees, strengths, rankings -------------------------------------------

enum class direction { out, in, both };

std::vector<double> degrees(const digraph& g, direction d);   // arcs (a self-loop counts in out and in)
std::vector<double> strengths(const digraph& g, direction d); // sums of arc weights

// Indices of the k largest scores, largest first; equal scores by ascending
// index (the caller numbers vertices in id order so ties go by id).
std::vector<std::uint32_t> top_k(const std::vector<double>& scores, std::size_t k);

// ---- Betweenness ------------------------------------------------------------

struct betweenness_options {
  // 0: exact (Brandes, O(n m)). k > 0: k distinct sources drawn uniformly
  // (k >= n means exact).
  std::size_t samples = 0;
  std::uint64_t seed = 0;
  // Failure probability of the reported error bound (sampled only), in (0, 1).
  double delta = 0.01;
  unsigned threads = 1; // 1 or 2
};

struct betweenness_result {
  std::vector<double> scores; // normalised as NetworkX (1 / ((n-1)(n-2)))
  bool exact = true;
  std::size_t sources = 0; // sources used
  // Sampled: with probability >= 1 - delta every |score - exact| <= epsilon.
  // Exact: 0.
  double epsilon = 0;
};

// NetworkX's betweenness_centrality(G, normalized=True) on the DiGraph with
// weight=None (paths counted in hops); sampled as its `k`, `seed` (the same
// estimator: sum over the sampled sources scaled by n/k, not the same draw).
result<betweenness_result> betweenness(const digraph& g, const betweenness_options& options = {});

// The number of sources that makes the sampled bound `epsilon` at failure
// probability `delta` on n vertices (the bound of betweenness_result solved for
// k; docs/analytics.md). n when sampling would need n or more: then compute
// exactly. 0 for n <= 2.
std::size_t betweenness_samples_for(std::uint32_t n, double epsilon, double delta);

// ---- Communities --------------------------------------------------------------

struct communities {
  // community[v], numbered 0.. by decreasing size, then by smallest member.
  std::vector<std::uint32_t> community;
  std::uint32_t count = 0;
  double modularity = 0;        // modularity(g, community, resolution) (label propagation: 1)
  std::uint32_t levels = 0;     // Louvain: aggregation levels; label propagation: 0
  std::uint32_t iterations = 0; // label propagation: sweeps; Louvain: vertex visits / n, summed over levels
  bool converged = true;        // label propagation: false if max_iterations was reached
};

struct louvain_options {
  std::uint64_t seed = 0;
  double resolution = 1.0; // > 0
};

// Multi-level modularity optimisation (Blondel et al. 2008) on the
// undirected view: local moving in a seeded random order until no move gains,
// then aggregation, until a level moves nothing. Deterministic for a seed.
result<communities> louvain(const digraph& g, const louvain_options& options = {});

struct label_propagation_options {
  std::uint64_t seed = 0;
  std::uint32_t max_iterations = 100;
};

// Asynchronous label propagation on the undirected view (self-loops ignored):
// each sweep visits vertices in a seeded random order and gives each the label
// of largest total edge weight among its neighbours, keeping its own label when
// that is among the largest, else a seeded random one of the tied labels.
// Stops after a sweep that changes nothing.
result<communities> label_propagation(const digraph& g,
                                      const label_propagation_options& options = {});

// NetworkX's community.modularity(U, partition, weight='weight', resolution)
// with U the undirected view. `community` has one entry per vertex (any
// numbering). A graph of total weight 0 has modularity 0 (NetworkX divides by
// zero).
result<double> modularity(const digraph& g, const std::vector<std::uint32_t>& community,
                          double resolution = 1.0);

// ---- Structure ----------------------------------------------------------------

struct components {
  std::vector<std::uint32_t> component; // numbered as communities are
  std::uint32_t count = 0;
  std::uint32_t largest = 0; // size of component 0 (0 for an empty graph)
};

components weakly_connected_components(const digraph& g);
components strongly_connected_components(const digraph& g); // iterative Tarjan

// nx.reciprocity(G) on the DiGraph: arcs u→v (u != v) whose reverse exists,
// over all arcs (self-loops count in the denominator only). No arcs: nullopt
// (NetworkX raises).
std::optional<double> reciprocity(const digraph& g);

// nx.density(G) on the DiGraph: m / (n (n-1)), self-loops counted in m; 0 when
// n <= 1 or m = 0.
double density(const digraph& g);

struct degree_bin {
  std::uint64_t lower = 0; // inclusive
  std::uint64_t upper = 0; // exclusive
  std::uint64_t count = 0; // vertices with lower <= degree < upper
};

// Logarithmic bins of the degree (arcs, `d`): [0,1), [1,2), [2,4), [4,8), ...
// up to the bin holding the largest degree; empty bins are kept so the list is
// a histogram with no gaps. Empty graph: no bins.
std::vector<degree_bin> degree_distribution(const digraph& g, direction d);

} // namespace tlflow::analytics
