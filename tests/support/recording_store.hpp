// A graph_store for pipeline and source tests: apply() aggregates
// interactions into edges exactly as the contract says (weight + 1 per
// interaction, hashtags merged), with optional slowness and failure
// injection. Other methods are not needed by ingestion and return `internal`.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tlflow/graph_store.hpp"

namespace tlflow::test {

class recording_store final : public graph_store {
public:
  struct edge_agg {
    std::uint64_t weight = 0;
    std::set<std::string> hashtags;
  };

  // Each apply() sleeps this long first (a slow store).
  std::chrono::milliseconds apply_delay{0};
  // The next `fail_next` apply() calls fail with store_unavailable.
  std::atomic<int> fail_next{0};

  std::map<edge_key, edge_agg> edges() const;
  std::set<std::string> vertices() const;
  std::uint64_t total_weight() const;
  std::uint64_t applies() const;
  std::uint64_t interactions() const;
  // "from -kind-> to xN [tags]" lines, sorted.
  std::vector<std::string> dump() const;

  std::string_view kind() const noexcept override { return "memory"; }
  result<vertex_view> get_vertex(std::string_view) override;
  result<put_vertex_result> put_vertex(std::string_view, const properties&,
                                       const std::vector<std::string>&) override;
  result<removed_set> remove_vertex(std::string_view) override;
  result<vertex_page> list_vertices(const vertex_query&) override;
  result<std::uint64_t> count_vertices() override;
  result<std::vector<neighbor>> neighbors(std::string_view, const neighbor_query&) override;
  result<edge_page> list_edges(const edge_query&) override;
  result<std::uint64_t> count_edges() override;
  result<add_edge_result> add_edge(const add_edge_request&) override;
  result<removed_set> remove_edges(std::string_view, std::string_view,
                                   std::optional<edge_kind>) override;
  result<std::vector<std::string>> shortest_path(std::string_view, std::string_view,
                                                 const path_query&) override;
  status restore(const removed_set&) override;
  status apply(const std::vector<interaction>& batch) override;
  result<std::vector<location_flow>> location_flows(std::size_t) override;
  store_health health() override { return {}; }
  void close() override {}

private:
  mutable std::mutex mutex_;
  std::map<edge_key, edge_agg> edges_;
  std::set<std::string> vertices_;
  std::uint64_t applies_ = 0;
  std::uint64_t interactions_ = 0;
};

// What a sequence of interactions must produce: the same aggregation,
// computed directly (tests compare the store with it).
std::vector<std::string> expected_dump(const std::vector<interaction>& all);

} // namespace tlflow::test
