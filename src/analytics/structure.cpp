// Degrees, rankings, components, reciprocity, density, degree distribution.
#include <algorithm>
#include <numeric>

#include "analytics/algorithms.hpp"
#include "analytics/renumber.hpp"

namespace tlflow::analytics {

namespace detail {

std::uint32_t renumber_by_size(std::vector<std::uint32_t>& label, std::uint32_t label_bound,
                               std::uint32_t* largest) {
  constexpr std::uint32_t none = UINT32_MAX;
  std::vector<std::uint32_t> size(label_bound, 0), first(label_bound, none);
  for (std::uint32_t v = 0; v < label.size(); ++v) {
    const std::uint32_t l = label[v];
    if (size[l]++ == 0) first[l] = v; // vertices come in ascending order
  }
  std::vector<std::uint32_t> used;
  for (std::uint32_t l = 0; l < label_bound; ++l)
    if (size[l] > 0) used.push_back(l);
  std::sort(used.begin(), used.end(), [&](std::uint32_t a, std::uint32_t b) {
    return size[a] != size[b] ? size[a] > size[b] : first[a] < first[b];
  });
  std::vector<std::uint32_t> to(label_bound, none);
  for (std::uint32_t i = 0; i < used.size(); ++i) to[used[i]] = i;
  for (std::uint32_t& l : label) l = to[l];
  if (largest) *largest = used.empty() ? 0 : size[used[0]];
  return static_cast<std::uint32_t>(used.size());
}

} // namespace detail

std::vector<double> degrees(const digraph& g, direction d) {
  const std::uint32_t n = g.vertex_count();
  std::vector<double> r(n, 0.0);
  for (std::uint32_t v = 0; v < n; ++v) {
    std::uint64_t k = 0;
    if (d != direction::in) k += g.out_degree(v);
    if (d != direction::out) k += g.in_degree(v);
    r[v] = static_cast<double>(k);
  }
  return r;
}

std::vector<double> strengths(const digraph& g, direction d) {
  const std::uint32_t n = g.vertex_count();
  std::vector<double> r(n, 0.0);
  for (std::uint32_t v = 0; v < n; ++v) {
    double s = 0;
    if (d != direction::in)
      for (std::uint64_t i = g.out_begin(v); i < g.out_end(v); ++i) s += g.out_weight(i);
    if (d != direction::out)
      for (std::uint64_t i = g.in_begin(v); i < g.in_end(v); ++i) s += g.in_weight(i);
    r[v] = s;
  }
  return r;
}

std::vector<std::uint32_t> top_k(const std::vector<double>& scores, std::size_t k) {
  k = std::min(k, scores.size());
  std::vector<std::uint32_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0u);
  auto before = [&](std::uint32_t a, std::uint32_t b) {
    return scores[a] != scores[b] ? scores[a] > scores[b] : a < b;
  };
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(), before);
  idx.resize(k);
  return idx;
}

components weakly_connected_components(const digraph& g) {
  // Union-find by index with path halving; arcs in both CSR halves are the
  // same arcs, so the out-lists suffice.
  const std::uint32_t n = g.vertex_count();
  std::vector<std::uint32_t> parent(n);
  std::iota(parent.begin(), parent.end(), 0u);
  auto find = [&](std::uint32_t v) {
    while (parent[v] != v) {
      parent[v] = parent[parent[v]];
      v = parent[v];
    }
    return v;
  };
  for (std::uint32_t u = 0; u < n; ++u)
    for (std::uint64_t i = g.out_begin(u); i < g.out_end(u); ++i) {
      std::uint32_t a = find(u), b = find(g.out_target(i));
      if (a == b) continue;
      if (a < b) std::swap(a, b);
      parent[a] = b; // the root is the smallest index: no rank needed for termination
    }
  components c;
  c.component.resize(n);
  for (std::uint32_t v = 0; v < n; ++v) c.component[v] = find(v);
  c.count = detail::renumber_by_size(c.component, n, &c.largest);
  return c;
}

components strongly_connected_components(const digraph& g) {
  // Tarjan's algorithm with an explicit call stack: (vertex, next out-arc).
  const std::uint32_t n = g.vertex_count();
  constexpr std::uint32_t unvisited = UINT32_MAX;
  std::vector<std::uint32_t> index(n, unvisited), low(n, 0), comp(n, unvisited);
  std::vector<std::uint32_t> stack;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> calls;
  std::uint32_t next_index = 0, next_comp = 0;
  for (std::uint32_t root = 0; root < n; ++root) {
    if (index[root] != unvisited) continue;
    calls.emplace_back(root, g.out_begin(root));
    index[root] = low[root] = next_index++;
    stack.push_back(root);
    while (!calls.empty()) {
      auto& [v, it] = calls.back();
      if (it < g.out_end(v)) {
        const std::uint32_t w = g.out_target(it++);
        if (index[w] == unvisited) {
          index[w] = low[w] = next_index++;
          stack.push_back(w);
          calls.emplace_back(w, g.out_begin(w)); // invalidates v, it: loop re-reads
        } else if (comp[w] == unvisited) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      const std::uint32_t done = v;
      calls.pop_back();
      if (low[done] == index[done]) {
        std::uint32_t w;
        do {
          w = stack.back();
          stack.pop_back();
          comp[w] = next_comp;
        } while (w != done);
        ++next_comp;
      }
      if (!calls.empty()) {
        const std::uint32_t parent = calls.back().first;
        low[parent] = std::min(low[parent], low[done]);
      }
    }
  }
  components c;
  c.component = std::move(comp);
  c.count = detail::renumber_by_size(c.component, next_comp, &c.largest);
  return c;
}

std::optional<double> reciprocity(const digraph& g) {
  const std::uint64_t m = g.arc_count();
  if (m == 0) return std::nullopt;
  std::uint64_t reciprocated = 0;
  // Out-lists and in-lists are both sorted: u's out-targets that are also its
  // in-sources are arcs whose reverse exists. A merge per vertex.
  for (std::uint32_t u = 0; u < g.vertex_count(); ++u) {
    std::uint64_t i = g.out_begin(u), j = g.in_begin(u);
    const std::uint64_t ie = g.out_end(u), je = g.in_end(u);
    while (i < ie && j < je) {
      const std::uint32_t a = g.out_target(i), b = g.in_source(j);
      if (a < b) ++i;
      else if (b < a) ++j;
      else {
        if (a != u) ++reciprocated;
        ++i;
        ++j;
      }
    }
  }
  return static_cast<double>(reciprocated) / static_cast<double>(m);
}

double density(const digraph& g) {
  const double n = g.vertex_count();
  const std::uint64_t m = g.arc_count();
  if (m == 0 || g.vertex_count() <= 1) return 0.0;
  return static_cast<double>(m) / (n * (n - 1));
}

std::vector<degree_bin> degree_distribution(const digraph& g, direction d) {
  std::vector<degree_bin> bins;
  for (std::uint32_t v = 0; v < g.vertex_count(); ++v) {
    std::uint64_t k = 0;
    if (d != direction::in) k += g.out_degree(v);
    if (d != direction::out) k += g.in_degree(v);
    // Bin 0 is degree 0; bin b >= 1 is [2^(b-1), 2^b).
    std::size_t b = 0;
    while (k >> b) ++b;
    while (bins.size() <= b) {
      const std::size_t i = bins.size();
      degree_bin nb;
      nb.lower = i == 0 ? 0 : std::uint64_t{1} << (i - 1);
      nb.upper = std::uint64_t{1} << i;
      bins.push_back(nb);
    }
    ++bins[b].count;
  }
  return bins;
}

} // namespace tlflow::analytics
