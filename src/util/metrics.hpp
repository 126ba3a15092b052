// A small Prometheus registry (text exposition format 0.0.4).
//
// One registry is made by main and handed by reference to every component
// that reports (API, pipeline, sources, stores). Get-or-create a series once
// and keep the reference: series never move or disappear, and updating one
// is a relaxed atomic operation, safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace tlflow {

using metric_labels = std::vector<std::pair<std::string, std::string>>;

class counter_metric {
public:
  void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }
private:
  std::atomic<std::uint64_t> v_{0};
};

class gauge_metric {
public:
  void set(double v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept {
    double cur = v_.load(std::memory_order_relaxed);
    while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {}
  }
  double value() const noexcept { return v_.load(std::memory_order_relaxed); }
private:
  std::atomic<double> v_{0};
};

class histogram_metric {
public:
  explicit histogram_metric(std::vector<double> bounds);
  void observe(double v) noexcept;
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  std::uint64_t bucket(std::size_t i) const noexcept { return buckets_[i].load(std::memory_order_relaxed); }
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_; // non-cumulative
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

class metrics_registry {
public:
  counter_metric& counter(const std::string& name, const std::string& help,
                          const metric_labels& labels = {});
  gauge_metric& gauge(const std::string& name, const std::string& help,
                      const metric_labels& labels = {});
  // Default bounds suit latencies in seconds (0.5 ms .. 10 s).
  histogram_metric& histogram(const std::string& name, const std::string& help,
                              const metric_labels& labels = {},
                              std::vector<double> bounds = {});
  // A gauge read at exposition time (store sizes, queue depths).
  void callback_gauge(const std::string& name, const std::string& help,
                      std::function<double()> read, const metric_labels& labels = {});

  std::string render() const;

private:
  enum class type { counter, gauge, histogram };
  struct series {
    std::string labels; // rendered: {k="v",...} or empty
    std::unique_ptr<counter_metric> c;
    std::unique_ptr<gauge_metric> g;
    std::unique_ptr<histogram_metric> h;
    std::function<double()> read;
  };
  struct family {
    type t;
    std::string help;
    std::map<std::string, series> by_labels;
  };
  series& get(const std::string& name, const std::string& help, type t, const metric_labels& labels);

  mutable std::mutex mutex_;
  std::map<std::string, family> families_;
};

} // namespace tlflow
