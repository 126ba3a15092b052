// The in-memory graph of MemoryStore, without locking or durability: the
// store wraps every call in its lock and logs mutations before making them.
//
// Layout (docs/memory-store.md explains the byte counts):
// * boost::adjacency_list<vecS, vecS, bidirectionalS> — vertex slots never
//   move or renumber: a removed vertex is cleared, marked dead and its slot
//   goes on a free list for reuse.
// * Edge properties are 16 bytes: weight, first/last seen (uint32 seconds),
//   and one word packing the kind, an "has extra properties" bit and the id
//   of an interned hashtag set. The edge list is a std::list whose nodes come
//   from a pool, so an edge costs its 48-byte node plus one 16-byte entry in
//   each of the two adjacency vectors.
// * Strings (ids, hashtags, property values) are interned; an id maps to its
//   vertex slot through a vector indexed by the interned id.
// * Ordered listing uses a sorted vector of interned ids, merged lazily with
//   the ids created since the last listing.
// * Reads never cost the whole graph: three indexes, kept up to date by every
//   mutation (and so by snapshot load and log replay, which call the same
//   code), answer the reads that would otherwise scan it: the flow table
//   (GET /flows), one sorted id list per edge kind (GET /edges?kind=) and
//   the neighbour order of hubs (GET /vertices/{id}/neighbors).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/graph/adjacency_list.hpp>
#include <boost/pool/pool_alloc.hpp>

#include "store/memory/codec.hpp"
#include "store/memory/interner.hpp"
#include "tlflow/graph_store.hpp"

namespace tlflow::mem {

// Container selector for the global edge list: std::list with pooled nodes
// (no per-node malloc header; blocks are capped so the pool's slack stays
// small).
struct pool_list_s {};

// Container selector for the adjacency (out- and in-edge) lists: a std::vector
// that grows by 1/4 instead of doubling, so that about 10% of its room is
// spare instead of about 35% (each entry is 16 bytes, two per edge).
struct tight_vec_s {};

template <class T>
class tight_vector : public std::vector<T> {
public:
  using std::vector<T>::vector;
  void push_back(const T& v) {
    grow();
    std::vector<T>::push_back(v);
  }
  void push_back(T&& v) {
    grow();
    std::vector<T>::push_back(std::move(v));
  }
  template <class... A>
  void emplace_back(A&&... a) {
    grow();
    std::vector<T>::emplace_back(std::forward<A>(a)...);
  }

private:
  void grow() {
    const std::size_t cap = this->capacity();
    if (this->size() == cap) this->reserve(cap + cap / 4 + 1);
  }
};

} // namespace tlflow::mem

namespace boost {
template <class ValueType>
struct container_gen<tlflow::mem::pool_list_s, ValueType> {
  using type = std::list<ValueType,
                         boost::fast_pool_allocator<ValueType, boost::default_user_allocator_new_delete,
                                                    boost::details::pool::default_mutex, 256, 16384>>;
};
template <>
struct parallel_edge_traits<tlflow::mem::pool_list_s> {
  using type = allow_parallel_edge_tag;
};
template <class ValueType>
struct container_gen<tlflow::mem::tight_vec_s, ValueType> {
  using type = tlflow::mem::tight_vector<ValueType>;
};
template <>
struct parallel_edge_traits<tlflow::mem::tight_vec_s> {
  using type = allow_parallel_edge_tag;
};
} // namespace boost

namespace tlflow::mem {

struct vprop {
  std::uint32_t id = 0;          // interned id
  std::uint32_t platform = 0;    // interned strings, 0 = absent
  std::uint32_t handle = 0;
  std::uint32_t name = 0;
  std::uint32_t location = 0;
  std::uint32_t first_seen = 0;  // seconds, 0 = absent
  std::uint32_t last_seen = 0;
  std::uint8_t flags = 0;        // alive_flag | extra_flag | kind bits | hub_flag
};

struct eprop {
  std::uint32_t weight = 1;      // big_weight: the real value is in a side table
  std::uint32_t first_seen = 0;
  std::uint32_t last_seen = 0;
  std::uint32_t bits = 0;        // tagset << 4 | extra << 3 | kind
};

using graph_t = boost::adjacency_list<tlflow::mem::tight_vec_s, boost::vecS, boost::bidirectionalS, vprop, eprop,
                                      boost::no_property, pool_list_s>;
using vd = graph_t::vertex_descriptor;
using ed = graph_t::edge_descriptor;

// One interaction with its time resolved (replay must not call the clock).
struct timed_interaction {
  const interaction* i;
  std::uint32_t at;
};

class graph_core {
public:
  graph_core();
  // The hub index and the sorted lists hold views of this object's strings.
  graph_core(const graph_core&) = delete;
  graph_core& operator=(const graph_core&) = delete;

