// MemoryStore benchmark: how long readers and writers stall while a snapshot
// is taken, compacted off the live graph (the default) against the live graph
// serialised with writers excluded (the old way), in the same run. Not a test.
//
//   snapshot_bench --data-dir DIR [--vertices 1000000] [--edges 10000000]
//                  [--tail 100000] [--batch 10000] [--seed 42]
//                  [--snapshot-mode both|compact|locked]
//
// Loads the graph of bench/graph_gen.hpp (graph_bench's) into a durable store
// in DIR (empty or absent; log written with write(2), no fsync, so that disk
// flushes do not blur the lock figures), takes a first snapshot, adds `tail`
// interactions (the log a periodic snapshot finds), then for each mode runs
// one reader thread (get_vertex of random ids) and one writer thread
// (add_edge between random accounts) around snapshot(mode) and prints the
// longest single call of each, the snapshot's wall and CPU time and the
// resident memory before, at its peak during and after the snapshot.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <thread>
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
  std::uint64_t tail = 100000;
  std::size_t batch = 10000;
  std::uint64_t seed = 42;
  std::string data_dir;
  std::string mode = "both";
};

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h" || i + 1 >= argc) return false;
    const std::string v = argv[++i];
    if (a == "--data-dir") o.data_dir = v;
    else if (a == "--snapshot-mode") o.mode = v;
    else if (a == "--vertices") o.vertices = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--edges") o.edges = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--tail") o.tail = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--batch") o.batch = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--seed") o.seed = std::strtoull(v.c_str(), nullptr, 10);
    else return false;
  }
  return !o.data_dir.empty() && o.vertices >= 2 && o.batch >= 1 &&
         (o.mode == "both" || o.mode == "compact" || o.mode == "locked");
}

struct stall_figures {
  double snapshot_s = 0, snapshot_cpu_s = 0;
  double read_max_ms = 0, write_max_ms = 0;
  double seal_ms = 0; // compact: how long the log seal held the lock
  std::uint64_t reads = 0, writes = 0;
  long rss_before = 0, rss_peak = 0, rss_after = 0;
};

