// What the benchmarks read of their own process: resident memory and the
// CPU time of the calling thread (on a shared machine, wall time also counts
// the time other processes held the cores).
#pragma once

#include <cstdlib>
#include <fstream>
#include <string>

#include <time.h>

namespace tlflow::bench {

// VmRSS in KiB; -1 when /proc cannot be read.
inline long rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

inline double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

} // namespace tlflow::bench
