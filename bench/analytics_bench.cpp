// Analytics benchmark: PageRank, Louvain and the other algorithms on a
// 1M-vertex / 10M-arc graph, each beside its baseline. Not a test.
//
//   analytics_bench [--vertices 1000000] [--arcs 10000000] [--seed 42]
//                   [--small-vertices 100000] [--small-arcs 1000000]
//                   [--python PY] [--no-baseline] [--no-networkx]
//                   [--refresh-iterations 3] [--pagerank-only]
//
// --refresh-iterations: the cap of the bounded refresh measured in (b) (the
// background refresh's --analytics-pagerank-refresh-iterations); with
// --pagerank-only the bench stops after (b).
//
// The graph is the one bench/graph_bench loads: every account acts (uniform),
// the accounts acted upon follow a power law (index = N * u^3, shuffled over
// the ids), no self-loops; repeated pairs merge into one arc of summed weight.
// Wall-clock times of the algorithm call only, best of 3 where cheap (the
// machine may be shared). Baselines: igraph (C, through python-igraph) for
// PageRank, Louvain and label propagation on the same graph, NetworkX's
// PageRank on the small graph (a pure-Python power iteration: nx.pagerank
// itself needs SciPy); bench/analytics_baseline.py runs them, with PY (default:
// the first of python3, /usr/bin/python3 that imports igraph and networkx).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <time.h>
#include <unistd.h>

#include "analytics/algorithms.hpp"

using namespace tlflow::analytics;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  std::uint32_t vertices = 1000000;
  std::uint64_t arcs = 10000000;
  std::uint64_t seed = 42;
  std::uint32_t small_vertices = 100000;
  std::uint64_t small_arcs = 1000000;
  std::string python;
  bool baseline = true;
  bool networkx = true;
  std::uint32_t refresh_iterations = 3;
  bool pagerank_only = false;
};

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--no-baseline") { o.baseline = false; continue; }
    if (a == "--no-networkx") { o.networkx = false; continue; }
    if (a == "--pagerank-only") { o.pagerank_only = true; continue; }
    if (i + 1 >= argc) return false;
    const std::string v = argv[++i];
    if (a == "--python") { o.python = v; continue; }
    const unsigned long long x = std::strtoull(v.c_str(), nullptr, 10);
    if (a == "--vertices") o.vertices = static_cast<std::uint32_t>(x);
    else if (a == "--arcs") o.arcs = x;
    else if (a == "--seed") o.seed = x;
    else if (a == "--small-vertices") o.small_vertices = static_cast<std::uint32_t>(x);
    else if (a == "--small-arcs") o.small_arcs = x;
    else if (a == "--refresh-iterations") o.refresh_iterations = static_cast<std::uint32_t>(x);
    else return false;
  }
  return o.vertices >= 2 && o.small_vertices >= 2 && o.refresh_iterations >= 1;
}

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

// CPU time of the process, all threads: on a shared machine, wall time also
// counts the time other processes held the cores.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct timing {
  double wall = 0;
  double cpu = 0;
};

// The graph_bench generator: `count` arcs over vertices [0, n).
void generate(std::uint32_t n, std::uint64_t count, std::mt19937_64& rng, std::vector<arc>& out) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uint64_t mult = 2654435761ull % n;
  auto gcd = [](std::uint64_t a, std::uint64_t b) {
    while (b) { const auto t = a % b; a = b; b = t; }
    return a;
  };
  while (mult < 2 || gcd(mult, n) != 1) ++mult;
  for (std::uint64_t k = 0; k < count; ++k) {
    const auto from = static_cast<std::uint32_t>(static_cast<std::uint64_t>(unit(rng) * n) % n);
    const double u = unit(rng);
    auto to = static_cast<std::uint32_t>(
        (static_cast<std::uint64_t>(u * u * u * n) % n) * mult % n);
    if (to == from) to = (to + 1) % n;
    out.push_back({from, to, 1.0});
  }
}

