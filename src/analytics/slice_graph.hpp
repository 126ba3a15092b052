// The compact analysis view of one slice (docs/analytics.md, "From a store to
// the algorithms"): what the analytics routes need of a store, read once with
// graph_store::scan and then queried without the store.
//
// Vertices are numbered by ascending id (byte order): index = digraph index,
// so every "ties by id" rule is "ties by index". Of a vertex only handle, name,
// platform and location are kept (platforms and locations interned: few
// distinct values, many accounts). Of an edge (one per (from, to, kind)): its ends,
// weight, first/last seen as seconds and its hashtags as indices into one
// table of interned names. The digraph merges the kinds and sums the weights.
//
// Size: build() refuses a slice of more than `max_elements` vertices + edges
// with too_expensive before it holds them all, so one request cannot take the
// process's memory. Immutable once built; share it between threads freely.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "analytics/digraph.hpp"
#include "tlflow/graph_store.hpp"

namespace tlflow::analytics {

struct slice_edge {
  std::uint32_t from = 0;
  std::uint32_t to = 0;
  edge_kind kind = edge_kind::link;
  std::uint64_t weight = 0;
  std::uint32_t first_seen = 0; // seconds since 1970; 0: unknown
  std::uint32_t last_seen = 0;
  std::uint32_t tags_begin = 0; // [tags_begin, tags_end) in edge_tags()
  std::uint32_t tags_end = 0;
};

class slice_graph {
public:
  // too_expensive when the slice holds more than max_elements vertices +
  // edges (0: no cap); overloaded when *cancel became true during the scan
  // (a shutdown); else what the store's scan returns.
  static result<std::shared_ptr<const slice_graph>> build(graph_store& store, const slice& s,
                                                          std::uint64_t max_elements,
                                                          const std::atomic<bool>* cancel = nullptr);

  std::uint32_t vertex_count() const noexcept { return static_cast<std::uint32_t>(ids_.size()); }
  const std::string& id(std::uint32_t v) const { return ids_[v]; }
  const std::string& handle(std::uint32_t v) const { return handles_[v]; }
  const std::string& name(std::uint32_t v) const { return names_[v]; }
  std::string_view platform(std::uint32_t v) const { return platform_names_[platforms_[v]]; }
  const std::string& location(std::uint32_t v) const { return location_names_[locations_[v]]; }
  // Index of an id, or -1.
  std::int64_t index_of(std::string_view id) const;

  const digraph& graph() const noexcept { return graph_; }
  const std::vector<slice_edge>& edges() const noexcept { return edges_; }
  const std::vector<std::uint32_t>& edge_tags() const noexcept { return edge_tags_; }
  const std::string& hashtag(std::uint32_t t) const { return hashtags_[t]; }
  std::size_t hashtag_count() const noexcept { return hashtags_.size(); }

  // Sum of the weights of every edge touching v, both directions (a
  // self-loop counts twice): the "weighted degree" the replies rank by.
  double weighted_degree(std::uint32_t v) const;

  // Ids ascending; for mapping a previous result onto this graph.
  const std::vector<std::string>& ids() const noexcept { return ids_; }

private:
  friend class slice_graph_builder;
  std::vector<std::string> ids_;
  std::vector<std::string> handles_;
  std::vector<std::string> names_;
  std::vector<std::uint8_t> platforms_;       // index into platform_names_
  std::vector<std::string> platform_names_;   // [0] is "" (unknown)
  std::vector<std::uint32_t> locations_;      // index into location_names_
  std::vector<std::string> location_names_;   // [0] is "" (unknown)
  digraph graph_;
  std::vector<slice_edge> edges_;
  std::vector<std::uint32_t> edge_tags_;
  std::vector<std::string> hashtags_;
};

} // namespace tlflow::analytics
