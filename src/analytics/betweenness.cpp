// Brandes' betweenness, unweighted and directed, from all or sampled sources.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <thread>

#include "analytics/algorithms.hpp"

namespace tlflow::analytics {

namespace {

// Adds the dependencies of every source in [first, last) to bc. One BFS per
// source; the back-propagation walks in-arcs (predecessors are the in-
// neighbours one hop closer), so no predecessor lists are stored.
void accumulate(const digraph& g, const std::uint32_t* first, const std::uint32_t* last,
                std::vector<double>& bc) {
  const std::uint32_t n = g.vertex_count();
  std::vector<std::int32_t> dist(n, -1);
  std::vector<double> sigma(n, 0.0), delta(n, 0.0);
  std::vector<std::uint32_t> order; // BFS order, also the queue
  order.reserve(n);
  for (; first != last; ++first) {
    const std::uint32_t s = *first;
    order.clear();
    order.push_back(s);
    dist[s] = 0;
    sigma[s] = 1;
    for (std::size_t head = 0; head < order.size(); ++head) {
      const std::uint32_t v = order[head];
      const std::int32_t dv = dist[v] + 1;
      for (std::uint64_t i = g.out_begin(v); i < g.out_end(v); ++i) {
        const std::uint32_t w = g.out_target(i);
        if (dist[w] < 0) {
          dist[w] = dv;
          order.push_back(w);
        }
        if (dist[w] == dv) sigma[w] += sigma[v];
      }
    }
    for (std::size_t k = order.size(); k-- > 1;) { // order[0] is s
      const std::uint32_t w = order[k];
      const double coeff = (1.0 + delta[w]) / sigma[w];
      const std::int32_t dprev = dist[w] - 1;
      for (std::uint64_t i = g.in_begin(w); i < g.in_end(w); ++i) {
        const std::uint32_t v = g.in_source(i);
        if (dist[v] == dprev) delta[v] += sigma[v] * coeff;
      }
      bc[w] += delta[w];
    }
    for (std::uint32_t v : order) {
      dist[v] = -1;
      sigma[v] = 0;
      delta[v] = 0;
    }
  }
}

} // namespace

result<betweenness_result> betweenness(const digraph& g, const betweenness_options& o) {
  if (!(o.delta > 0 && o.delta < 1))
    return {errc::invalid_argument, "betweenness: delta must be in (0, 1)"};
  if (o.threads < 1 || o.threads > 2)
    return {errc::invalid_argument, "betweenness: threads must be 1 or 2"};
  const std::uint32_t n = g.vertex_count();
  betweenness_result r;
  r.scores.assign(n, 0.0);
  if (n == 0) return r;

  std::vector<std::uint32_t> sources(n);
  std::iota(sources.begin(), sources.end(), 0u);
  r.exact = o.samples == 0 || o.samples >= n;
  if (!r.exact) {
    // The first k of a seeded partial Fisher-Yates shuffle: k distinct
    // sources, uniformly. Sorted afterwards for memory locality only.
    std::mt19937_64 rng(o.seed);
    for (std::size_t i = 0; i < o.samples; ++i) {
      std::uniform_int_distribution<std::size_t> pick(i, n - 1);
      std::swap(sources[i], sources[pick(rng)]);
    }
    sources.resize(o.samples);
    std::sort(sources.begin(), sources.end());
  }
  r.sources = sources.size();

  if (o.threads == 2 && sources.size() >= 2) {
    std::vector<double> other(n, 0.0);
    const std::uint32_t* mid = sources.data() + sources.size() / 2;
    std::thread helper([&] { accumulate(g, mid, sources.data() + sources.size(), other); });
    accumulate(g, sources.data(), mid, r.scores);
    helper.join();
    for (std::uint32_t v = 0; v < n; ++v) r.scores[v] += other[v];
  } else {
    accumulate(g, sources.data(), sources.data() + sources.size(), r.scores);
  }

  if (n > 2) {
    const double nn = n;
    double scale = 1.0 / ((nn - 1) * (nn - 2));
    if (!r.exact) scale *= nn / static_cast<double>(r.sources);
    for (double& b : r.scores) b *= scale;
    if (!r.exact) {
      // Each sampled source s contributes X = n δ_s(v) / ((n-1)(n-2)) with
      // δ_s(v) <= n-2, so X is in [0, n/(n-1)], and E[X] over a uniform s is
      // the exact value. Hoeffding's inequality (which holds for sampling
      // without replacement too, Hoeffding 1963 §6) bounds one vertex's
      // deviation of the mean of k such X by 2 exp(-2 k ε² / R²); a union bound
      // over the n vertices makes the probability that any exceeds ε at most δ.
      const double range = nn / (nn - 1);
      r.epsilon = range * std::sqrt(std::log(2.0 * nn / o.delta) /
                                    (2.0 * static_cast<double>(r.sources)));
    }
  } else {
    std::fill(r.scores.begin(), r.scores.end(), 0.0); // no vertex lies between two others
  }
  return r;
}

} // namespace tlflow::analytics
