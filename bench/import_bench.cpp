// `tlflow import` end to end: an X v2 file of N posts (the shipped sample
// replicated with fresh post ids, default 1,000,000) through the file source,
// the pipeline (extract workers, de-duplication with a persisted seen-set,
// batching) into the MemoryStore. Prints posts/s and peak memory, and the
// same file read by a Python script using the standard json module (the kind
// of code the original project was written in) as the baseline.
//
//   import_bench [N] [sample.ndjson]
//   TLFLOW_WAL_SYNC=commit import_bench ...   durable store, group-committed log
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "pipeline/import.hpp"
#include "store/memory/memory_store.hpp"
#include "util/log.hpp"

using namespace tlflow;

namespace {

const char* python_baseline = R"PY(
import json, sys, time
t0 = time.time()
edges = {}
posts = 0
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        msg = json.loads(line)
        data = msg.get("data")
        if not data:
            continue
        posts += 1
        users = {u["id"]: u for u in msg.get("includes", {}).get("users", [])}
        by_name = {u["username"].lower(): u for u in users.values()}
        author = users.get(data.get("author_id"), {})
        src = "twitter:" + data.get("author_id", "")
        tags = sorted({h["tag"].lower() for h in data.get("entities", {}).get("hashtags", [])})
        for m in data.get("entities", {}).get("mentions", []):
            u = by_name.get(m["username"].lower()) or {"id": m.get("id")}
            key = (src, "twitter:" + str(u.get("id")), "mention")
            e = edges.setdefault(key, [0, set()])
            e[0] += 1
            e[1].update(tags)
        for r in data.get("referenced_tweets", []):
            kind = {"replied_to": "reply", "retweeted": "repost", "quoted": "quote"}.get(r["type"])
            if kind:
                key = (src, "ref:" + r["id"], kind)
                e = edges.setdefault(key, [0, set()])
                e[0] += 1
dt = time.time() - t0
print("%d %.3f %d" % (posts, dt, len(edges)))
)PY";

} // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  log::set_level(log::level::warn);
  std::string sample = argc > 2 ? std::string(argv[2])
                                : (std::filesystem::path(__FILE__).parent_path().parent_path() /
                                   "samples" / "x-v2-sample.ndjson").string();
  std::ifstream in(sample);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) lines.push_back(l);
  if (lines.empty()) {
    std::cerr << "cannot read " << sample << "\n";
    return 1;
  }
  auto dir = std::filesystem::temp_directory_path() / ("tlflow-import-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "posts.ndjson").string();
  {
    std::ofstream out(file, std::ios::binary);
    const std::string key = "{\"data\":{\"id\":\"";
    for (long i = 0; i < n; ++i) {
      const std::string& l = lines[static_cast<std::size_t>(i) % lines.size()];
      long copy = i / static_cast<long>(lines.size());
      if (copy == 0) {
        out << l << '\n';
      } else {  // a fresh post id: copy number prefixed to the original
        out << key << copy << '9' << l.substr(key.size()) << '\n';
      }
    }
  }
  auto bytes = std::filesystem::file_size(file);

  config cfg;
  cfg.data_dir = (dir / "data").string();
  cfg.import_file = file;
  memory_store_options mo;
  // TLFLOW_WAL_SYNC=commit|interval: a durable store in the temp dir with that
  // log mode (bench/wal_bench.sh); unset: ephemeral, extraction and graph only.
  const char* wal_mode = std::getenv("TLFLOW_WAL_SYNC");
  mo.ephemeral = wal_mode == nullptr;
  if (wal_mode) {
    const auto mode = parse_wal_fsync_policy(wal_mode);
    if (!mode) {
      std::fprintf(stderr, "TLFLOW_WAL_SYNC must be commit, interval or none\n");
      return 2;
    }
    mo.wal_fsync = *mode;
    mo.data_dir = (dir / "store").string();
    mo.snapshot_interval_s = 0;
  }
  auto store = memory_store::open(mo);
  if (!store) return 1;
  metrics_registry metrics;
  import_summary s;
  rusage r0{}, r1{};
  getrusage(RUSAGE_SELF, &r0);
  int rc = run_import(cfg, **store, metrics, &s);
  getrusage(RUSAGE_SELF, &r1);
  auto cpu = [](const rusage& r) {
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  };
  double cpu_s = cpu(r1) - cpu(r0);
  double apply_s = metrics.histogram("tlflow_ingest_batch_seconds", "").sum();
  double posts_s = static_cast<double>(s.stats.posts) / s.seconds;
  if (wal_mode) std::printf("store: durable, log sync %s\n", wal_mode);
  std::printf("tlflow import: %ld posts (%.0f MiB) in %.2f s = %.0f posts/s (%.1f MB/s), %llu interactions, "
              "%llu edges, peak RSS %ld MiB\n",
              n, static_cast<double>(bytes) / 1048576.0, s.seconds, posts_s,
              static_cast<double>(bytes) / 1e6 / s.seconds,
              static_cast<unsigned long long>(s.stats.interactions),
              static_cast<unsigned long long>(*(*store)->count_edges()), s.peak_rss_kib / 1024);
  std::printf("  CPU time %.2f s (%.0f posts per CPU-second; the machine's load shares the cores), "
              "of which store apply %.2f s\n",
              cpu_s, static_cast<double>(s.stats.posts) / cpu_s, apply_s);
  (*store)->close(); // before its directory goes
  if (std::getenv("TLFLOW_BENCH_NO_PYTHON")) {
    std::filesystem::remove_all(dir);
    return rc;
  }

  const std::string py = (dir / "baseline.py").string();
  std::ofstream(py) << python_baseline;
  std::string cmd = "python3 " + py + " " + file + " 2>/dev/null";
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    long posts = 0, edges = 0;
    double secs = 0;
    if (std::fscanf(p, "%ld %lf %ld", &posts, &secs, &edges) == 3 && secs > 0)
      std::printf("python json baseline (extraction only, no store): %ld posts in %.2f s = %.0f posts/s "
                  "-> tlflow is %.1fx\n",
                  posts, secs, static_cast<double>(posts) / secs,
                  posts_s / (static_cast<double>(posts) / secs));
    else
      std::printf("python json baseline: not available\n");
    ::pclose(p);
  }
  std::filesystem::remove_all(dir);
  return rc;
}
