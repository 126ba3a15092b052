// Louvain, label propagation and modularity on the undirected view A + Aᵀ.
#include <algorithm>
#include <cmath>
#include <string>

#include "analytics/algorithms.hpp"
#include "analytics/renumber.hpp"

namespace tlflow::analytics {

namespace {

// A weighted undirected graph in CSR form, each edge stored from both ends;
// loops kept apart as the matrix diagonal (a loop of weight w is A_uu = 2w,
// so that k_u = Σ_j A_uj counts it twice).
struct ugraph {
  std::uint32_t n = 0;
  std::vector<std::uint64_t> offsets{0};
  std::vector<std::uint32_t> nbr;
  std::vector<double> w;
  std::vector<double> loop; // A_uu
  std::vector<double> k;    // Σ_j A_uj
  double two_m = 0;         // Σ_u k_u
};

// u's out-list and in-list, both sorted, merged: A_uv = w(u,v) + w(v,u).
result<ugraph> undirected_view(const digraph& g) {
  ugraph u;
  u.n = g.vertex_count();
  u.offsets.assign(std::size_t{u.n} + 1, 0);
  u.loop.assign(u.n, 0.0);
  u.k.assign(u.n, 0.0);
  u.nbr.reserve(2 * g.arc_count());
  u.w.reserve(2 * g.arc_count());
  for (std::uint32_t v = 0; v < u.n; ++v) {
    std::uint64_t i = g.out_begin(v), j = g.in_begin(v);
    const std::uint64_t ie = g.out_end(v), je = g.in_end(v);
    double k = 0;
    while (i < ie || j < je) {
      std::uint32_t x;
      double a = 0;
      if (j >= je || (i < ie && g.out_target(i) < g.in_source(j))) {
        x = g.out_target(i);
        a = g.out_weight(i++);
      } else if (i >= ie || g.in_source(j) < g.out_target(i)) {
        x = g.in_source(j);
        a = g.in_weight(j++);
      } else {
        x = g.out_target(i);
        a = g.out_weight(i++) + g.in_weight(j++);
      }
      if (!(a > 0) || !std::isfinite(a))
        return {errc::invalid_argument, "communities: arc weights must be finite and > 0"};
      k += a;
      if (x == v) {
        u.loop[v] = a;
      } else {
        u.nbr.push_back(x);
        u.w.push_back(a);
      }
    }
    u.k[v] = k;
    u.two_m += k;
    u.offsets[v + 1] = u.nbr.size();
  }
  return u;
}

// splitmix64-seeded xorshift: the same sequence on every platform (the
// standard distributions are not), so a seed means the same result anywhere.
class rng64 {
public:
  explicit rng64(std::uint64_t seed) : s_(seed + 0x9e3779b97f4a7c15ull) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound), bound > 0 (multiply-shift; bias < bound / 2^64).
  std::uint32_t below(std::uint32_t bound) {
    return static_cast<std::uint32_t>((next() >> 32) * bound >> 32);
  }

private:
  std::uint64_t s_;
};

void shuffle(std::vector<std::uint32_t>& v, rng64& rng) {
  for (std::size_t i = v.size(); i > 1; --i)
    std::swap(v[i - 1], v[rng.below(static_cast<std::uint32_t>(i))]);
}

// One level of local moving. Returns the number of sweeps; comm gets a
// community per vertex (community ids are vertex ids of this level).
std::uint32_t local_moving(const ugraph& g, double gamma, rng64& rng,
                           std::vector<std::uint32_t>& comm, bool& moved_any) {
  const std::uint32_t n = g.n;
  comm.resize(n);
  std::vector<double> tot(g.k);
  for (std::uint32_t v = 0; v < n; ++v) comm[v] = v;
  std::vector<std::uint32_t> order(n);
  for (std::uint32_t v = 0; v < n; ++v) order[v] = v;
  shuffle(order, rng);

  std::vector<double> to_comm(n, 0.0);
  std::vector<std::uint32_t> touched;
  const double scale = gamma / g.two_m;
  moved_any = false;
  std::uint32_t sweeps = 0;
  // A sweep that gains less than this (in modularity) ends the level: the
  // tail of tiny moves costs sweeps and changes Q in the 7th decimal.
  const double min_gain = 1e-7;
  for (;;) {
    ++sweeps;
    double gained = 0; // Σ of (gain - stay) × 2/two_m: the modularity gained
    std::uint64_t moves = 0;
    for (std::uint32_t u : order) {
      const std::uint32_t cu = comm[u];
      touched.clear();
      for (std::uint64_t i = g.offsets[u]; i < g.offsets[u + 1]; ++i) {
        const std::uint32_t c = comm[g.nbr[i]];
        if (to_comm[c] == 0) touched.push_back(c);
        to_comm[c] += g.w[i];
      }
      const double ku = g.k[u];
      tot[cu] -= ku;
      std::uint32_t best = cu;
      const double stay = to_comm[cu] - scale * tot[cu] * ku;
      double best_gain = stay;
      for (std::uint32_t c : touched) {
        const double gain = to_comm[c] - scale * tot[c] * ku;
        if (gain > best_gain) {
          best_gain = gain;
          best = c;
        }
        to_comm[c] = 0;
      }
      to_comm[cu] = 0;
      tot[best] += ku;
      if (best != cu) {
        comm[u] = best;
        ++moves;
        gained += best_gain - stay;
      }
    }
    if (moves > 0) moved_any = true;
    if (moves == 0 || 2.0 * gained / g.two_m < min_gain) break;
  }
  return sweeps;
}

// The graph of communities: one vertex per community (ids 0..count-1 in
// comm), loops holding the weight inside.
ugraph aggregate(const ugraph& g, const std::vector<std::uint32_t>& comm, std::uint32_t count) {
  ugraph a;
  a.n = count;
  a.offsets.assign(std::size_t{count} + 1, 0);
  a.loop.assign(count, 0.0);
  a.k.assign(count, 0.0);
  a.two_m = g.two_m;
  // Members grouped by community (counting sort).
  std::vector<std::uint64_t> start(std::size_t{count} + 1, 0);
  for (std::uint32_t v = 0; v < g.n; ++v) ++start[comm[v] + 1];
  for (std::uint32_t c = 0; c < count; ++c) start[c + 1] += start[c];
  std::vector<std::uint32_t> members(g.n);
  {
    std::vector<std::uint64_t> next(start.begin(), start.end() - 1);
    for (std::uint32_t v = 0; v < g.n; ++v) members[next[comm[v]]++] = v;
  }
  std::vector<double> acc(count, 0.0);
  std::vector<std::uint32_t> touched;
  for (std::uint32_t c = 0; c < count; ++c) {
    touched.clear();
    double inside = 0, k = 0;
    for (std::uint64_t m = start[c]; m < start[c + 1]; ++m) {
      const std::uint32_t u = members[m];
      inside += g.loop[u];
      k += g.k[u];
      for (std::uint64_t i = g.offsets[u]; i < g.offsets[u + 1]; ++i) {
        const std::uint32_t d = comm[g.nbr[i]];
        if (d == c) {
          inside += g.w[i];
          continue;
        }
        if (acc[d] == 0) touched.push_back(d);
        acc[d] += g.w[i];
      }
    }
    a.loop[c] = inside;
    a.k[c] = k;
    for (std::uint32_t d : touched) {
      a.nbr.push_back(d);
      a.w.push_back(acc[d]);
      acc[d] = 0;
    }
    a.offsets[c + 1] = a.nbr.size();
  }
  return a;
}

// Compacts community ids to 0..count-1 in order of first appearance.
std::uint32_t compact(std::vector<std::uint32_t>& comm, std::uint32_t bound) {
  std::vector<std::uint32_t> to(bound, UINT32_MAX);
  std::uint32_t count = 0;
  for (std::uint32_t& c : comm) {
    if (to[c] == UINT32_MAX) to[c] = count++;
    c = to[c];
  }
  return count;
}

} // namespace

