// MemoryStore benchmark: memory per edge and shortest-path latency on a
// 1M-vertex / 10M-edge graph. Not a test.
//
//   graph_bench [--vertices 1000000] [--edges 10000000] [--queries 1000]
//               [--batch 10000] [--seed 42] [--max-depth 6] [--data-dir DIR]
//
// (a) Loads a generated graph into an ephemeral MemoryStore through apply()
//     in batches and prints the load time, resident memory (VmRSS) before and
//     after, and bytes per edge.
// (b) Runs shortest-path queries between random pairs (undirected, the API's
//     default; then directed) and prints the median and p99 latency and how
//     many found a path.
// (c) Times the reads that must not cost the whole graph: location_flows(20),
//     a page of edges of a rare kind (10 `link` edges added for it) and of
//     `quote` (5%), and a page of the top hub's neighbours; prints the sizes
//     of the indexes behind them.
//
// With --data-dir the store is durable (log written with write(2), no fsync)
// and the benchmark also times a snapshot, close() and a reopen (snapshot
// load); DIR must be empty or absent.
//
// The graph: bench/graph_gen.hpp (power-law targets, fixed seed).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <time.h>

#include "graph_gen.hpp"
#include "proc_stats.hpp"
#include "store/memory/memory_store.hpp"

using namespace tlflow;
using bench::rss_kib;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  std::uint64_t vertices = 1000000;
  std::uint64_t edges = 10000000;
  std::size_t queries = 1000;
  std::size_t batch = 10000;
  std::uint64_t seed = 42;
  unsigned max_depth = 6;
  std::string data_dir; // empty: ephemeral
};

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") return false;
    if (i + 1 >= argc) return false;
    if (a == "--data-dir") {
      o.data_dir = argv[++i];
      continue;
    }
    const unsigned long long v = std::strtoull(argv[++i], nullptr, 10);
    if (a == "--vertices") o.vertices = v;
    else if (a == "--edges") o.edges = v;
    else if (a == "--queries") o.queries = v;
    else if (a == "--batch") o.batch = v;
    else if (a == "--seed") o.seed = v;
    else if (a == "--max-depth") o.max_depth = static_cast<unsigned>(v);
    else return false;
  }
  return o.vertices >= 2 && o.batch >= 1;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto idx = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

} // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: graph_bench [--vertices N] [--edges M] [--queries Q] [--batch B] "
                 "[--seed S] [--max-depth D] [--data-dir DIR]\n");
    return 2;
  }
  std::printf("graph_bench: %llu vertices, %llu edges, %zu queries, batch %zu, seed %llu\n",
              static_cast<unsigned long long>(o.vertices), static_cast<unsigned long long>(o.edges),
              o.queries, o.batch, static_cast<unsigned long long>(o.seed));

  const long rss_before = rss_kib();
  memory_store_options mo;
  mo.ephemeral = o.data_dir.empty();
  mo.data_dir = o.data_dir;
  mo.snapshot_interval_s = 0;
  mo.wal_fsync = wal_fsync_policy::none;
  auto opened = memory_store::open(mo);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.err().message.c_str());
    return 1;
  }
  std::unique_ptr<memory_store> owner = std::move(opened).value();
  memory_store* store_ptr = owner.get();
  auto& store = *store_ptr;

  const std::uint64_t n = o.vertices;
  bench::graph_generator gen(n, o.seed);
  const auto id_of = bench::graph_generator::id_of;

  // ---- (a) load
  const auto load_start = clock_type::now();
  const double load_cpu_start = bench::thread_cpu_ms();
  if (auto filled = bench::fill(store, gen, o.edges, o.batch); !filled.ok()) {
    std::fprintf(stderr, "apply: %s\n", filled.err().message.c_str());
    return 1;
  }
  const std::uint64_t produced = gen.produced();
  const double load_s =
      std::chrono::duration<double>(clock_type::now() - load_start).count();
  const long rss_after = rss_kib();
  const std::uint64_t vertices = store.count_vertices().value();
  const std::uint64_t edges = store.count_edges().value();
  const double bytes_per_edge =
      static_cast<double>(rss_after - rss_before) * 1024.0 / static_cast<double>(edges);
  const double load_cpu_s = (bench::thread_cpu_ms() - load_cpu_start) / 1000.0;
  std::printf("\n(a) load through apply(): %.1f s (%.1f s CPU) for %llu interactions (%.0f interactions/s)\n",
              load_s, load_cpu_s, static_cast<unsigned long long>(produced),
              static_cast<double>(produced) / load_s);
  std::printf("    graph: %llu vertices, %llu edges\n", static_cast<unsigned long long>(vertices),
              static_cast<unsigned long long>(edges));
  std::printf("    VmRSS before %.1f MiB, after %.1f MiB: %.1f bytes per edge   (target < 150)  %s\n",
              static_cast<double>(rss_before) / 1024.0, static_cast<double>(rss_after) / 1024.0,
              bytes_per_edge, bytes_per_edge < 150 ? "MET" : "MISSED");

  const auto st = store.statistics();
  std::printf("    adjacency entries %llu, capacity %llu (%.0f%% spare), interned strings %llu "
              "(%.1f MiB)\n",
              static_cast<unsigned long long>(st.adjacency_entries),
              static_cast<unsigned long long>(st.adjacency_capacity),
              100.0 * static_cast<double>(st.adjacency_capacity - st.adjacency_entries) /
                  static_cast<double>(std::max<std::uint64_t>(st.adjacency_entries, 1)),
              static_cast<unsigned long long>(st.interned_strings),
              static_cast<double>(st.interner_bytes) / 1048576.0);

  {
    double c = bench::thread_cpu_ms();
    auto t = clock_type::now();
    vertex_query vq;
    vq.limit = 100;
    const bool listed = store.list_vertices(vq).ok();
    const double first_list_ms =
        std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
    t = clock_type::now();
    const bool listed_again = store.list_vertices(vq).ok();
    const double list_ms = std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
    const double list_cpu = bench::thread_cpu_ms() - c;
    // Listing during ingestion: the new ids are merged into the sorted index.
    interaction fresh;
    fresh.from.id = "twitter:new-a";
    fresh.to.id = "twitter:new-b";
    (void)store.apply({fresh});
    t = clock_type::now();
    const double c_new = bench::thread_cpu_ms();
    vq.after = "twitter:1000";
    (void)store.list_vertices(vq);
    const double list_new_ms =
        std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
    const double list_new_cpu = bench::thread_cpu_ms() - c_new;
    c = bench::thread_cpu_ms();
    t = clock_type::now();
    auto flows = store.location_flows(20);
    const double flows_ms = std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
    const double flows_cpu = bench::thread_cpu_ms() - c;
    std::printf("    list_vertices first page %.1f ms (builds the sorted index), next %.3f ms "
                "(both: %.1f ms CPU), after 2 new vertices %.3f ms (%.3f ms CPU)\n"
                "    location_flows(20) %.1f ms (%.1f ms CPU, %zu flows)%s\n",
                first_list_ms, list_ms, list_cpu, list_new_ms, list_new_cpu, flows_ms, flows_cpu,
                flows.ok() ? flows->size() : 0, listed && listed_again ? "" : " FAILED");
  }

  // ---- (b) shortest paths
  auto run_paths = [&](bool directed) {
    std::vector<double> ms, cpu;
    ms.reserve(o.queries);
    cpu.reserve(o.queries);
    std::size_t found = 0;
    std::size_t hops = 0;
    std::mt19937_64 qrng(o.seed + (directed ? 2 : 1));
    path_query q;
    q.directed = directed;
    q.max_depth = o.max_depth;
    for (std::size_t i = 0; i < o.queries; ++i) {
      const std::string a = id_of(qrng() % n);
      const std::string b = id_of(qrng() % n);
      const double c0 = bench::thread_cpu_ms();
      const auto start = clock_type::now();
      auto r = store.shortest_path(a, b, q);
      ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - start).count());
      cpu.push_back(bench::thread_cpu_ms() - c0);
      if (r.ok()) {
        ++found;
        hops += r->size() - 1;
      }
    }
    const double med = percentile(ms, 0.5);
    const double p99 = percentile(ms, 0.99);
    std::printf("\n(b) shortest path, %s, max_depth %u: %zu queries, %zu found a path "
                "(mean %.2f hops)\n",
                directed ? "directed" : "undirected", o.max_depth, o.queries, found,
                found ? static_cast<double>(hops) / static_cast<double>(found) : 0.0);
    std::printf("    median %.3f ms (target < 20) %s, p99 %.3f ms (target < 100) %s, max %.3f ms\n",
                med, med < 20 ? "MET" : "MISSED", p99, p99 < 100 ? "MET" : "MISSED",
                percentile(ms, 1.0));
    std::printf("    CPU time: median %.3f ms, p99 %.3f ms, max %.3f ms\n", percentile(cpu, 0.5),
                percentile(cpu, 0.99), percentile(cpu, 1.0));
  };
  run_paths(false);
  run_paths(true);

  // ---- (c) reads
  {
    for (std::uint64_t i = 0; i < 10; ++i) {
      add_edge_request r;
      r.key = {id_of(n - 1 - i), id_of(i), edge_kind::link};
      (void)store.add_edge(r);
    }
    auto median_ms = [](auto&& call) {
      std::vector<double> ms;
      for (int i = 0; i < 21; ++i) {
        const auto t = clock_type::now();
        call();
        ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t).count());
      }
      return percentile(ms, 0.5);
    };
    const double flows_ms = median_ms([&] { (void)store.location_flows(20); });
    auto kind_page = [&](edge_kind k) {
      edge_query q;
      q.kind = k;
      q.limit = 100;
      return median_ms([&] { (void)store.list_edges(q); });
    };
    const double link_ms = kind_page(edge_kind::link);
    const double quote_ms = kind_page(edge_kind::quote);
    const std::string hub = id_of(gen.shuffle_id(0));
    neighbor_query nq;
    nq.limit = 100;
    const double hub_ms = median_ms([&] { (void)store.neighbors(hub, nq); });
    const auto hub_view = store.get_vertex(hub);
    const auto rs = store.statistics();
    std::printf("\n(c) reads, median of 21: location_flows(20) %.3f ms; edges page kind=link (10 edges) "
                "%.3f ms, kind=quote %.3f ms; neighbours page of the top hub (%llu edges) %.3f ms\n"
                "    indexes: %llu flow pairs, %llu hubs with %llu ordered entries, per-kind lists "
                "%llu entries\n",
                flows_ms, link_ms, quote_ms,
                static_cast<unsigned long long>(hub_view.ok() ? hub_view->in_degree + hub_view->out_degree : 0),
                hub_ms,
                static_cast<unsigned long long>(rs.flow_pairs),
                static_cast<unsigned long long>(rs.hubs), static_cast<unsigned long long>(rs.hub_entries),
                static_cast<unsigned long long>(rs.kind_list_entries));
  }
  std::printf("\nVmRSS at the end %.1f MiB\n", static_cast<double>(rss_kib()) / 1024.0);

  if (!o.data_dir.empty()) {
    const auto log_bytes = store.statistics().wal_bytes;
    const double c0 = bench::thread_cpu_ms();
    auto t = clock_type::now();
    if (auto s = store.snapshot(); !s.ok()) {
      std::fprintf(stderr, "snapshot: %s\n", s.err().message.c_str());
      return 1;
    }
    const double snap_s = std::chrono::duration<double>(clock_type::now() - t).count();
    const double snap_cpu_s = (bench::thread_cpu_ms() - c0) / 1000.0;
    owner->close();
    owner.reset();
    const double c1 = bench::thread_cpu_ms();
    t = clock_type::now();
    auto again = memory_store::open(mo);
    if (!again.ok()) {
      std::fprintf(stderr, "reopen: %s\n", again.err().message.c_str());
      return 1;
    }
    const double open_s = std::chrono::duration<double>(clock_type::now() - t).count();
    const double open_cpu_s = (bench::thread_cpu_ms() - c1) / 1000.0;
    std::printf("\n(durable) log before the snapshot %.1f MiB; snapshot() %.2f s (%.2f s CPU); "
                "reopen (snapshot load) %.2f s (%.2f s CPU), %llu edges\n",
                static_cast<double>(log_bytes) / 1048576.0, snap_s, snap_cpu_s, open_s, open_cpu_s,
                static_cast<unsigned long long>(again.value()->count_edges().value()));
  }
  return 0;
}