  std::optional<vd> find(std::string_view id) const noexcept;
  vertex_view view(vd v) const;

  // All callers validated ids first.
  put_vertex_result put_vertex(std::string_view id, const properties& set,
                               const std::vector<std::string>& unset);
  removed_set remove_vertex(vd v);
  vertex_page list_vertices(const vertex_query& q) const;
  std::vector<neighbor> neighbors(vd v, const neighbor_query& q) const;
  edge_page list_edges(const edge_query& q) const;
  add_edge_result add_edge(const edge_key& key, const properties& props, std::uint32_t at);
  removed_set remove_edges(std::string_view from, std::string_view to,
                           std::optional<edge_kind> kind);
  void restore(const removed_set& removed);
  void apply(const std::vector<timed_interaction>& batch);
  // Empty when no path within q.max_depth.
  // nullopt: no path within max_depth, or (`*over_budget` set) more than
  // q.max_visited vertices visited first.
  std::optional<std::vector<std::string>> shortest_path(vd from, vd to, const path_query& q,
                                                        bool* over_budget = nullptr) const;
  std::vector<location_flow> location_flows(std::size_t limit) const;
  bool has_edges(std::string_view from, std::string_view to, std::optional<edge_kind> kind) const;

  // Snapshot body: the whole graph, handed to `sink` in chunks of about 1 MiB.
  status save(const std::function<status(std::string_view)>& sink) const;
  // Loads a snapshot body into this (empty) graph; false when malformed.
  bool load(bin_reader& r);

  std::uint64_t vertex_count() const noexcept { return vertices_; }
  std::uint64_t edge_count() const noexcept { return edges_; }
  std::size_t interned_strings() const noexcept { return strings_.size() - 1; }

  struct memory_breakdown {
    std::uint64_t vertex_slots = 0;       // live + free
    std::uint64_t adjacency_entries = 0;  // out + in entries (2 per edge)
    std::uint64_t adjacency_capacity = 0; // entries the vectors have room for
    std::uint64_t interner_bytes = 0;
    std::uint64_t tagsets = 0;
    std::uint64_t flow_pairs = 0;         // (from, to) location pairs in the flow table
    std::uint64_t kind_list_entries = 0;  // capacity of the per-kind vertex lists
    std::uint64_t hubs = 0;
    std::uint64_t hub_entries = 0;        // neighbour-order entries of hubs (2 per edge end)
  };
  memory_breakdown breakdown() const;
  // Gives back the spare capacity of adjacency vectors (after a bulk load).
  void shrink_adjacency();

  // Iteration for snapshots: every live vertex / edge, in slot / list order.
  template <class F> void for_each_vertex(F&& f) const {
    const auto n = boost::num_vertices(g_);
    for (vd v = 0; v < n; ++v)
      if (g_[v].flags & alive_flag) f(v);
  }
  template <class F> void for_each_edge(F&& f) const {
    for (auto [it, end] = boost::edges(g_); it != end; ++it) f(*it);
  }
  // Scan (memory_store::scan): slots by index and the edges leaving one,
  // read a chunk at a time under the store's shared lock. A slot's interned
  // id tells a vertex from a later one reusing its slot.
  std::size_t slot_count() const noexcept { return boost::num_vertices(g_); }
  bool alive(vd v) const noexcept { return (g_[v].flags & alive_flag) != 0; }
  std::uint32_t interned_id(vd v) const noexcept { return g_[v].id; }
  // What a slice's kind and weight filters need, without building the edge.
  edge_kind edge_kind_of(const ed& e) const noexcept { return kind_of(g_[e]); }
  std::uint64_t edge_weight(const ed& e) const { return weight_of(e); }
  template <class F> void for_each_out_edge(vd v, F&& f) const {
    for (auto [it, end] = boost::out_edges(v, g_); it != end; ++it) f(*it);
  }
  std::string_view id_of(vd v) const noexcept { return strings_.str(g_[v].id); }
  vertex vertex_of(vd v) const;
  edge edge_of(const ed& e) const;
  vd source(const ed& e) const noexcept { return boost::source(e, g_); }
  vd target(const ed& e) const noexcept { return boost::target(e, g_); }

