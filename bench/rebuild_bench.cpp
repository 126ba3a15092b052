// The whole-graph background rebuild of the analytics engine, phase by phase,
// on bench/graph_gen.hpp's graph in a MemoryStore (docs/analytics.md, "The
// whole-graph rebuild"). Not a test.
//
//   rebuild_bench [--vertices 1000000] [--edges 10000000] [--seed 42]
//                 [--batch 10000] [--betweenness-work N] [--max-elements N]
//
// Loads the graph, then does what engine::rebuild does, timing each phase:
// the store scan into a slice_graph, PageRank (cold: the first snapshot),
// betweenness (sources as the engine chooses them, --betweenness-work its
// cap), Louvain and label propagation (seed 0), the weighted degrees and the
// search index; then a second rebuild's warm, bounded PageRank. Prints wall
// and thread-CPU seconds per phase, and VmRSS / VmHWM (peak) after each.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "analytics/engine.hpp"
#include "graph_gen.hpp"
#include "proc_stats.hpp"
#include "store/memory/memory_store.hpp"

using namespace tlflow;
using namespace tlflow::analytics;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  std::uint64_t vertices = 1000000;
  std::uint64_t edges = 10000000;
  std::uint64_t seed = 42;
  std::uint64_t batch = 10000;
  std::uint64_t betweenness_work = engine_options{}.betweenness_max_work;
  std::uint64_t max_elements = 0;
};

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const unsigned long long x = std::strtoull(argv[i + 1], nullptr, 10);
    if (a == "--vertices") o.vertices = x;
    else if (a == "--edges") o.edges = x;
    else if (a == "--seed") o.seed = x;
    else if (a == "--batch") o.batch = x;
    else if (a == "--betweenness-work") o.betweenness_work = x;
    else if (a == "--max-elements") o.max_elements = x;
    else return false;
  }
  return argc % 2 == 1 && o.vertices >= 2 && o.batch > 0;
}

long hwm_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

struct phase {
  clock_type::time_point t = clock_type::now();
  double cpu = bench::thread_cpu_ms();
  void done(const char* what, const std::string& detail = {}) {
    std::printf("  %-34s %8.2f s wall %8.2f s CPU   RSS %6.0f MiB, peak %6.0f MiB  %s\n", what,
                std::chrono::duration<double>(clock_type::now() - t).count(), (bench::thread_cpu_ms() - cpu) / 1e3,
                static_cast<double>(bench::rss_kib()) / 1024.0, static_cast<double>(hwm_kib()) / 1024.0,
                detail.c_str());
    std::fflush(stdout);
    t = clock_type::now();
    cpu = bench::thread_cpu_ms();
  }
};

} // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr, "usage: rebuild_bench [--vertices N] [--edges M] [--seed S] [--batch B] "
                         "[--betweenness-work N] [--max-elements N]\n");
    return 2;
  }
  memory_store_options mo;
  mo.ephemeral = true;
  mo.snapshot_interval_s = 0;
  auto opened = memory_store::open(mo);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.err().message.c_str());
    return 1;
  }
  std::unique_ptr<memory_store> store = std::move(opened).value();
  bench::graph_generator gen(o.vertices, o.seed);
  phase p;
  auto filled = bench::fill(*store, gen, o.edges, o.batch);
  if (!filled.ok()) {
    std::fprintf(stderr, "apply: %s\n", filled.err().message.c_str());
    return 1;
  }
  const std::uint64_t edges_now = *filled;
  const std::uint64_t vertices_now = store->count_vertices().value();
  std::printf("rebuild_bench: %llu vertices, %llu edges (%llu elements), seed %llu, betweenness work cap %llu\n",
              static_cast<unsigned long long>(vertices_now), static_cast<unsigned long long>(edges_now),
              static_cast<unsigned long long>(vertices_now + edges_now), static_cast<unsigned long long>(o.seed),
              static_cast<unsigned long long>(o.betweenness_work));
  p.done("load the store");

  engine_options eo;
  eo.betweenness_max_work = o.betweenness_work;
  auto built = slice_graph::build(*store, slice{}, o.max_elements);
  if (!built.ok()) {
    std::printf("  store scan refused: %s\n", built.err().message.c_str());
    return 1;
  }
  std::shared_ptr<const slice_graph> g = std::move(built).value();
  p.done("store scan -> slice_graph",
         std::to_string(g->vertex_count()) + " accounts, " + std::to_string(g->graph().arc_count()) + " arcs");
  const auto first = std::make_shared<snapshot>(g, 0, eo);
  char detail[160];
  const auto& pr = first->pagerank();
  std::snprintf(detail, sizeof detail, "%u iterations, cold", pr.iterations);
  p.done("PageRank", detail);
  const auto& bc = first->betweenness();
  std::snprintf(detail, sizeof detail, "%zu sources, error bound %.3f", bc.sources, bc.epsilon);
  p.done("betweenness", detail);
  const auto lv = first->louvain(0);
  std::snprintf(detail, sizeof detail, "modularity %.4f, %u communities", lv ? lv->modularity : 0.0, lv ? lv->count : 0);
  p.done("Louvain", detail);
  const auto lp = first->label_propagation(0);
  std::snprintf(detail, sizeof detail, "%u sweeps", lp ? lp->iterations : 0);
  p.done("label propagation", detail);
  first->weighted_degrees();
  p.done("weighted degrees");
  (void)first->search("user1");
  p.done("search index");

  // The next rebuild: a second scan (both snapshots in memory, as in the
  // engine while it replaces one), PageRank warm-started and bounded.
  auto again = slice_graph::build(*store, slice{}, o.max_elements);
  if (!again.ok()) return 1;
  p.done("second store scan (two snapshots)");
  auto second = std::make_shared<snapshot>(std::move(again).value(), 0, eo);
  std::vector<std::int64_t> same(second->graph().vertex_count());
  for (std::size_t i = 0; i < same.size(); ++i) same[i] = static_cast<std::int64_t>(i);
  const std::vector<double> warm = make_warm_start(pr.scores, same, second->graph().vertex_count());
  second->compute_all(&warm, eo.pagerank_refresh_iterations);
  std::snprintf(detail, sizeof detail, "all phases; PageRank %u iterations, bound %.1e",
                second->pagerank().iterations, second->pagerank().error_bound);
  p.done("second rebuild's analytics", detail);
  store->close();
  return 0;
}
