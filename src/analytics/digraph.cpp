#include "analytics/digraph.hpp"

#include <algorithm>
#include <cmath>

namespace tlflow::analytics {

digraph digraph::from_arcs(std::uint32_t n, std::vector<arc> arcs) {
  std::sort(arcs.begin(), arcs.end(), [](const arc& a, const arc& b) {
    return a.from != b.from ? a.from < b.from : a.to < b.to;
  });
  std::size_t kept = 0;
  for (std::size_t i = 0; i < arcs.size(); ++i) {
    if (kept > 0 && arcs[kept - 1].from == arcs[i].from && arcs[kept - 1].to == arcs[i].to)
      arcs[kept - 1].weight += arcs[i].weight;
    else
      arcs[kept++] = arcs[i];
  }
  arcs.resize(kept);

  digraph g;
  g.n_ = n;
  g.out_offsets_.assign(std::size_t{n} + 1, 0);
  g.in_offsets_.assign(std::size_t{n} + 1, 0);
  for (const arc& a : arcs) {
    ++g.out_offsets_[a.from + 1];
    ++g.in_offsets_[a.to + 1];
  }
  for (std::uint32_t v = 0; v < n; ++v) {
    g.out_offsets_[v + 1] += g.out_offsets_[v];
    g.in_offsets_[v + 1] += g.in_offsets_[v];
  }
  g.out_targets_.resize(arcs.size());
  g.out_weights_.resize(arcs.size());
  g.in_sources_.resize(arcs.size());
  g.in_weights_.resize(arcs.size());
  // Arcs are sorted by (from, to): out-lists fill in order; in-lists fill in
  // ascending source order because sources come in ascending order.
  std::vector<std::uint64_t> in_next(g.in_offsets_.begin(), g.in_offsets_.end() - 1);
  for (std::size_t i = 0; i < arcs.size(); ++i) {
    g.out_targets_[i] = arcs[i].to;
    g.out_weights_[i] = arcs[i].weight;
    const std::uint64_t j = in_next[arcs[i].to]++;
    g.in_sources_[j] = arcs[i].from;
    g.in_weights_[j] = arcs[i].weight;
  }
  g.out_strength_.assign(n, 0.0);
  for (std::uint32_t u = 0; u < n; ++u) {
    double w = 0;
    for (std::uint64_t i = g.out_offsets_[u]; i < g.out_offsets_[u + 1]; ++i) {
      const double a = g.out_weights_[i];
      if (!(a > 0) || !std::isfinite(a)) g.weights_positive_ = false;
      w += a;
    }
    g.out_strength_[u] = w;
  }
  return g;
}

} // namespace tlflow::analytics
