// Export benchmark: how fast the writers turn a MemoryStore's scan into
// GraphML and GEXF, and how much memory an export takes above the store's.
// Not a test.
//
//   export_bench [--vertices 1000000] [--edges 10000000] [--batch 10000] [--seed 42]
//
// Loads the graph bench/graph_bench.cpp generates (same distribution: power
// law of accounts acted upon, four kinds, one or two of 50 hashtags, half the
// accounts with a location) into an ephemeral MemoryStore, then for each
// format runs graph_store::scan of the whole graph and of one slice
// (kind=reply) into the writer, as GET /export does, with the output thrown
// away in 64 KiB pieces (the socket's speed is not measured). Prints MB/s of
// output (wall and this thread's CPU) and the peak VmRSS during the export
// above VmRSS before it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>


#include "api/export_format.hpp"
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
  std::size_t batch = 10000;
  std::uint64_t seed = 42;
};

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return false;
    const unsigned long long v = std::strtoull(argv[++i], nullptr, 10);
    if (a == "--vertices") o.vertices = v;
    else if (a == "--edges") o.edges = v;
    else if (a == "--batch") o.batch = v;
    else if (a == "--seed") o.seed = v;
    else return false;
  }
  return o.vertices >= 2 && o.batch >= 1;
}

// The writer behind a scan, output discarded piece by piece; samples VmRSS
// every 64 chunks.
class discard_sink final : public scan_sink {
public:
  explicit discard_sink(api::export_writer& w) : w_(w) {}
  status vertices(std::vector<vertex_view>& chunk) override {
    w_.vertices(chunk, buf_);
    return hand_over();
  }
  status edges(std::vector<edge>& chunk) override {
    w_.edges(chunk, buf_);
    return hand_over();
  }
  void finish() {
    w_.end(buf_);
    bytes_ += buf_.size();
    buf_.clear();
  }
  std::uint64_t bytes() const { return bytes_; }
  long peak_rss() const { return peak_; }
  std::string& buf() { return buf_; }

private:
  status hand_over() {
    if (buf_.size() >= (64u << 10)) {
      bytes_ += buf_.size();
      buf_.clear();
    }
    if (++chunks_ % 64 == 0) peak_ = std::max(peak_, rss_kib());
    return ok_v;
  }
  api::export_writer& w_;
  std::string buf_;
  std::uint64_t bytes_ = 0;
  std::uint64_t chunks_ = 0;
  long peak_ = 0;
};

void run(graph_store& store, api::export_format f, const slice& s, const char* what) {
  auto w = api::make_export_writer(f);
  discard_sink sink(*w);
  const long before = rss_kib();
  const double c0 = (bench::thread_cpu_ms() / 1e3);
  const auto t0 = clock_type::now();
  w->begin(sink.buf());
  if (auto st = store.scan(s, sink); !st) {
    std::fprintf(stderr, "scan: %s\n", st.err().message.c_str());
    std::exit(1);
  }
  sink.finish();
  const double wall = std::chrono::duration<double>(clock_type::now() - t0).count();
  const double cpu = (bench::thread_cpu_ms() / 1e3) - c0;
  const double mb = static_cast<double>(sink.bytes()) / 1e6;
  std::printf("  %-8s %-12s %9.1f MB in %6.2f s: %7.1f MB/s wall, %7.1f MB/s per CPU-second; "
              "peak VmRSS +%.1f MiB above the %.1f MiB before   (target >= 100 MB/s) %s\n",
              std::string(api::export_format_name(f)).c_str(), what, mb, wall, mb / wall, mb / cpu,
              static_cast<double>(std::max(0L, std::max(sink.peak_rss(), rss_kib()) - before)) / 1024.0,
              static_cast<double>(before) / 1024.0, mb / wall >= 100 ? "ok" : "BELOW");
}

// The scan alone, for the share of the time the writers take.
void run_scan_only(graph_store& store, const slice& s, const char* what) {
  struct count_sink final : scan_sink {
    std::uint64_t items = 0;
    status vertices(std::vector<vertex_view>& c) override {
      items += c.size();
      return ok_v;
    }
    status edges(std::vector<edge>& c) override {
      items += c.size();
      return ok_v;
    }
  } sink;
  const double c0 = (bench::thread_cpu_ms() / 1e3);
  const auto t0 = clock_type::now();
  if (auto st = store.scan(s, sink); !st) std::exit(1);
  std::printf("  scan     %-12s %9llu items in %6.2f s wall, %6.2f CPU-s\n", what,
              static_cast<unsigned long long>(sink.items),
              std::chrono::duration<double>(clock_type::now() - t0).count(), (bench::thread_cpu_ms() / 1e3) - c0);
}

} // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // figures as they come, also into a file
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr, "usage: export_bench [--vertices N] [--edges M] [--batch B] [--seed S]\n");
    return 2;
  }
  std::printf("export_bench: %llu vertices, %llu edges, seed %llu\n",
              static_cast<unsigned long long>(o.vertices), static_cast<unsigned long long>(o.edges),
              static_cast<unsigned long long>(o.seed));
  memory_store_options mo;
  mo.ephemeral = true;
  mo.snapshot_interval_s = 0;
  auto opened = memory_store::open(mo);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.err().message.c_str());
    return 1;
  }
  std::unique_ptr<memory_store> store = std::move(opened).value();

  // bench/graph_gen.hpp's graph, with names that need escaping in every format.
  bench::graph_generator gen(o.vertices, o.seed);
  const auto load_start = clock_type::now();
  auto filled = bench::fill(*store, gen, o.edges, o.batch, [](std::vector<interaction>& batch) {
    for (auto& x : batch) {
      x.from.name = "User & <" + x.from.handle.substr(4) + ">";
      x.to.name = "User & <" + x.to.handle.substr(4) + ">";
    }
  });
  if (!filled.ok()) {
    std::fprintf(stderr, "apply: %s\n", filled.err().message.c_str());
    return 1;
  }
  const std::uint64_t edges_now = *filled;
  std::printf("loaded %llu vertices, %llu edges in %.1f s; VmRSS %.1f MiB\n",
              static_cast<unsigned long long>(store->count_vertices().value()),
              static_cast<unsigned long long>(edges_now),
              std::chrono::duration<double>(clock_type::now() - load_start).count(),
              static_cast<double>(rss_kib()) / 1024.0);

  slice whole;
  slice replies;
  replies.kinds = {edge_kind::reply};
  run_scan_only(*store, whole, "whole graph");
  run_scan_only(*store, replies, "kind=reply");
  for (auto f : {api::export_format::graphml, api::export_format::gexf}) {
    run(*store, f, whole, "whole graph");
    run(*store, f, replies, "kind=reply");
  }
  store->close();
  return 0;
}
