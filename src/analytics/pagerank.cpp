// PageRank by power iteration, pulling along in-arcs (no write contention, so
// the vertex range splits between threads with no atomics).
#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "analytics/algorithms.hpp"

namespace tlflow::analytics {

namespace {

// Two-party rendezvous, reusable: both sides wait until both have arrived.
class barrier {
public:
  explicit barrier(unsigned parties) : parties_(parties) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mu_);
    const std::uint64_t gen = generation_;
    if (++arrived_ == parties_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return generation_ != gen; });
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  unsigned parties_;
  unsigned arrived_ = 0;
  std::uint64_t generation_ = 0;
};

struct partial {
  double change = 0;   // L1 change over the range
  double dangling = 0; // new mass on the dangling vertices of the range
  char pad[48];        // keep the two threads' partials on separate cache lines
};

} // namespace

std::vector<double> make_warm_start(const std::vector<double>& previous,
                                    const std::vector<std::int64_t>& previous_index,
                                    std::uint32_t n) {
  std::vector<double> x(n, n > 0 ? 1.0 / n : 0.0);
  for (std::uint32_t v = 0; v < n && v < previous_index.size(); ++v) {
    const std::int64_t p = previous_index[v];
    if (p >= 0 && static_cast<std::uint64_t>(p) < previous.size()) x[v] = previous[static_cast<std::size_t>(p)];
  }
  double sum = 0;
  for (double s : x) sum += s;
  if (sum > 0)
    for (double& s : x) s /= sum;
  return x;
}

result<pagerank_result> pagerank(const digraph& g, const pagerank_options& o) {
  if (!(o.damping >= 0 && o.damping < 1))
    return {errc::invalid_argument, "pagerank: damping must be in [0, 1)"};
  if (!(o.tolerance > 0) || !std::isfinite(o.tolerance))
    return {errc::invalid_argument, "pagerank: tolerance must be a positive number"};
  if (o.threads < 1 || o.threads > 2)
    return {errc::invalid_argument, "pagerank: threads must be 1 or 2"};
  const std::uint32_t n = g.vertex_count();
  pagerank_result r;
  if (n == 0) {
    r.converged = true;
    r.error_bound = 0;
    return r;
  }

  if (!g.weights_positive())
    return {errc::invalid_argument, "pagerank: arc weights must be finite and > 0"};
  // inv_w[u] = 1 / out-strength, 0 for a dangling vertex.
  std::vector<double> inv_w(n);
  for (std::uint32_t u = 0; u < n; ++u) {
    const double w = g.out_strength(u);
    if (w > 0) inv_w[u] = 1.0 / w;
  }

  std::vector<double> x(n, 1.0 / n);
  if (o.warm_start) {
    const std::vector<double>& ws = *o.warm_start;
    if (ws.size() != n)
      return {errc::invalid_argument, "pagerank: warm start has " + std::to_string(ws.size()) +
                                          " entries, the graph " + std::to_string(n) + " vertices"};
    double sum = 0;
    for (double s : ws) {
      if (!(s >= 0) || !std::isfinite(s))
        return {errc::invalid_argument, "pagerank: warm start entries must be finite and >= 0"};
      sum += s;
    }
    if (!(sum > 0)) return {errc::invalid_argument, "pagerank: warm start sums to 0"};
    for (std::uint32_t v = 0; v < n; ++v) x[v] = ws[v] / sum;
  }

  // y[u] = x[u] / W(u): what u sends along each unit of arc weight.
  std::vector<double> y(n), x_next(n), y_next(n);
  double dangling_mass = 0;
  for (std::uint32_t u = 0; u < n; ++u) {
    y[u] = x[u] * inv_w[u];
    if (inv_w[u] == 0) dangling_mass += x[u];
  }

  // Split the vertices where the in-arcs are split in half.
  std::uint32_t split = n;
  if (o.threads == 2) {
    const std::uint64_t half = g.arc_count() / 2 + static_cast<std::uint64_t>(n) / 2;
    std::uint32_t lo = 0, hi = n;
    while (lo < hi) { // first v with in_begin(v) + v >= half
      const std::uint32_t mid = lo + (hi - lo) / 2;
      if (g.in_begin(mid) + mid < half) lo = mid + 1;
      else hi = mid;
    }
    split = lo;
  }

  const double d = o.damping;
  partial parts[2];
  double base = 0;
  auto sweep = [&](std::uint32_t begin, std::uint32_t end, partial& p) {
    double change = 0, dmass = 0;
    for (std::uint32_t v = begin; v < end; ++v) {
      double s = 0;
      for (std::uint64_t i = g.in_begin(v), e = g.in_end(v); i < e; ++i)
        s += g.in_weight(i) * y[g.in_source(i)];
      const double nx = d * s + base;
      change += std::fabs(nx - x[v]);
      x_next[v] = nx;
      const double iw = inv_w[v];
      y_next[v] = nx * iw;
      if (iw == 0) dmass += nx;
    }
    p.change = change;
    p.dangling = dmass;
  };

  const double teleport = (1.0 - d) / n;
  bool stop = false;
  auto step_done = [&] {
    // Runs on one thread between barriers.
    ++r.iterations;
    r.last_change = parts[0].change + parts[1].change;
    dangling_mass = parts[0].dangling + parts[1].dangling;
    x.swap(x_next);
    y.swap(y_next);
    if (r.last_change < o.tolerance) r.converged = true;
    stop = r.converged || r.iterations >= o.max_iterations;
    base = d * dangling_mass / n + teleport;
  };
  base = d * dangling_mass / n + teleport;
  stop = o.max_iterations == 0;

  if (o.threads == 1 || split == 0 || split == n) {
    while (!stop) {
      sweep(0, n, parts[0]);
      parts[1] = partial{};
      step_done();
    }
  } else {
    barrier sync(2);
    std::thread helper([&] {
      for (;;) {
        sync.arrive_and_wait(); // start of an iteration, or the end
        if (stop) return;
        sweep(split, n, parts[1]);
        sync.arrive_and_wait();
      }
    });
    for (;;) {
      sync.arrive_and_wait();
      if (stop) break;
      sweep(0, split, parts[0]);
      sync.arrive_and_wait();
      step_done();
    }
    helper.join();
  }

  // Rounding drifts the sum by ~1e-16 per iteration; give back exactly 1.
  double sum = 0;
  for (double s : x) sum += s;
  for (double& s : x) s /= sum;
  // The map is affine with linear part d·M, M column-stochastic (dangling
  // columns uniform), so it contracts L1 distances by d on every vector:
  // ||x_k - x*|| <= ||x_k - x_{k+1}|| + d ||x_k - x*||, and
  // ||x_{k+1} - x_k|| <= d ||x_k - x_{k-1}||, hence
  // ||x_k - x*|| <= d / (1 - d) * ||x_k - x_{k-1}||.
  if (r.iterations > 0) r.error_bound = std::min(2.0, d / (1.0 - d) * r.last_change);
  r.scores = std::move(x);
  return r;
}

} // namespace tlflow::analytics
