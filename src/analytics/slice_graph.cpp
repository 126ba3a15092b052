#include "analytics/slice_graph.hpp"

#include <algorithm>
#include <numeric>
#include <string_view>
#include <unordered_map>

#include "util/iso_time.hpp"

namespace tlflow::analytics {

namespace {

std::string text_prop(const properties& props, std::string_view key) {
  auto it = props.find(key);
  if (it == props.end()) return {};
  const auto* s = std::get_if<std::string>(&it->second);
  return s ? *s : std::string();
}

std::uint32_t seconds_of(const std::string& iso) {
  if (iso.empty()) return 0;
  auto t = util::parse_iso8601(iso);
  return t ? *t : 0;
}

} // namespace

// Collects a scan: vertices first (any order), then edges, which need the
// final numbering, so the vertices are sorted when the first edges arrive.
class slice_graph_builder final : public scan_sink {
public:
  slice_graph_builder(std::uint64_t max_elements, const std::atomic<bool>* cancel)
      : max_(max_elements), cancel_(cancel) {
    g_ = std::make_shared<slice_graph>();
    g_->platform_names_.emplace_back();
    g_->location_names_.emplace_back();
    locations_.emplace(std::string(), 0u);
  }

  status vertices(std::vector<vertex_view>& chunk) override {
    if (auto st = count(chunk.size()); !st) return st;
    for (auto& v : chunk) {
      g_->ids_.push_back(std::move(v.v.id));
      g_->handles_.push_back(text_prop(v.v.props, "handle"));
      g_->names_.push_back(text_prop(v.v.props, "name"));
      g_->platforms_.push_back(platform_index(text_prop(v.v.props, "platform")));
      g_->locations_.push_back(location_index(text_prop(v.v.props, "location")));
    }
    return ok_v;
  }

  status edges(std::vector<edge>& chunk) override {
    if (auto st = count(chunk.size()); !st) return st;
    if (!sorted_) sort_vertices();
    for (const auto& e : chunk) {
      // A store's scan gives an account's out-edges together: its index is
      // looked up once per run of edges.
      if (e.key.from != last_from_) {
        last_from_ = e.key.from;
        last_from_index_ = lookup(last_from_);
      }
      const auto from = last_from_index_;
      const auto to = lookup(e.key.to);
      if (from < 0 || to < 0) continue; // the contract says never; stay safe
      slice_edge se;
      se.from = static_cast<std::uint32_t>(from);
      se.to = static_cast<std::uint32_t>(to);
      se.kind = e.key.kind;
      se.weight = e.weight;
      se.first_seen = seconds_of(e.first_seen);
      se.last_seen = seconds_of(e.last_seen);
      se.tags_begin = static_cast<std::uint32_t>(g_->edge_tags_.size());
      for (const auto& t : e.hashtags) g_->edge_tags_.push_back(tag_index(t));
      se.tags_end = static_cast<std::uint32_t>(g_->edge_tags_.size());
      g_->edges_.push_back(se);
    }
    return ok_v;
  }

  std::shared_ptr<const slice_graph> finish() {
    if (!sorted_) sort_vertices();
    index_ = {}; // only the scan needs it
    index_.shrink_to_fit();
    std::vector<arc> arcs;
    arcs.reserve(g_->edges_.size());
    for (const auto& e : g_->edges_)
      arcs.push_back(arc{e.from, e.to, static_cast<double>(e.weight)});
    g_->graph_ = digraph::from_arcs(g_->vertex_count(), std::move(arcs));
    g_->edges_.shrink_to_fit();
    g_->edge_tags_.shrink_to_fit();
    return g_;
  }

private:
  status count(std::size_t n) {
    if (cancel_ && cancel_->load(std::memory_order_relaxed))
      return error{errc::overloaded, "the service is shutting down"};
    seen_ += n;
    if (max_ != 0 && seen_ > max_)
      return error{errc::too_expensive,
                   "the slice has more than " + std::to_string(max_) +
                       " vertices + edges (--analytics-max-elements); narrow it with filters"};
    return ok_v;
  }

  std::uint8_t platform_index(const std::string& p) {
    auto& names = g_->platform_names_;
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == p) return static_cast<std::uint8_t>(i);
    if (names.size() >= 255) return 0; // free-form platforms beyond 254: unknown
    names.push_back(p);
    return static_cast<std::uint8_t>(names.size() - 1);
  }