stall_figures measure(memory_store& store, snapshot_mode mode, std::uint64_t n, std::uint64_t seed) {
  stall_figures f;
  std::atomic<bool> stop{false};
  std::atomic<long> peak{rss_kib()};
  f.rss_before = peak;
  std::thread reader([&] {
    std::mt19937_64 rng(seed + 11);
    double worst = 0;
    std::uint64_t calls = 0;
    while (!stop) {
      const std::string id = bench::graph_generator::id_of(rng() % n);
      const auto t = clock_type::now();
      (void)store.get_vertex(id);
      worst = std::max(worst, std::chrono::duration<double, std::milli>(clock_type::now() - t).count());
      ++calls;
    }
    f.read_max_ms = worst;
    f.reads = calls;
  });
  std::thread writer([&] {
    std::mt19937_64 rng(seed + 13);
    double worst = 0;
    std::uint64_t calls = 0;
    add_edge_request req;
    req.at = "2026-12-01T00:00:00Z";
    while (!stop) {
      req.key = {bench::graph_generator::id_of(rng() % n), bench::graph_generator::id_of(rng() % n),
                 edge_kind::link};
      const auto t = clock_type::now();
      (void)store.add_edge(req);
      worst = std::max(worst, std::chrono::duration<double, std::milli>(clock_type::now() - t).count());
      ++calls;
    }
    f.write_max_ms = worst;
    f.writes = calls;
  });
  std::thread sampler([&] {
    while (!stop) {
      const long r = rss_kib();
      if (r > peak) peak = r;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double c0 = bench::thread_cpu_ms();
  const auto t0 = clock_type::now();
  if (auto s = store.snapshot(mode); !s.ok()) {
    std::fprintf(stderr, "snapshot: %s\n", s.err().message.c_str());
    std::exit(1);
  }
  f.snapshot_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  f.snapshot_cpu_s = (bench::thread_cpu_ms() - c0) / 1000.0;
  f.seal_ms = mode == snapshot_mode::compact ? static_cast<double>(store.statistics().last_seal_us) / 1000.0 : 0;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  reader.join();
  writer.join();
  sampler.join();
  f.rss_peak = peak;
  f.rss_after = rss_kib();
  return f;
}

void print(const char* name, const stall_figures& f) {
  std::printf("  %-8s snapshot %6.2f s wall (%5.2f s CPU), lock held for the seal %.2f ms | longest read "
              "%8.2f ms (%llu reads) | longest write %8.2f ms (%llu writes) | VmRSS %.0f -> peak %.0f -> "
              "%.0f MiB\n",
              name, f.snapshot_s, f.snapshot_cpu_s, f.seal_ms, f.read_max_ms,
              static_cast<unsigned long long>(f.reads), f.write_max_ms,
              static_cast<unsigned long long>(f.writes), static_cast<double>(f.rss_before) / 1024.0,
              static_cast<double>(f.rss_peak) / 1024.0, static_cast<double>(f.rss_after) / 1024.0);
}

} // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: snapshot_bench --data-dir DIR [--vertices N] [--edges M] [--tail T] "
                 "[--batch B] [--seed S] [--snapshot-mode both|compact|locked]\n");
    return 2;
  }
  memory_store_options mo;
  mo.data_dir = o.data_dir;
  mo.snapshot_interval_s = 0;
  mo.wal_fsync = wal_fsync_policy::none;
  auto opened = memory_store::open(mo);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.err().message.c_str());
    return 1;
  }
  memory_store& store = **opened;
  if (store.count_edges().value() != 0) {
    std::fprintf(stderr, "%s must be empty or absent\n", o.data_dir.c_str());
    return 2;
  }
  std::printf("snapshot_bench: %llu vertices, %llu edges, tail %llu interactions, seed %llu\n",
              static_cast<unsigned long long>(o.vertices), static_cast<unsigned long long>(o.edges),
              static_cast<unsigned long long>(o.tail), static_cast<unsigned long long>(o.seed));
  bench::graph_generator gen(o.vertices, o.seed);
  std::vector<interaction> batch;
  const auto t_load = clock_type::now();
  if (auto filled = bench::fill(store, gen, o.edges, o.batch); !filled.ok()) {
    std::fprintf(stderr, "apply: %s\n", filled.err().message.c_str());
    return 1;
  }
  std::printf("load: %.1f s, %llu interactions; VmRSS %.0f MiB\n",
              std::chrono::duration<double>(clock_type::now() - t_load).count(),
              static_cast<unsigned long long>(gen.produced()), static_cast<double>(rss_kib()) / 1024.0);
  // The snapshot a periodic one starts from, then the log after it.
  auto t = clock_type::now();
  if (auto s = store.snapshot(snapshot_mode::locked); !s.ok()) {
    std::fprintf(stderr, "first snapshot: %s\n", s.err().message.c_str());
    return 1;
  }
  std::printf("first snapshot (locked, no load): %.2f s\n",
              std::chrono::duration<double>(clock_type::now() - t).count());
  for (std::uint64_t k = 0; k < o.tail; k += o.batch) {
    gen.next(batch, std::min<std::uint64_t>(o.batch, o.tail - k));
    if (auto s = store.apply(batch); !s.ok()) return 1;
  }
  std::printf("\nstalls during one snapshot (one reader thread, one writer thread):\n");
  stall_figures compact, locked;
  if (o.mode != "locked") print("compact", compact = measure(store, snapshot_mode::compact, o.vertices, o.seed));
  if (o.mode != "compact") print("locked", locked = measure(store, snapshot_mode::locked, o.vertices, o.seed));
  if (o.mode == "both")
    std::printf("\nlongest write stall: %.2f ms compacting vs %.2f ms locked; longest read stall: %.2f ms vs "
                "%.2f ms\n",
                compact.write_max_ms, locked.write_max_ms, compact.read_max_ms, locked.read_max_ms);
  (*opened)->close();
  return 0;
}