bool write_bin(const std::string& path, std::uint32_t n, const std::vector<arc>& arcs) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const std::uint64_t m = arcs.size();
  bool ok = std::fwrite(&n, 4, 1, f) == 1 && std::fwrite(&m, 8, 1, f) == 1;
  std::vector<std::uint32_t> ends;
  ends.reserve(2 * m);
  std::vector<double> w;
  w.reserve(m);
  for (const arc& a : arcs) {
    ends.push_back(a.from);
    ends.push_back(a.to);
    w.push_back(a.weight);
  }
  ok = ok && std::fwrite(ends.data(), 4, ends.size(), f) == ends.size();
  ok = ok && std::fwrite(w.data(), 8, w.size(), f) == w.size();
  return std::fclose(f) == 0 && ok;
}

std::vector<arc> arcs_of(const digraph& g) {
  std::vector<arc> out;
  out.reserve(g.arc_count());
  for (std::uint32_t u = 0; u < g.vertex_count(); ++u)
    for (std::uint64_t i = g.out_begin(u); i < g.out_end(u); ++i)
      out.push_back({u, g.out_target(i), g.out_weight(i)});
  return out;
}

// The undirected view written as edges u <= v (w(u,v) + w(v,u); loops w(u,u)).
std::vector<arc> undirected_edges(const digraph& g) {
  std::vector<arc> out;
  for (std::uint32_t u = 0; u < g.vertex_count(); ++u) {
    for (std::uint64_t i = g.out_begin(u); i < g.out_end(u); ++i) {
      const std::uint32_t v = g.out_target(i);
      double w = g.out_weight(i);
      if (v > u) {
        for (std::uint64_t j = g.out_begin(v); j < g.out_end(v); ++j)
          if (g.out_target(j) == u) w += g.out_weight(j);
        out.push_back({u, v, w});
      } else if (v == u) {
        out.push_back({u, u, w});
      } else {
        bool reverse = false; // counted from v's side when v -> u exists
        for (std::uint64_t j = g.out_begin(v); j < g.out_end(v) && !reverse; ++j)
          reverse = g.out_target(j) == u;
        if (!reverse) out.push_back({v, u, w});
      }
    }
  }
  return out;
}

// Runs the baseline script and reads its "name value" lines.
std::map<std::string, double> baseline(const std::string& python, const char* what, const std::string& dir) {
  std::map<std::string, double> r;
  const std::string cmd = python + " " TLFLOW_BENCH_DIR "/analytics_baseline.py " + what + " " + dir;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char line[512];
  while (std::fgets(line, sizeof line, p)) {
    char name[256];
    double v = 0;
    if (std::sscanf(line, "%255s %lf", name, &v) == 2) r[name] = v;
  }
  pclose(p);
  return r;
}