  std::uint32_t location_index(std::string&& l) {
    auto [it, inserted] =
        locations_.try_emplace(l, static_cast<std::uint32_t>(g_->location_names_.size()));
    if (inserted) g_->location_names_.push_back(std::move(l));
    return it->second;
  }

  std::uint32_t tag_index(const std::string& t) {
    auto [it, inserted] = tags_.try_emplace(t, static_cast<std::uint32_t>(g_->hashtags_.size()));
    if (inserted) g_->hashtags_.push_back(t);
    return it->second;
  }

  // Index of an id during the scan: an open-addressing hash table of (hash,
  // index) slots, linear probing, at most half full, so a lookup costs about
  // one cache miss in the table and one in the id it compares (a binary
  // search over a million ids cost ~20 misses per end, most of a scan's
  // time; std::unordered_map ~4).
  struct slot {
    std::uint64_t hash = 0;
    std::uint32_t index = empty;
    static constexpr std::uint32_t empty = 0xFFFFFFFFu;
  };

  std::int64_t lookup(const std::string& id) const {
    if (index_.empty()) return -1;
    const std::uint64_t h = std::hash<std::string_view>{}(id);
    for (std::uint64_t i = h & mask_;; i = (i + 1) & mask_) {
      const slot& s = index_[i];
      if (s.index == slot::empty) return -1;
      if (s.hash == h && g_->ids_[s.index] == id) return s.index;
    }
  }

  void sort_vertices() {
    sorted_ = true;
    order_by_id();
    const std::size_t n = g_->ids_.size();
    std::size_t capacity = 16;
    while (capacity < 2 * n) capacity *= 2;
    index_.assign(capacity, slot{});
    mask_ = capacity - 1;
    for (std::size_t v = 0; v < n; ++v) {
      const std::uint64_t h = std::hash<std::string_view>{}(g_->ids_[v]);
      std::uint64_t i = h & mask_;
      while (index_[i].index != slot::empty) i = (i + 1) & mask_;
      index_[i] = slot{h, static_cast<std::uint32_t>(v)};
    }
  }

  void order_by_id() {
    auto& g = *g_;
    std::vector<std::uint32_t> order(g.ids_.size());
    std::iota(order.begin(), order.end(), 0u);
    if (std::is_sorted(g.ids_.begin(), g.ids_.end())) return;
    std::sort(order.begin(), order.end(),
              [&](std::uint32_t a, std::uint32_t b) { return g.ids_[a] < g.ids_[b]; });
    auto permute = [&](auto& v) {
      std::remove_reference_t<decltype(v)> out;
      out.reserve(v.size());
      for (auto i : order) out.push_back(std::move(v[i]));
      v = std::move(out);
    };
    permute(g.ids_);
    permute(g.handles_);
    permute(g.names_);
    permute(g.platforms_);
    permute(g.locations_);
  }

  std::uint64_t max_;
  const std::atomic<bool>* cancel_;
  std::uint64_t seen_ = 0;
  bool sorted_ = false;
  std::shared_ptr<slice_graph> g_;
  std::unordered_map<std::string, std::uint32_t> tags_;
  std::unordered_map<std::string, std::uint32_t> locations_;
  std::vector<slot> index_; // id -> index during the scan (lookup)
  std::uint64_t mask_ = 0;
  std::string last_from_;
  std::int64_t last_from_index_ = -1;
};

result<std::shared_ptr<const slice_graph>> slice_graph::build(graph_store& store, const slice& s,
                                                              std::uint64_t max_elements,
                                                              const std::atomic<bool>* cancel) {
  slice_graph_builder b(max_elements, cancel);
  if (auto st = store.scan(s, b); !st) return std::move(st).err();
  return b.finish();
}

std::int64_t slice_graph::index_of(std::string_view id) const {
  auto it = std::lower_bound(ids_.begin(), ids_.end(), id,
                             [](const std::string& a, std::string_view b) { return a < b; });
  if (it == ids_.end() || *it != id) return -1;
  return it - ids_.begin();
}

double slice_graph::weighted_degree(std::uint32_t v) const {
  double w = 0;
  for (auto i = graph_.out_begin(v); i < graph_.out_end(v); ++i) w += graph_.out_weight(i);
  for (auto i = graph_.in_begin(v); i < graph_.in_end(v); ++i) w += graph_.in_weight(i);
  return w;
}

} // namespace tlflow::analytics
