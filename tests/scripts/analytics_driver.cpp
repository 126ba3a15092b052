// Runs every analytics algorithm on an edge list and prints the results as
// JSON, for tests/scripts/analytics_check.py to compare with NetworkX and
// igraph.
//
//   analytics_driver [--samples K] [--seed S] < edges
//
// Input: the vertex count on the first line, then one arc per line,
// "from to weight" (parallel arcs are merged by the digraph, summing weights).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "analytics/algorithms.hpp"

using namespace tlflow::analytics;

namespace {

void print_array(const char* name, const std::vector<double>& v) {
  std::printf("\"%s\":[", name);
  for (std::size_t i = 0; i < v.size(); ++i) std::printf("%s%.17g", i ? "," : "", v[i]);
  std::printf("],\n");
}

void print_array(const char* name, const std::vector<std::uint32_t>& v) {
  std::printf("\"%s\":[", name);
  for (std::size_t i = 0; i < v.size(); ++i) std::printf("%s%u", i ? "," : "", v[i]);
  std::printf("],\n");
}

void print_communities(const char* name, const communities& c) {
  std::printf("\"%s\":{\"count\":%u,\"modularity\":%.17g,\"levels\":%u,\"iterations\":%u,"
              "\"converged\":%s,",
              name, c.count, c.modularity, c.levels, c.iterations, c.converged ? "true" : "false");
  print_array("community", c.community);
  std::printf("\"end\":0},\n");
}

void print_components(const char* name, const components& c) {
  std::printf("\"%s\":{\"count\":%u,\"largest\":%u,", name, c.count, c.largest);
  print_array("component", c.component);
  std::printf("\"end\":0},\n");
}

int fail(const char* what, const tlflow::error& e) {
  std::fprintf(stderr, "%s: %s\n", what, e.message.c_str());
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  std::size_t samples = 0;
  std::uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 < argc && std::strcmp(argv[i], "--samples") == 0) samples = std::strtoull(argv[++i], nullptr, 10);
    else if (i + 1 < argc && std::strcmp(argv[i], "--seed") == 0) seed = std::strtoull(argv[++i], nullptr, 10);
    else {
      std::fprintf(stderr, "usage: analytics_driver [--samples K] [--seed S] < edges\n");
      return 2;
    }
  }
  unsigned long n = 0;
  if (std::scanf("%lu", &n) != 1) {
    std::fprintf(stderr, "expected the vertex count first\n");
    return 2;
  }
  std::vector<arc> arcs;
  unsigned long u = 0, v = 0;
  double w = 0;
  while (std::scanf("%lu %lu %lf", &u, &v, &w) == 3) {
    if (u >= n || v >= n) {
      std::fprintf(stderr, "arc %lu -> %lu: vertex out of range\n", u, v);
      return 2;
    }
    arcs.push_back({static_cast<std::uint32_t>(u), static_cast<std::uint32_t>(v), w});
  }
  const digraph g = digraph::from_arcs(static_cast<std::uint32_t>(n), std::move(arcs));

  std::printf("{\n");
  auto pr = pagerank(g);
  if (!pr) return fail("pagerank", pr.err());
  std::printf("\"pagerank_iterations\":%u,\"pagerank_converged\":%s,\n", pr->iterations,
              pr->converged ? "true" : "false");
  print_array("pagerank", pr->scores);

  auto bc = betweenness(g);
  if (!bc) return fail("betweenness", bc.err());
  print_array("betweenness", bc->scores);
  if (samples > 0) {
    betweenness_options o;
    o.samples = samples;
    o.seed = seed;
    auto sampled = betweenness(g, o);
    if (!sampled) return fail("betweenness", sampled.err());
    std::printf("\"betweenness_epsilon\":%.17g,\"betweenness_delta\":%.17g,\n", sampled->epsilon, o.delta);
    print_array("betweenness_sampled", sampled->scores);
  }

  louvain_options lo;
  lo.seed = seed;
  auto lv = louvain(g, lo);
  if (!lv) return fail("louvain", lv.err());
  print_communities("louvain", lv.value());
  label_propagation_options po;
  po.seed = seed;
  auto lp = label_propagation(g, po);
  if (!lp) return fail("label_propagation", lp.err());
  print_communities("label_propagation", lp.value());

  print_components("weak", weakly_connected_components(g));
  print_components("strong", strongly_connected_components(g));
  const auto rec = reciprocity(g);
  if (rec) std::printf("\"reciprocity\":%.17g,\n", *rec);
  else std::printf("\"reciprocity\":null,\n");
  std::printf("\"density\":%.17g,\n", density(g));
  std::printf("\"degree_bins\":[");
  const auto bins = degree_distribution(g, direction::both);
  for (std::size_t i = 0; i < bins.size(); ++i)
    std::printf("%s[%llu,%llu,%llu]", i ? "," : "", static_cast<unsigned long long>(bins[i].lower),
                static_cast<unsigned long long>(bins[i].upper),
                static_cast<unsigned long long>(bins[i].count));
  std::printf("]\n}\n");
  return 0;
}