  static constexpr std::uint8_t alive_flag = 1;
  static constexpr std::uint8_t extra_flag = 2;
  // A vertex keeps its neighbours ordered (heaviest first) from this many
  // edges (in + out) on, and drops the order below half of it.
  static constexpr std::size_t hub_degree = 1024;

private:
  static constexpr std::uint32_t big_weight = UINT32_MAX;
  static constexpr std::uint32_t no_vertex = UINT32_MAX;
  static constexpr std::size_t kinds = std::size(all_edge_kinds);
  // flags bit 2 + k: the vertex is in kind_sorted_[k] / kind_pending_[k]
  // (it has an out-edge of kind k).
  static constexpr std::uint8_t kind_flag(edge_kind k) noexcept {
    return static_cast<std::uint8_t>(4u << static_cast<unsigned>(k));
  }
  static constexpr std::uint8_t hub_flag = 128;
  static_assert(kinds == 5, "five kind bits fit in vprop::flags between extra_flag and hub_flag");

  static edge_kind kind_of(const eprop& p) noexcept { return static_cast<edge_kind>(p.bits & 7u); }
  static std::uint32_t tagset_of(const eprop& p) noexcept { return p.bits >> 4; }
  static bool has_extra(const eprop& p) noexcept { return (p.bits & 8u) != 0; }

  vd ensure_vertex(std::string_view id, bool* created = nullptr);
  void set_prop(vd v, std::string_view key, const property_value& value);
  void unset_prop(vd v, std::string_view key);
  void clear_props(vd v);
  void upsert_account(vd v, const account& a, std::uint32_t at);
  properties props_of(vd v) const;

  std::optional<ed> find_edge(vd u, vd w, edge_kind k) const;
  ed create_edge(vd u, vd w, edge_kind k);
  void erase_edge(const ed& e);
  std::uint64_t weight_of(const ed& e) const;
  void set_weight(const ed& e, std::uint64_t w);
  void set_edge_props(const ed& e, const properties& props, bool merge);
  std::uint32_t intern_tagset(std::vector<std::uint32_t> tags);
  std::uint32_t merge_tagset(std::uint32_t set, const std::vector<std::string>& tags);
  std::uint32_t tagset_from_strings(const std::vector<std::string>& tags);

  bool id_less(std::uint32_t a, std::uint32_t b) const noexcept {
    return strings_.str(a) < strings_.str(b);
  }
  void merge_index() const;
  // Merges `pending` into `sorted` (both interned ids), dropping the ids
  // `keep` refuses when `dead` says enough of them accumulated.
  template <class Keep>
  void merge_sorted(std::vector<std::uint32_t>& sorted, std::vector<std::uint32_t>& pending,
                    std::size_t& dead, Keep keep) const;

  // Index upkeep. Every change of an edge's existence or weight, and of a
  // vertex's location, goes through these.
  void edge_added(const ed& e);
  void edge_removing(const ed& e);
  void edge_removed(vd u, vd w, edge_kind k);
  void weight_changed(const ed& e, std::uint64_t before, std::uint64_t after);
  // After g_[v].location changed from `before` (an interned string): moves
  // v's edges to their new flow pairs. O(degree of v).
  void location_changed(vd v, std::uint32_t before);
  std::uint32_t norm_location(vd v) const noexcept { return vertex_norm_[v]; }
  std::uint32_t norm_of(std::uint32_t location);
  void flow_add(std::uint32_t a, std::uint32_t b, std::uint64_t weight, std::int64_t edges);
  void hub_insert(const ed& e, std::uint64_t weight);
  void hub_erase(const ed& e, std::uint64_t weight);
  void hub_build(vd v);
  void hub_check(vd v);
  // Out-edges of u (kind-filtered) as (to id, kind, edge), sorted.
  struct adj_item {
    std::string_view other;
    edge_kind kind;
    ed e;
  };
  std::vector<adj_item> sorted_out(vd u, std::optional<edge_kind> kind,
                                   std::optional<vd> only_to) const;
  std::vector<adj_item> sorted_in(vd w, std::optional<edge_kind> kind) const;
  // neighbors()' slice filter.
  struct edge_filter;
  edge_filter make_filter(const slice& s) const;
  bool passes(const edge_filter& f, const ed& e) const;

