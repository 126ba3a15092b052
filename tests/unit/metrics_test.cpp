#include <doctest/doctest.h>

#include "util/metrics.hpp"

using namespace tlflow;

TEST_CASE("metrics render in Prometheus text format") {
  metrics_registry reg;
  reg.counter("tlflow_http_requests_total", "Requests.", {{"route", "/status"}, {"status", "200"}}).inc(3);
  reg.counter("tlflow_http_requests_total", "Requests.", {{"route", "/x\"y"}, {"status", "404"}}).inc();
  reg.gauge("tlflow_queue_depth", "Depth.").set(7);
  reg.callback_gauge("tlflow_vertices", "Vertices.", [] { return 42.0; });
  auto& h = reg.histogram("tlflow_latency_seconds", "Latency.", {}, {0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  const std::string text = reg.render();
  CHECK(text.find("# TYPE tlflow_http_requests_total counter\n") != std::string::npos);
  CHECK(text.find("tlflow_http_requests_total{route=\"/status\",status=\"200\"} 3\n") != std::string::npos);
  CHECK(text.find("tlflow_http_requests_total{route=\"/x\\\"y\",status=\"404\"} 1\n") != std::string::npos);
  CHECK(text.find("tlflow_queue_depth 7\n") != std::string::npos);
  CHECK(text.find("tlflow_vertices 42\n") != std::string::npos);
  CHECK(text.find("tlflow_latency_seconds_bucket{le=\"0.1\"} 1\n") != std::string::npos);
  CHECK(text.find("tlflow_latency_seconds_bucket{le=\"1\"} 2\n") != std::string::npos);
  CHECK(text.find("tlflow_latency_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(text.find("tlflow_latency_seconds_count 3\n") != std::string::npos);
}

TEST_CASE("a series keeps its identity") {
  metrics_registry reg;
  auto& a = reg.counter("c", "h", {{"k", "v"}});
  auto& b = reg.counter("c", "h", {{"k", "v"}});
  CHECK(&a == &b);
  CHECK_THROWS(reg.gauge("c", "h"));
}
