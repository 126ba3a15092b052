#include "util/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace tlflow {
namespace {

void escape_label(std::string& out, const std::string& v) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

std::string render_labels(const metric_labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    escape_label(out, v);
    out += '"';
  }
  out += '}';
  return out;
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.9g", v);
  }
  return buf;
}

// Adds `le` to already rendered labels.
std::string with_le(const std::string& labels, const std::string& le) {
  if (labels.empty()) return "{le=\"" + le + "\"}";
  return labels.substr(0, labels.size() - 1) + ",le=\"" + le + "\"}";
}

} // namespace

histogram_metric::histogram_metric(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void histogram_metric::observe(double v) noexcept {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {}
}

metrics_registry::series& metrics_registry::get(const std::string& name, const std::string& help,
                                                type t, const metric_labels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [fit, inserted] = families_.try_emplace(name, family{t, help, {}});
  if (!inserted && fit->second.t != t) {
    throw std::logic_error("metric " + name + " registered with two types");
  }
  std::string key = render_labels(labels);
  auto [sit, fresh] = fit->second.by_labels.try_emplace(key);
  if (fresh) sit->second.labels = key;
  return sit->second;
}

counter_metric& metrics_registry::counter(const std::string& name, const std::string& help,
                                          const metric_labels& labels) {
  series& s = get(name, help, type::counter, labels);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!s.c) s.c = std::make_unique<counter_metric>();
  return *s.c;
}

gauge_metric& metrics_registry::gauge(const std::string& name, const std::string& help,
                                      const metric_labels& labels) {
  series& s = get(name, help, type::gauge, labels);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!s.g) s.g = std::make_unique<gauge_metric>();
  return *s.g;
}

histogram_metric& metrics_registry::histogram(const std::string& name, const std::string& help,
                                              const metric_labels& labels,
                                              std::vector<double> bounds) {
  if (bounds.empty()) {
    bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  }
  series& s = get(name, help, type::histogram, labels);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!s.h) s.h = std::make_unique<histogram_metric>(std::move(bounds));
  return *s.h;
}

void metrics_registry::callback_gauge(const std::string& name, const std::string& help,
                                      std::function<double()> read, const metric_labels& labels) {
  series& s = get(name, help, type::gauge, labels);
  std::lock_guard<std::mutex> lock(mutex_);
  s.read = std::move(read);
}

std::string metrics_registry::render() const {
  // Callbacks may take locks of their own (store sizes): copy what to read
  // under our lock, call them outside it.
  struct row {
    std::string text;
    std::function<double()> read;
    std::string prefix;
  };
  std::vector<row> rows;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [name, fam] : families_) {
      const char* t = fam.t == type::counter ? "counter" : fam.t == type::gauge ? "gauge" : "histogram";
      rows.push_back({"# HELP " + name + " " + fam.help + "\n# TYPE " + name + " " + t + "\n", {}, {}});
      for (const auto& [key, s] : fam.by_labels) {
        if (s.c) {
          rows.push_back({name + s.labels + " " + number(static_cast<double>(s.c->value())) + "\n", {}, {}});
        } else if (s.read) {
          rows.push_back({{}, s.read, name + s.labels + " "});
        } else if (s.g) {
          rows.push_back({name + s.labels + " " + number(s.g->value()) + "\n", {}, {}});
        } else if (s.h) {
          std::string text;
          std::uint64_t cum = 0;
          const auto& b = s.h->bounds();
          for (std::size_t i = 0; i < b.size(); ++i) {
            cum += s.h->bucket(i);
            text += name + "_bucket" + with_le(s.labels, number(b[i])) + " " + std::to_string(cum) + "\n";
          }
          cum += s.h->bucket(b.size());
          text += name + "_bucket" + with_le(s.labels, "+Inf") + " " + std::to_string(cum) + "\n";
          text += name + "_sum" + s.labels + " " + number(s.h->sum()) + "\n";
          text += name + "_count" + s.labels + " " + std::to_string(s.h->count()) + "\n";
          rows.push_back({std::move(text), {}, {}});
        }
      }
    }
  }
  std::string out;
  for (auto& r : rows) {
    if (r.read) out += r.prefix + number(r.read()) + "\n";
    else out += r.text;
  }
  return out;
}

} // namespace tlflow