result<double> modularity(const digraph& g, const std::vector<std::uint32_t>& community,
                          double resolution) {
  const std::uint32_t n = g.vertex_count();
  if (community.size() != n)
    return {errc::invalid_argument, "modularity: " + std::to_string(community.size()) +
                                        " communities given for " + std::to_string(n) + " vertices"};
  if (!(resolution > 0) || !std::isfinite(resolution))
    return {errc::invalid_argument, "modularity: resolution must be a positive number"};
  std::vector<std::uint32_t> label(community);
  std::uint32_t bound = 0;
  for (std::uint32_t c : label) bound = std::max(bound, c + 1);
  if (bound > 2 * n + 1) { // sparse labels: map them through a sorted copy
    std::vector<std::uint32_t> sorted(label);
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    for (std::uint32_t& c : label)
      c = static_cast<std::uint32_t>(std::lower_bound(sorted.begin(), sorted.end(), c) - sorted.begin());
    bound = static_cast<std::uint32_t>(sorted.size());
  }
  double m = 0, inside = 0;
  std::vector<double> tot(bound, 0.0);
  for (std::uint32_t u = 0; u < n; ++u)
    for (std::uint64_t i = g.out_begin(u); i < g.out_end(u); ++i) {
      const std::uint32_t v = g.out_target(i);
      const double a = g.out_weight(i);
      m += a;
      tot[label[u]] += a;
      tot[label[v]] += a;
      if (label[u] == label[v]) inside += a;
    }
  if (m == 0) return 0.0;
  double expected = 0;
  for (double t : tot) expected += (t / (2 * m)) * (t / (2 * m));
  return inside / m - resolution * expected;
}

