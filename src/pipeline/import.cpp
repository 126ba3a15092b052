#include "pipeline/import.hpp"

#include <atomic>
#include <chrono>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/extract_adapter.hpp"
#include "tracking/tracking.hpp"
#include "sources/file_source.hpp"
#include "util/log.hpp"

namespace tlflow {

std::string format_summary(const import_summary& s) {
  std::ostringstream os;
  const auto& st = s.stats;
  double rate = s.seconds > 0 ? static_cast<double>(st.posts) / s.seconds : 0;
  os << "imported " << s.lines << " lines (" << (s.bytes >> 20) << " MiB) in " << s.seconds
     << " s: " << st.posts << " posts (" << static_cast<std::uint64_t>(rate) << " posts/s), "
     << st.interactions << " interactions, " << st.duplicates << " duplicate posts skipped, "
     << st.notices << " notices, " << st.malformed << " malformed";
  if (!st.malformed_by_reason.empty()) {
    os << " (";
    bool first = true;
    for (const auto& [reason, n] : st.malformed_by_reason) {
      if (!first) os << ", ";
      first = false;
      os << reason << ' ' << n;
    }
    os << ')';
  }
  if (st.store_errors) os << ", " << st.store_errors << " store errors (retried)";
  if (st.lost) os << ", " << st.lost << " interactions LOST (the store refused them)";
  os << "; peak memory " << (s.peak_rss_kib / 1024) << " MiB";
  return os.str();
}

status check_import_input(const std::string& path) {
  if (path == "-") return ok_v;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return error{errc::io_error, "cannot read " + path + ": " + std::strerror(errno)};
  }
  if (S_ISDIR(st.st_mode)) {
    return error{errc::io_error, path + " is a directory: give an NDJSON file, or - for standard input"};
  }
  // O_NONBLOCK: opening a FIFO must not wait for its writer here.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return error{errc::io_error, "cannot read " + path + ": " + std::strerror(errno)};
  ::close(fd);
  return ok_v;
}

int run_import(const config& cfg, graph_store& store, metrics_registry& metrics,
               import_summary* summary_out) {
  const std::string& path = cfg.import_file;
  if (auto readable = check_import_input(path); !readable) {
    std::fprintf(stderr, "tlflow import: %s\n", readable.err().message.c_str());
    return 1;
  }
  const std::string data_dir = cfg.ephemeral ? std::string() : cfg.data_dir;
  if (!data_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec) {
      log::error("import", "cannot create ", data_dir, ": ", ec.message());
      return 1;
    }
  }
  pipeline_options po;
  po.workers = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
  po.queue_capacity = 8192;
  po.batch_max = 4096;
  po.seen_path = data_dir.empty() ? std::string() : data_dir + "/seen_posts.bin";
  pipeline p(store, metrics, default_extractor(), po);
  if (auto st = p.start(); !st) {
    log::error("import", st.err().message);
    return 1;
  }
  tracking_set t;
  t.hashtags = cfg.track;
  if (auto norm = normalize_tracking(t); norm) p.set_tracking(*norm);
  else log::warn("import", "ignoring --track: ", norm.err().message);

  source_context ctx;
  ctx.sink = &p;
  ctx.metrics = &metrics;
  file_source src(ctx, path);

  const bool tty = ::isatty(2) != 0;
  std::atomic<bool> done{false};
  std::mutex m;
  std::condition_variable cv;
  auto t0 = std::chrono::steady_clock::now();
  std::thread progress;
  if (tty) {
    progress = std::thread([&] {
      std::uint64_t last_lines = 0;
      auto last = t0;
      std::unique_lock<std::mutex> lock(m);
      while (!cv.wait_for(lock, std::chrono::milliseconds(250), [&] { return done.load(); })) {
        auto now = std::chrono::steady_clock::now();
        std::uint64_t lines = src.lines();
        double dt = std::chrono::duration<double>(now - last).count();
        double rate = dt > 0 ? static_cast<double>(lines - last_lines) / dt : 0;
        last = now;
        last_lines = lines;
        ingest_stats st = p.stats();
        std::fprintf(stderr, "\r\033[K%llu lines  %.0f lines/s  %llu posts  %llu interactions  %llu duplicates",
                     static_cast<unsigned long long>(lines), rate,
                     static_cast<unsigned long long>(st.posts),
                     static_cast<unsigned long long>(st.interactions),
                     static_cast<unsigned long long>(st.duplicates));
        std::fflush(stderr);
      }
    });
  }

  bool opened = src.run_here();
  p.stop();  // drains the queue and applies the last batch
  done = true;
  cv.notify_all();
  if (progress.joinable()) progress.join();
  if (tty) std::fputs("\r\033[K", stderr);

  import_summary s;
  s.lines = src.lines();
  s.bytes = src.state().bytes;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.stats = p.stats();
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0) s.peak_rss_kib = ru.ru_maxrss;
  if (!opened) {
    std::fprintf(stderr, "tlflow import: %s\n", src.state().last_error.c_str());
    return 1;
  }
  std::fprintf(stderr, "%s\n", format_summary(s).c_str());
  if (summary_out) *summary_out = s;
  return s.stats.lost ? 2 : 0;
}

} // namespace tlflow