  graph_t g_;
  interner strings_;
  std::vector<std::uint32_t> vertex_of_string_;   // interned id -> slot, no_vertex if none
  std::vector<vd> free_slots_;
  std::unordered_map<vd, properties> vertex_extra_;
  std::unordered_map<const void*, properties> edge_extra_;
  std::unordered_map<const void*, std::uint64_t> big_weights_;
  std::vector<std::vector<std::uint32_t>> tagsets_; // sorted interned ids; id 0 = empty set
  struct tagset_hash {
    std::size_t operator()(const std::vector<std::uint32_t>& v) const noexcept {
      std::uint64_t h = 0x9E3779B97F4A7C15ull ^ v.size();
      for (std::uint32_t x : v) h = (h ^ x) * 0xff51afd7ed558ccdull;
      return static_cast<std::size_t>(h ^ (h >> 29));
    }
  };
  std::unordered_map<std::vector<std::uint32_t>, std::uint32_t, tagset_hash> tagset_index_;
  std::uint64_t vertices_ = 0;
  std::uint64_t edges_ = 0;

  // Sorted listing index. Writers (exclusive lock) append to pending_;
  // readers (shared lock) merge under index_mutex_.
  mutable std::mutex index_mutex_;
  mutable std::vector<std::uint32_t> sorted_;  // interned ids, sorted, may hold dead ids
  mutable std::vector<std::uint32_t> pending_; // ids created since the last merge
  mutable std::size_t dead_in_sorted_ = 0;
  // Per kind, the same for the vertices with an out-edge of that kind (a
  // vertex losing its last one stays until the next merge drops it).
  mutable std::array<std::vector<std::uint32_t>, kinds> kind_sorted_;
  mutable std::array<std::vector<std::uint32_t>, kinds> kind_pending_;
  mutable std::array<std::size_t, kinds> kind_dead_{};

  // Flow table, kept ordered by (weight desc, edges desc): per (from, to)
  // pair of normalised locations (interned strings, 0 = unknown; key =
  // from << 32 | to), the weight and number of edges; a map finds a pair's
  // row. Ties are put in name order by the read, so that an update costs
  // integer comparisons only.
  struct flow_row {
    std::uint64_t weight = 0;
    std::uint64_t edges = 0;
    std::uint64_t key = 0;
  };
  struct flow_less {
    bool operator()(const flow_row& a, const flow_row& b) const noexcept {
      if (a.weight != b.weight) return a.weight > b.weight;
      if (a.edges != b.edges) return a.edges > b.edges;
      return a.key < b.key;
    }
  };
  using flow_set = std::set<flow_row, flow_less>;
  flow_set flow_order_;
  std::unordered_map<std::uint64_t, flow_set::iterator> flows_;
  std::unordered_map<std::uint32_t, std::uint32_t> norm_of_string_; // location -> normalised
  std::vector<std::uint32_t> vertex_norm_; // slot -> normalised location of the vertex

  // Neighbour order of a hub: per (direction, kind), (weight desc, other id).
  struct hub_key {
    std::uint64_t weight;
    std::string_view other; // an interned id: the view lives as long as this graph
  };
  struct hub_less {
    bool operator()(const hub_key& a, const hub_key& b) const noexcept {
      if (a.weight != b.weight) return a.weight > b.weight;
      return a.other < b.other;
    }
  };
  using hub_set = std::set<hub_key, hub_less>;
  struct hub_index {
    std::array<hub_set, 2 * kinds> by; // [dir (0 out, 1 in) * kinds + kind]
  };
  std::unordered_map<vd, std::unique_ptr<hub_index>> hubs_;
  std::uint64_t hub_entries_ = 0;
};

} // namespace tlflow::mem