std::string find_python() {
  for (const char* py : {"python3", "/usr/bin/python3"}) {
    const std::string cmd = std::string(py) + " -c 'import igraph, networkx' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  return {};
}

// CPU seconds (wall seconds) beside the baseline's; the ratio is of CPU times.
void row(const char* what, timing ours, const char* base_name, timing base) {
  if (base.cpu > 0)
    std::printf("    %-40s %8.3f s (%8.3f)   %-28s %8.3f s (%8.3f)   ratio %.3g\n", what, ours.cpu, ours.wall,
                base_name, base.cpu, base.wall, ours.cpu / base.cpu);
  else
    std::printf("    %-40s %8.3f s (%8.3f)\n", what, ours.cpu, ours.wall);
}

template <class F>
timing best_of(int times, F&& f) {
  timing best{1e300, 1e300};
  for (int i = 0; i < times; ++i) {
    const auto t = clock_type::now();
    const double c = cpu_seconds();
    f();
    best.cpu = std::min(best.cpu, cpu_seconds() - c);
    best.wall = std::min(best.wall, seconds_since(t));
  }
  return best;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr, "usage: analytics_bench [--vertices N] [--arcs M] [--seed S] [--small-vertices N] "
                         "[--small-arcs M] [--python PY] [--no-baseline] [--no-networkx] "
                         "[--refresh-iterations K] [--pagerank-only]\n");
    return 2;
  }
  if (o.baseline && o.python.empty()) o.python = find_python();
  if (o.baseline && o.python.empty()) {
    std::printf("no python3 imports igraph and networkx: baselines skipped\n");
    o.baseline = false;
  }
  std::string dir_pattern = (std::filesystem::temp_directory_path() / "analytics_bench.XXXXXX").string();
  std::vector<char> dir_buf(dir_pattern.begin(), dir_pattern.end());
  dir_buf.push_back('\0');
  const char* made = mkdtemp(dir_buf.data());
  if (!made) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = made;

  std::mt19937_64 rng(o.seed);
  std::printf("analytics_bench: %u vertices, %llu arcs drawn, seed %llu\n", o.vertices,
              static_cast<unsigned long long>(o.arcs), static_cast<unsigned long long>(o.seed));
  std::vector<arc> drawn;
  drawn.reserve(o.arcs + o.arcs / 100);
  generate(o.vertices, o.arcs, rng, drawn);
  auto t = clock_type::now();
  digraph g = digraph::from_arcs(o.vertices, drawn);
  std::printf("    digraph::from_arcs %.3f s: %llu arcs after merging repeated pairs\n", seconds_since(t),
              static_cast<unsigned long long>(g.arc_count()));

  // ---- PageRank, cold
  pagerank_result cold;
  pagerank_options p1;
  const timing pr1 = best_of(3, [&] { cold = pagerank(g, p1).value(); });
  pagerank_options p2;
  p2.threads = 2;
  pagerank_result cold2;
  const timing pr2 = best_of(3, [&] { cold2 = pagerank(g, p2).value(); });
  double diff12 = 0;
  for (std::uint32_t v = 0; v < o.vertices; ++v) diff12 = std::max(diff12, std::fabs(cold.scores[v] - cold2.scores[v]));

  // ---- PageRank, warm after 1% new arcs, a tenth of them to 1000 new vertices
  const std::uint32_t added_vertices = 1000;
  const std::uint32_t n2 = o.vertices + added_vertices;
  std::vector<arc> more = drawn;
  const std::uint64_t new_arcs = o.arcs / 100;
  generate(o.vertices, new_arcs - new_arcs / 10, rng, more);
  for (std::uint64_t k = 0; k < new_arcs / 10; ++k)
    more.push_back({static_cast<std::uint32_t>(o.vertices + rng() % added_vertices),
                    static_cast<std::uint32_t>(rng() % o.vertices), 1.0});
  const digraph g2 = digraph::from_arcs(n2, std::move(more));
  std::vector<std::int64_t> previous_index(n2, -1);
  for (std::uint32_t v = 0; v < o.vertices; ++v) previous_index[v] = v;
  pagerank_result cold_new, warm_new;
  const timing cold_new_s = best_of(3, [&] { cold_new = pagerank(g2).value(); });
  std::vector<double> start;
  pagerank_options pw;
  const timing warm_s = best_of(3, [&] {
    start = make_warm_start(cold.scores, previous_index, n2);
    pw.warm_start = &start;
    warm_new = pagerank(g2, pw).value();
  });
  double warm_diff = 0;
  for (std::uint32_t v = 0; v < n2; ++v) warm_diff = std::max(warm_diff, std::fabs(cold_new.scores[v] - warm_new.scores[v]));
  // The bounded refresh: the same warm start, at most refresh_iterations.
  pagerank_result bounded;
  pagerank_options pb;
  pb.max_iterations = o.refresh_iterations;
  const timing bounded_s = best_of(3, [&] {
    start = make_warm_start(cold.scores, previous_index, n2);
    pb.warm_start = &start;
    bounded = pagerank(g2, pb).value();
  });
  // The reference: converged far below the errors measured here.
  pagerank_options pt;
  pt.tolerance = 1e-14;
  const pagerank_result exact_new = pagerank(g2, pt).value();
  auto l1_to_exact = [&](const std::vector<double>& x) {
    double s = 0;
    for (std::uint32_t v = 0; v < n2; ++v) s += std::fabs(x[v] - exact_new.scores[v]);
    return s;
  };
  const double bounded_err = l1_to_exact(bounded.scores);
  const double warm_err = l1_to_exact(warm_new.scores);
  const double start_err = l1_to_exact(make_warm_start(cold.scores, previous_index, n2));
  // Continuations, as the background runs them while quiet: from the bounded
  // vector, refresh_iterations at a time, until converged.
  std::vector<std::pair<double, double>> steps; // (bound, true L1 error) after each
  double continue_cpu = 0;
  {
    pagerank_result cur = bounded;
    while (!cur.converged && steps.size() < 100) {
      std::vector<double> from = cur.scores;
      pagerank_options pc;
      pc.max_iterations = o.refresh_iterations;
      pc.warm_start = &from;
      const double c0 = cpu_seconds();
      cur = pagerank(g2, pc).value();
      continue_cpu += cpu_seconds() - c0;
      steps.emplace_back(cur.error_bound, l1_to_exact(cur.scores));
    }
  }
  if (o.pagerank_only) {
    std::printf("\n(b) PageRank refresh after 1%% new arcs (%llu, a tenth from %u new vertices)\n",
                static_cast<unsigned long long>(new_arcs), added_vertices);
  }

  auto print_bounded = [&] {
    std::printf("    warm start: L1 distance %.2e to the exact vector before iterating; warm unbounded: %.2e after\n",
                start_err, warm_err);
    std::printf("    bounded (%u iterations): %.3f s CPU (%.3f wall), bounded / cold %.2f (wall %.2f); "
                "reported bound %.2e, true L1 error %.2e, last change %.2e\n",
                bounded.iterations, bounded_s.cpu, bounded_s.wall, bounded_s.cpu / cold_new_s.cpu,
                bounded_s.wall / cold_new_s.wall, bounded.error_bound, bounded_err, bounded.last_change);
    std::printf("    continued %u iterations at a time while quiet: converged after %zu more refreshes, %.3f s CPU in all\n",
                o.refresh_iterations, steps.size(), continue_cpu);
    for (std::size_t i = 0; i < steps.size(); ++i)
      std::printf("      refresh %zu: bound %.2e, true L1 error %.2e\n", i + 2, steps[i].first, steps[i].second);
  };
  if (o.pagerank_only) {
    std::printf("    cold %.3f s CPU (%.3f wall, %u iterations), warm unbounded %.3f s CPU (%.3f wall, %u iterations): "
                "warm / cold %.2f\n",
                cold_new_s.cpu, cold_new_s.wall, cold_new.iterations, warm_s.cpu, warm_s.wall, warm_new.iterations,
                warm_s.cpu / cold_new_s.cpu);
    print_bounded();
    return 0;
  }

  // ---- Louvain, label propagation
  communities lv, lp;
  const timing louvain_s = best_of(1, [&] { lv = louvain(g, {1, 1.0}).value(); });
  const timing lp_s = best_of(1, [&] { lp = label_propagation(g, {1, 100}).value(); });

  // ---- the rest
  betweenness_result bc;
  betweenness_options bo;
  bo.samples = 32;
  bo.seed = 1;
  const timing bc_s = best_of(1, [&] { bc = betweenness(g, bo).value(); });
  bo.threads = 2;
  const timing bc2_s = best_of(1, [&] { bc = betweenness(g, bo).value(); });
  t = clock_type::now();
  const components wcc = weakly_connected_components(g);
  const double wcc_s = seconds_since(t);
  t = clock_type::now();
  const components scc = strongly_connected_components(g);
  const double scc_s = seconds_since(t);
  t = clock_type::now();
  const double rec = reciprocity(g).value_or(0);
  const double rec_s = seconds_since(t);
  t = clock_type::now();
  const auto top = top_k(cold.scores, 100);
  const double top_s = seconds_since(t);

  // ---- baselines
  std::map<std::string, double> ig, nxb;
  if (o.baseline) {
    std::fflush(stdout);
    if (!write_bin(dir + "/directed.bin", o.vertices, arcs_of(g)) ||
        !write_bin(dir + "/undirected.bin", o.vertices, undirected_edges(g))) {
      std::fprintf(stderr, "cannot write the graph under %s\n", dir.c_str());
      return 1;
    }
    ig = baseline(o.python, "igraph", dir);
  }
  // The small graph, for NetworkX.
  std::mt19937_64 small_rng(o.seed + 1);
  std::vector<arc> small_arcs;
  generate(o.small_vertices, o.small_arcs, small_rng, small_arcs);
  const digraph small = digraph::from_arcs(o.small_vertices, std::move(small_arcs));
  pagerank_result small_pr;
  const timing small_s = best_of(3, [&] { small_pr = pagerank(small).value(); });
  if (o.baseline && o.networkx) {
    FILE* f = std::fopen((dir + "/small.tol").c_str(), "w");
    if (f) {
      std::fprintf(f, "%.17g\n", pagerank_options{}.tolerance);
      std::fclose(f);
    }
    if (write_bin(dir + "/small.bin", o.small_vertices, arcs_of(small))) nxb = baseline(o.python, "networkx", dir);
  }
  for (const char* name : {"directed.bin", "undirected.bin", "small.bin", "small.tol"}) std::remove((dir + "/" + name).c_str());
  rmdir(dir.c_str());

  auto get = [](const std::map<std::string, double>& m, const char* k) {
    const auto it = m.find(k);
    return it == m.end() ? 0.0 : it->second;
  };
  auto base = [&](const std::map<std::string, double>& m, const std::string& k) {
    return timing{get(m, (k + "_s").c_str()), get(m, (k + "_cpu_s").c_str())};
  };
  std::printf("\nCPU seconds (wall seconds); ratio = ours / baseline, CPU\n");
  std::printf("\n(a) PageRank, damping 0.85, stop at L1 change < %.0e\n", pagerank_options{}.tolerance);
  row("cold, 1 thread", pr1, "igraph pagerank (PRPACK)", base(ig, "igraph_pagerank"));
  row("cold, 2 threads", pr2, "igraph pagerank (PRPACK)", base(ig, "igraph_pagerank"));
  std::printf("    iterations %u, 1 vs 2 threads: max |diff| %.1e, wall 2 threads / 1 thread %.2f\n",
              cold.iterations, diff12, pr2.wall / pr1.wall);
  char label[128];
  std::snprintf(label, sizeof label, "small graph (%u / %llu), 1 thread", o.small_vertices,
                static_cast<unsigned long long>(small.arc_count()));
  row(label, small_s, "NetworkX pagerank (SciPy)", base(nxb, "networkx_pagerank"));
  std::printf("\n(b) PageRank refresh after 1%% new arcs (%llu, a tenth from %u new vertices)\n",
              static_cast<unsigned long long>(new_arcs), added_vertices);
  std::printf("    cold %.3f s CPU (%u iterations), warm %.3f s CPU (%u iterations, make_warm_start included): "
              "warm / cold %.2f; max |diff| %.1e\n",
              cold_new_s.cpu, cold_new.iterations, warm_s.cpu, warm_new.iterations, warm_s.cpu / cold_new_s.cpu,
              warm_diff);
  print_bounded();
  std::printf("\n(c) communities on the undirected view\n");
  row("Louvain", louvain_s, "igraph community_multilevel", base(ig, "igraph_louvain"));
  std::printf("    modularity %.4f (%u communities, %u levels, %u sweeps), igraph %.4f (%.0f communities): difference %+.4f\n",
              lv.modularity, lv.count, lv.levels, lv.iterations, get(ig, "igraph_louvain_modularity"),
              get(ig, "igraph_louvain_communities"), lv.modularity - get(ig, "igraph_louvain_modularity"));
  row("label propagation", lp_s, "igraph label_propagation", base(ig, "igraph_label_propagation"));
  std::printf("    modularity %.4f (%u communities, %u sweeps), igraph %.4f\n", lp.modularity, lp.count,
              lp.iterations, get(ig, "igraph_label_propagation_modularity"));
  std::printf("\n(d) the rest (no baseline)\n");
  std::printf("    betweenness from 32 sources: %.3f s wall (1 thread), %.3f s wall (2 threads); epsilon %.3f at "
              "delta %.2f\n",
              bc_s.wall, bc2_s.wall, bc.epsilon, bo.delta);
  std::printf("    weakly connected %.3f s (%u components, largest %u); strongly connected %.3f s (%u, largest %u)\n",
              wcc_s, wcc.count, wcc.largest, scc_s, scc.count, scc.largest);
  std::printf("    reciprocity %.3f s (%.4f); top_k(100) %.4f s (first %u)\n", rec_s, rec, top_s,
              top.empty() ? 0u : top[0]);
  return 0;
}
