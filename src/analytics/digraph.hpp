// The graph the analytics algorithms run on: a directed, weighted graph over
// dense vertex indices 0..n-1 in compressed sparse row form, both directions.
//
// Built once per request (or per background refresh) from a slice of a store
// (docs/analytics.md, "From a store to the algorithms"). Edges of different
// kinds between the same two accounts are merged into one arc whose weight is
// the sum of theirs; that is the graph every figure of the analytics routes
// describes, and the one NetworkX sees when it reads an export as a DiGraph
// with summed weights.
#pragma once

#include <cstdint>
#include <vector>

namespace tlflow::analytics {

struct arc {
  std::uint32_t from = 0;
  std::uint32_t to = 0;
  double weight = 1.0;
};

class digraph {
public:
  digraph() = default;

  // Merges arcs with the same (from, to) by summing their weights; keeps
  // self-loops. Every index must be < n.
  static digraph from_arcs(std::uint32_t n, std::vector<arc> arcs);

  std::uint32_t vertex_count() const noexcept { return n_; }
  std::uint64_t arc_count() const noexcept { return out_targets_.size(); }

  // Out-arcs of v: targets and weights in [out_begin(v), out_end(v)),
  // ascending by target.
  std::uint64_t out_begin(std::uint32_t v) const noexcept { return out_offsets_[v]; }
  std::uint64_t out_end(std::uint32_t v) const noexcept { return out_offsets_[v + 1]; }
  std::uint32_t out_target(std::uint64_t i) const noexcept { return out_targets_[i]; }
  double out_weight(std::uint64_t i) const noexcept { return out_weights_[i]; }

  // In-arcs of v, ascending by source.
  std::uint64_t in_begin(std::uint32_t v) const noexcept { return in_offsets_[v]; }
  std::uint64_t in_end(std::uint32_t v) const noexcept { return in_offsets_[v + 1]; }
  std::uint32_t in_source(std::uint64_t i) const noexcept { return in_sources_[i]; }
  double in_weight(std::uint64_t i) const noexcept { return in_weights_[i]; }

  // Sum of v's out-arc weights (self-loop included), summed in out-arc order
  // when the graph was built, so PageRank's setup costs O(n), not O(m).
  double out_strength(std::uint32_t v) const noexcept { return out_strength_[v]; }
  // Every arc weight is finite and > 0 (what PageRank requires).
  bool weights_positive() const noexcept { return weights_positive_; }

  std::uint64_t out_degree(std::uint32_t v) const noexcept { return out_end(v) - out_begin(v); }
  std::uint64_t in_degree(std::uint32_t v) const noexcept { return in_end(v) - in_begin(v); }

private:
  std::uint32_t n_ = 0;
  std::vector<std::uint64_t> out_offsets_{0};
  std::vector<std::uint32_t> out_targets_;
  std::vector<double> out_weights_;
  std::vector<std::uint64_t> in_offsets_{0};
  std::vector<std::uint32_t> in_sources_;
  std::vector<double> in_weights_;
  std::vector<double> out_strength_;
  bool weights_positive_ = true;
};

} // namespace tlflow::analytics