result<communities> louvain(const digraph& g, const louvain_options& o) {
  if (!(o.resolution > 0) || !std::isfinite(o.resolution))
    return {errc::invalid_argument, "louvain: resolution must be a positive number"};
  auto view = undirected_view(g);
  if (!view) return std::move(view).err();
  ugraph level = std::move(view).value();
  const std::uint32_t n = g.vertex_count();
  communities r;
  r.community.resize(n);
  for (std::uint32_t v = 0; v < n; ++v) r.community[v] = v;
  rng64 rng(o.seed);
  std::vector<std::uint32_t> comm;
  while (level.n > 0 && level.two_m > 0) {
    bool moved = false;
    r.iterations += local_moving(level, o.resolution, rng, comm, moved);
    if (!moved) break;
    const std::uint32_t count = compact(comm, level.n);
    for (std::uint32_t& c : r.community) c = comm[c];
    ++r.levels;
    if (count == level.n) break;
    level = aggregate(level, comm, count);
  }
  r.count = detail::renumber_by_size(r.community, n);
  auto q = modularity(g, r.community, o.resolution);
  if (!q) return std::move(q).err();
  r.modularity = q.value();
  return r;
}

result<communities> label_propagation(const digraph& g, const label_propagation_options& o) {
  auto view = undirected_view(g);
  if (!view) return std::move(view).err();
  const ugraph& u = view.value();
  const std::uint32_t n = u.n;
  communities r;
  std::vector<std::uint32_t>& label = r.community;
  label.resize(n);
  for (std::uint32_t v = 0; v < n; ++v) label[v] = v;
  std::vector<std::uint32_t> order(n);
  for (std::uint32_t v = 0; v < n; ++v) order[v] = v;
  rng64 rng(o.seed);
  std::vector<double> weight(n, 0.0);
  std::vector<std::uint32_t> touched, ties;
  r.converged = false;
  while (r.iterations < o.max_iterations) {
    ++r.iterations;
    shuffle(order, rng);
    std::uint64_t changes = 0;
    for (std::uint32_t v : order) {
      if (u.offsets[v] == u.offsets[v + 1]) continue;
      touched.clear();
      for (std::uint64_t i = u.offsets[v]; i < u.offsets[v + 1]; ++i) {
        const std::uint32_t l = label[u.nbr[i]];
        if (weight[l] == 0) touched.push_back(l);
        weight[l] += u.w[i];
      }
      double best = 0;
      for (std::uint32_t l : touched) best = std::max(best, weight[l]);
      ties.clear();
      bool keep = false;
      for (std::uint32_t l : touched) {
        if (weight[l] == best) {
          ties.push_back(l);
          if (l == label[v]) keep = true;
        }
        weight[l] = 0;
      }
      if (keep) continue;
      label[v] = ties.size() == 1 ? ties[0] : ties[rng.below(static_cast<std::uint32_t>(ties.size()))];
      ++changes;
    }
    if (changes == 0) {
      r.converged = true;
      break;
    }
  }
  r.count = detail::renumber_by_size(label, n);
  auto q = modularity(g, label);
  if (!q) return std::move(q).err();
  r.modularity = q.value();
  return r;
}

} // namespace tlflow::analytics
