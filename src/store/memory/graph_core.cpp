#include "store/memory/graph_core.hpp"

#include <algorithm>
#include <tuple>

#include "store/memory/iso_time.hpp"

namespace tlflow::mem {
namespace {

enum class slot_kind { none, string, time };

slot_kind slot_for(std::string_view key) noexcept {
  if (key == "platform" || key == "handle" || key == "name" || key == "location")
    return slot_kind::string;
  if (key == "first_seen" || key == "last_seen") return slot_kind::time;
  return slot_kind::none;
}

std::uint32_t* string_slot(vprop& p, std::string_view key) noexcept {
  if (key == "platform") return &p.platform;
  if (key == "handle") return &p.handle;
  if (key == "name") return &p.name;
  if (key == "location") return &p.location;
  return nullptr;
}

std::uint32_t* time_slot(vprop& p, std::string_view key) noexcept {
  if (key == "first_seen") return &p.first_seen;
  if (key == "last_seen") return &p.last_seen;
  return nullptr;
}

std::string normalize_tag(std::string_view t) {
  while (!t.empty() && t.front() == '#') t.remove_prefix(1);
  std::string out(t);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Visited set of one BFS side: vertex -> parent, open addressing.
class visit_map {
public:
  visit_map() : slots_(64, 0), mask_(63) {}
  // False when already present.
  bool insert(std::uint32_t v, std::uint32_t parent) {
    if ((count_ + 1) * 2 > slots_.size()) grow();
    return put(v, parent);
  }
  bool contains(std::uint32_t v) const noexcept { return find(v) != UINT32_MAX; }
  std::uint32_t find(std::uint32_t v) const noexcept {
    const std::uint64_t key = static_cast<std::uint64_t>(v) + 1;
    for (std::size_t i = mix(v) & mask_;; i = (i + 1) & mask_) {
      const std::uint64_t s = slots_[i];
      if (s == 0) return UINT32_MAX;
      if ((s >> 32) == key) return static_cast<std::uint32_t>(s);
    }
  }

private:
  static std::size_t mix(std::uint32_t v) noexcept {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(v) * 0x9E3779B97F4A7C15ull) >> 20);
  }
  bool put(std::uint32_t v, std::uint32_t parent) {
    const std::uint64_t key = static_cast<std::uint64_t>(v) + 1;
    std::size_t i = mix(v) & mask_;
    for (;; i = (i + 1) & mask_) {
      const std::uint64_t s = slots_[i];
      if (s == 0) break;
      if ((s >> 32) == key) return false;
    }
    slots_[i] = (key << 32) | parent;
    ++count_;
    return true;
  }
  void grow() {
    std::vector<std::uint64_t> old(slots_.size() * 2, 0);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    count_ = 0;
    for (std::uint64_t s : old)
      if (s != 0) put(static_cast<std::uint32_t>((s >> 32) - 1), static_cast<std::uint32_t>(s));
  }
  std::vector<std::uint64_t> slots_;
  std::size_t mask_;
  std::size_t count_ = 0;
};

} // namespace

graph_core::graph_core() {
  tagsets_.emplace_back();
  tagset_index_.emplace(std::vector<std::uint32_t>{}, 0);
}

// ---------------------------------------------------------------- vertices

std::optional<vd> graph_core::find(std::string_view id) const noexcept {
  const std::uint32_t sid = strings_.find(id);
  if (sid == 0 || sid >= vertex_of_string_.size()) return std::nullopt;
  const std::uint32_t v = vertex_of_string_[sid];
  if (v == no_vertex) return std::nullopt;
  return v;
}

vd graph_core::ensure_vertex(std::string_view id, bool* created) {
  const std::uint32_t sid = strings_.intern(id);
  if (sid >= vertex_of_string_.size()) vertex_of_string_.resize(sid + 1, no_vertex);
  if (vertex_of_string_[sid] != no_vertex) {
    if (created) *created = false;
    return vertex_of_string_[sid];
  }
  vd v;
  if (!free_slots_.empty()) {
    v = free_slots_.back();
    free_slots_.pop_back();
  } else {
    v = boost::add_vertex(g_);
  }
  g_[v] = vprop{};
  g_[v].id = sid;
  g_[v].flags = alive_flag;
  if (v >= vertex_norm_.size()) vertex_norm_.resize(v + 1, 0);
  vertex_norm_[v] = 0;
  vertex_of_string_[sid] = static_cast<std::uint32_t>(v);
  ++vertices_;
  pending_.push_back(sid);
  if (created) *created = true;
  return v;
}

void graph_core::unset_prop(vd v, std::string_view key) {
  vprop& p = g_[v];
  if (auto* s = string_slot(p, key)) *s = 0;
  if (auto* t = time_slot(p, key)) *t = 0;
  if (p.flags & extra_flag) {
    auto it = vertex_extra_.find(v);
    if (it != vertex_extra_.end()) {
      auto k = it->second.find(key);
      if (k != it->second.end()) it->second.erase(k);
      if (it->second.empty()) {
        vertex_extra_.erase(it);
        p.flags = static_cast<std::uint8_t>(p.flags & ~extra_flag);
      }
    }
  }
}

void graph_core::set_prop(vd v, std::string_view key, const property_value& value) {
  unset_prop(v, key);
  vprop& p = g_[v];
  const auto* s = std::get_if<std::string>(&value);
  switch (slot_for(key)) {
    case slot_kind::string:
      if (s) {
        *string_slot(p, key) = strings_.intern(*s);
        return;
      }
      break;
    case slot_kind::time:
      if (s) {
        const auto t = parse_iso8601(*s);
        if (t && *t != 0 && format_iso8601(*t) == *s) {
          *time_slot(p, key) = *t;
          return;
        }
      }
      break;
    case slot_kind::none: break;
  }
  vertex_extra_[v].insert_or_assign(std::string(key), value);
  p.flags |= extra_flag;
}

void graph_core::clear_props(vd v) {
  vprop& p = g_[v];
  const std::uint32_t id = p.id;
  // Alive, kind and hub bits describe the vertex's edges, not its properties.
  const auto flags = static_cast<std::uint8_t>(p.flags & ~extra_flag);
  if (p.flags & extra_flag) vertex_extra_.erase(v);
  p = vprop{};
  p.id = id;
  p.flags = flags;
}

void graph_core::upsert_account(vd v, const account& a, std::uint32_t at) {
  if (g_[v].flags & extra_flag) {
    // Known values replace anything of another type stored under the key.
    if (!a.platform.empty()) unset_prop(v, "platform");
    if (!a.handle.empty()) unset_prop(v, "handle");
    if (!a.name.empty()) unset_prop(v, "name");
    if (!a.location.empty()) unset_prop(v, "location");
    for (const char* k : {"first_seen", "last_seen"}) {
      auto it = vertex_extra_.find(v);
      if (it != vertex_extra_.end() && it->second.count(std::string_view(k))) unset_prop(v, k);
    }
  }
  vprop& p = g_[v];
  // Most posts repeat what is known: compare before hashing.
  auto update = [this](std::uint32_t& slot, const std::string& value) {
    if (value.empty() || (slot != 0 && strings_.str(slot) == value)) return;
    slot = strings_.intern(value);
  };
  update(p.platform, a.platform);
  update(p.handle, a.handle);
  update(p.name, a.name);
  update(p.location, a.location);
  if (at != 0) {
    p.first_seen = p.first_seen == 0 ? at : std::min(p.first_seen, at);
    p.last_seen = std::max(p.last_seen, at);
  }
}

properties graph_core::props_of(vd v) const {
  properties out;
  const vprop& p = g_[v];
  if (p.flags & extra_flag) {
    auto it = vertex_extra_.find(v);
    if (it != vertex_extra_.end()) out = it->second;
  }
  auto put_s = [&](const char* k, std::uint32_t sid) {
    if (sid != 0) out.insert_or_assign(k, std::string(strings_.str(sid)));
  };
  put_s("platform", p.platform);
  put_s("handle", p.handle);
  put_s("name", p.name);
  put_s("location", p.location);
  if (p.first_seen != 0) out.insert_or_assign("first_seen", format_iso8601(p.first_seen));
  if (p.last_seen != 0) out.insert_or_assign("last_seen", format_iso8601(p.last_seen));
  return out;
}

vertex graph_core::vertex_of(vd v) const {
  return vertex{std::string(id_of(v)), props_of(v)};
}

vertex_view graph_core::view(vd v) const {
  vertex_view out;
  out.v = vertex_of(v);
  out.in_degree = boost::in_degree(v, g_);
  out.out_degree = boost::out_degree(v, g_);
  return out;
}

put_vertex_result graph_core::put_vertex(std::string_view id, const properties& set,
                                         const std::vector<std::string>& unset) {
  put_vertex_result r;
  const vd v = ensure_vertex(id, &r.created);
  const std::uint32_t location = g_[v].location;
  for (const auto& [k, val] : set) set_prop(v, k, val);
  for (const auto& k : unset)
    if (set.find(k) == set.end()) unset_prop(v, k);
  location_changed(v, location);
  r.vertex = view(v);
  return r;
}

removed_set graph_core::remove_vertex(vd v) {
  removed_set r;
  r.removed_vertex = vertex_of(v);
  // v loses all its out-edges: leave its kind lists now rather than
  // looking for another edge of the kind after each erase.
  for (edge_kind k : all_edge_kinds)
    if (g_[v].flags & kind_flag(k)) {
      g_[v].flags = static_cast<std::uint8_t>(g_[v].flags & ~kind_flag(k));
      ++kind_dead_[static_cast<std::size_t>(k)];
    }
  std::vector<ed> doomed;
  for (auto [it, end] = boost::out_edges(v, g_); it != end; ++it) doomed.push_back(*it);
  for (auto [it, end] = boost::in_edges(v, g_); it != end; ++it)
    if (boost::source(*it, g_) != v) doomed.push_back(*it); // self-loops were in out_edges
  r.edges.reserve(doomed.size());
  for (const ed& e : doomed) r.edges.push_back(edge_of(e));
  for (const ed& e : doomed) erase_edge(e);
  std::sort(r.edges.begin(), r.edges.end(),
            [](const edge& a, const edge& b) { return a.key < b.key; });

  vprop& p = g_[v];
  if (p.flags & extra_flag) vertex_extra_.erase(v);
  vertex_of_string_[p.id] = no_vertex;
  p = vprop{};
  vertex_norm_[v] = 0;
  free_slots_.push_back(v);
  --vertices_;
  ++dead_in_sorted_;
  return r;
}

void graph_core::merge_index() const {
  merge_sorted(sorted_, pending_, dead_in_sorted_,
               [this](std::uint32_t sid) { return vertex_of_string_[sid] != no_vertex; });
}

template <class Keep>
void graph_core::merge_sorted(std::vector<std::uint32_t>& sorted, std::vector<std::uint32_t>& pending,
                              std::size_t& dead, Keep keep) const {
  if (pending.empty() && dead * 4 <= sorted.size()) return;
  auto less = [this](std::uint32_t a, std::uint32_t b) { return id_less(a, b); };
  std::sort(pending.begin(), pending.end(), less);
  pending.erase(std::unique(pending.begin(), pending.end()), pending.end());
  // Binary-search each new id into place and copy the runs between them:
  // O(k log n) string comparisons for k new ids, not O(n).
  std::vector<std::uint32_t> merged;
  merged.reserve(sorted.size() + pending.size());
  auto it = sorted.begin();
  for (std::uint32_t sid : pending) {
    auto pos = std::lower_bound(it, sorted.end(), sid, less);
    merged.insert(merged.end(), it, pos);
    it = pos;
    if (pos != sorted.end() && *pos == sid) continue; // re-created: already listed
    merged.push_back(sid);
  }
  merged.insert(merged.end(), it, sorted.end());
  if (dead > 0) {
    merged.erase(std::remove_if(merged.begin(), merged.end(),
                                [&keep](std::uint32_t sid) { return !keep(sid); }),
                 merged.end());
    dead = 0;
  }
  sorted.swap(merged);
  pending.clear();
  if (pending.capacity() > 4096) pending.shrink_to_fit();
}

vertex_page graph_core::list_vertices(const vertex_query& q) const {
  vertex_page page;
  std::lock_guard<std::mutex> lock(index_mutex_);
  merge_index();
  auto by_str = [this](std::uint32_t sid, std::string_view s) { return strings_.str(sid) < s; };
  auto it = sorted_.begin();
  if (!q.prefix.empty()) it = std::lower_bound(sorted_.begin(), sorted_.end(), q.prefix, by_str);
  if (q.after) {
    auto a = std::upper_bound(sorted_.begin(), sorted_.end(), std::string_view(*q.after),
                              [this](std::string_view s, std::uint32_t sid) {
                                return s < strings_.str(sid);
                              });
    if (a > it) it = a;
  }
  const std::size_t limit = std::max<std::size_t>(q.limit, 1);
  for (; it != sorted_.end(); ++it) {
    const std::string_view id = strings_.str(*it);
    if (id.substr(0, q.prefix.size()) != q.prefix) break;
    const std::uint32_t v = vertex_of_string_[*it];
    if (v == no_vertex) continue;
    if (page.vertices.size() == limit) {
      page.next_after = page.vertices.back().v.id;
      break;
    }
    page.vertices.push_back(view(v));
  }
  return page;
}

// ------------------------------------------------------------------- edges

std::optional<ed> graph_core::find_edge(vd u, vd w, edge_kind k) const {
  if (boost::out_degree(u, g_) <= boost::in_degree(w, g_)) {
    for (auto [it, end] = boost::out_edges(u, g_); it != end; ++it)
      if (boost::target(*it, g_) == w && kind_of(g_[*it]) == k) return *it;
  } else {
    for (auto [it, end] = boost::in_edges(w, g_); it != end; ++it)
      if (boost::source(*it, g_) == u && kind_of(g_[*it]) == k) return *it;
  }
  return std::nullopt;
}

ed graph_core::create_edge(vd u, vd w, edge_kind k) {
  eprop p;
  p.bits = static_cast<std::uint32_t>(k);
  ++edges_;
  const ed e = boost::add_edge(u, w, p, g_).first;
  edge_added(e);
  return e;
}

void graph_core::erase_edge(const ed& e) {
  edge_removing(e);
  const void* key = e.get_property();
  const eprop& p = g_[e];
  const vd u = boost::source(e, g_);
  const vd w = boost::target(e, g_);
  const edge_kind k = kind_of(p);
  if (has_extra(p)) edge_extra_.erase(key);
  if (p.weight == big_weight) big_weights_.erase(key);
  boost::remove_edge(e, g_);
  --edges_;
  edge_removed(u, w, k);
}

std::uint64_t graph_core::weight_of(const ed& e) const {
  const std::uint32_t w = g_[e].weight;
  if (w != big_weight) return w;
  auto it = big_weights_.find(e.get_property());
  return it == big_weights_.end() ? w : it->second;
}

void graph_core::set_weight(const ed& e, std::uint64_t w) {
  const std::uint64_t before = weight_of(e);
  if (before == w) return;
  weight_changed(e, before, w);
  eprop& p = g_[e];
  if (p.weight == big_weight) big_weights_.erase(e.get_property());
  if (w < big_weight) {
    p.weight = static_cast<std::uint32_t>(w);
  } else {
    p.weight = big_weight;
    big_weights_[e.get_property()] = w;
  }
}

void graph_core::set_edge_props(const ed& e, const properties& props, bool merge) {
  eprop& p = g_[e];
  const void* key = e.get_property();
  if (!merge && has_extra(p)) {
    edge_extra_.erase(key);
    p.bits &= ~8u;
  }
  if (props.empty()) return;
  auto& extra = edge_extra_[key];
  for (const auto& [k, v] : props) extra.insert_or_assign(k, v);
  p.bits |= 8u;
}

std::uint32_t graph_core::intern_tagset(std::vector<std::uint32_t> tags) {
  auto it = tagset_index_.find(tags);
  if (it != tagset_index_.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(tagsets_.size());
  tagsets_.push_back(tags);
  tagset_index_.emplace(std::move(tags), id);
  return id;
}

std::uint32_t graph_core::tagset_from_strings(const std::vector<std::string>& tags) {
  return merge_tagset(0, tags);
}

std::uint32_t graph_core::merge_tagset(std::uint32_t set, const std::vector<std::string>& tags) {
  if (tags.empty()) return set;
  std::vector<std::uint32_t> merged = tagsets_[set];
  bool changed = false;
  for (const auto& t : tags) {
    const std::string n = normalize_tag(t);
    if (n.empty()) continue;
    const std::uint32_t sid = strings_.intern(n);
    auto pos = std::lower_bound(merged.begin(), merged.end(), sid); // by interned id
    if (pos != merged.end() && *pos == sid) continue;
    merged.insert(pos, sid);
    changed = true;
  }
  return changed ? intern_tagset(std::move(merged)) : set;
}

edge graph_core::edge_of(const ed& e) const {
  edge out;
  const eprop& p = g_[e];
  out.key.from = std::string(id_of(boost::source(e, g_)));
  out.key.to = std::string(id_of(boost::target(e, g_)));
  out.key.kind = kind_of(p);
  out.weight = weight_of(e);
  for (std::uint32_t sid : tagsets_[tagset_of(p)]) out.hashtags.emplace_back(strings_.str(sid));
  std::sort(out.hashtags.begin(), out.hashtags.end());
  out.first_seen = format_iso8601(p.first_seen);
  out.last_seen = format_iso8601(p.last_seen);
  if (has_extra(p)) {
    auto it = edge_extra_.find(e.get_property());
    if (it != edge_extra_.end()) out.props = it->second;
  }
  return out;
}

std::vector<graph_core::adj_item> graph_core::sorted_out(vd u, std::optional<edge_kind> kind,
                                                         std::optional<vd> only_to) const {
  std::vector<adj_item> items;
  for (auto [it, end] = boost::out_edges(u, g_); it != end; ++it) {
    const vd t = boost::target(*it, g_);
    if (only_to && t != *only_to) continue;
    const edge_kind k = kind_of(g_[*it]);
    if (kind && k != *kind) continue;
    items.push_back({id_of(t), k, *it});
  }
  std::sort(items.begin(), items.end(), [](const adj_item& a, const adj_item& b) {
    return std::tie(a.other, a.kind) < std::tie(b.other, b.kind);
  });
  return items;
}

std::vector<graph_core::adj_item> graph_core::sorted_in(vd w, std::optional<edge_kind> kind) const {
  std::vector<adj_item> items;
  for (auto [it, end] = boost::in_edges(w, g_); it != end; ++it) {
    const edge_kind k = kind_of(g_[*it]);
    if (kind && k != *kind) continue;
    items.push_back({id_of(boost::source(*it, g_)), k, *it});
  }
  std::sort(items.begin(), items.end(), [](const adj_item& a, const adj_item& b) {
    return std::tie(a.other, a.kind) < std::tie(b.other, b.kind);
  });
  return items;
}

edge_page graph_core::list_edges(const edge_query& q) const {
  edge_page page;
  const std::size_t limit = std::max<std::size_t>(q.limit, 1);
  auto after_ok = [&](std::string_view from, std::string_view to, edge_kind k) {
    if (!q.after) return true;
    return std::make_tuple(std::string_view(q.after->from), std::string_view(q.after->to),
                           q.after->kind) < std::make_tuple(from, to, k);
  };
  // Returns false when the page is full (and marks that more follow).
  auto emit = [&](const ed& e) {
    if (page.edges.size() == limit) {
      page.next_after = page.edges.back().key;
      return false;
    }
    page.edges.push_back(edge_of(e));
    return true;
  };

  if (q.from) {
    const auto u = find(*q.from);
    if (!u) return page;
    std::optional<vd> w;
    if (q.to) {
      w = find(*q.to);
      if (!w) return page;
    }
    for (const auto& item : sorted_out(*u, q.kind, w))
      if (after_ok(*q.from, item.other, item.kind) && !emit(item.e)) break;
    return page;
  }
  if (q.to) {
    const auto w = find(*q.to);
    if (!w) return page;
    for (const auto& item : sorted_in(*w, q.kind))
      if (after_ok(item.other, *q.to, item.kind) && !emit(item.e)) break;
    return page;
  }
  std::lock_guard<std::mutex> lock(index_mutex_);
  // A kind walks only the vertices with an out-edge of that kind: a page
  // costs the out-degrees of the vertices it shows, however rare the kind.
  const std::vector<std::uint32_t>* ids = &sorted_;
  if (q.kind) {
    const auto k = static_cast<std::size_t>(*q.kind);
    const std::uint8_t bit = kind_flag(*q.kind);
    merge_sorted(kind_sorted_[k], kind_pending_[k], kind_dead_[k], [this, bit](std::uint32_t sid) {
      const std::uint32_t v = vertex_of_string_[sid];
      return v != no_vertex && (g_[v].flags & bit) != 0;
    });
    ids = &kind_sorted_[k];
  } else {
    merge_index();
  }
  auto it = ids->begin();
  if (q.after)
    it = std::lower_bound(ids->begin(), ids->end(), std::string_view(q.after->from),
                          [this](std::uint32_t sid, std::string_view s) { return strings_.str(sid) < s; });
  for (; it != ids->end(); ++it) {
    const std::uint32_t v = vertex_of_string_[*it];
    if (v == no_vertex || boost::out_degree(v, g_) == 0) continue;
    if (q.kind && !(g_[v].flags & kind_flag(*q.kind))) continue;
    const std::string_view from = strings_.str(*it);
    for (const auto& item : sorted_out(v, q.kind, std::nullopt))
      if (after_ok(from, item.other, item.kind) && !emit(item.e)) return page;
  }
  return page;
}

add_edge_result graph_core::add_edge(const edge_key& key, const properties& props,
                                     std::uint32_t at) {
  add_edge_result r;
  const vd u = ensure_vertex(key.from);
  const vd w = ensure_vertex(key.to);
  if (auto e = find_edge(u, w, key.kind)) {
    set_weight(*e, weight_of(*e) + 1);
    eprop& p = g_[*e];
    p.first_seen = std::min(p.first_seen, at);
    p.last_seen = std::max(p.last_seen, at);
    if (!props.empty()) set_edge_props(*e, props, true);
    r.created = false;
    r.e = edge_of(*e);
    return r;
  }
  const ed e = create_edge(u, w, key.kind);
  g_[e].first_seen = at;
  g_[e].last_seen = at;
  if (!props.empty()) set_edge_props(e, props, true);
  r.created = true;
  r.e = edge_of(e);
  return r;
}

removed_set graph_core::remove_edges(std::string_view from, std::string_view to,
                                     std::optional<edge_kind> kind) {
  removed_set r;
  const auto u = find(from);
  const auto w = find(to);
  if (!u || !w) return r;
  const auto items = sorted_out(*u, kind, *w);
  for (const auto& item : items) r.edges.push_back(edge_of(item.e));
  for (const auto& item : items) erase_edge(item.e);
  return r;
}

void graph_core::restore(const removed_set& removed) {
  if (removed.removed_vertex) {
    const vd v = ensure_vertex(removed.removed_vertex->id);
    const std::uint32_t location = g_[v].location;
    clear_props(v);
    for (const auto& [k, val] : removed.removed_vertex->props) set_prop(v, k, val);
    location_changed(v, location);
  }
  for (const edge& x : removed.edges) {
    const vd u = ensure_vertex(x.key.from);
    const vd w = ensure_vertex(x.key.to);
    auto e = find_edge(u, w, x.key.kind);
    if (!e) e = create_edge(u, w, x.key.kind);
    set_weight(*e, x.weight);
    eprop& p = g_[*e];
    p.first_seen = parse_iso8601(x.first_seen).value_or(0);
    p.last_seen = parse_iso8601(x.last_seen).value_or(0);
    const std::uint32_t tags = tagset_from_strings(x.hashtags);
    p.bits = (tags << 4) | (p.bits & 15u);
    set_edge_props(*e, x.props, false);
  }
}

void graph_core::apply(const std::vector<timed_interaction>& batch) {
  for (const auto& ti : batch) {
    const interaction& x = *ti.i;
    const vd u = ensure_vertex(x.from.id);
    std::uint32_t location = g_[u].location;
    upsert_account(u, x.from, ti.at);
    location_changed(u, location);
    const vd w = ensure_vertex(x.to.id);
    location = g_[w].location;
    upsert_account(w, x.to, ti.at);
    location_changed(w, location);
    if (auto e = find_edge(u, w, x.kind)) {
      set_weight(*e, weight_of(*e) + 1);
      eprop& p = g_[*e];
      p.first_seen = std::min(p.first_seen, ti.at);
      p.last_seen = std::max(p.last_seen, ti.at);
      const std::uint32_t tags = merge_tagset(tagset_of(p), x.hashtags);
      p.bits = (tags << 4) | (p.bits & 15u);
    } else {
      const ed ne = create_edge(u, w, x.kind);
      eprop& p = g_[ne];
      p.first_seen = ti.at;
      p.last_seen = ti.at;
      p.bits |= tagset_from_strings(x.hashtags) << 4;
    }
  }
}

// ---------------------------------------------------------------- indexes

namespace {
std::uint64_t flow_key(std::uint32_t a, std::uint32_t b) noexcept {
  return (static_cast<std::uint64_t>(a) << 32) | b;
}
} // namespace

std::uint32_t graph_core::norm_of(std::uint32_t location) {
  if (location == 0) return 0;
  auto it = norm_of_string_.find(location);
  if (it != norm_of_string_.end()) return it->second;
  const std::string n = normalize_location(strings_.str(location));
  const std::uint32_t id = n.empty() ? 0 : strings_.intern(n);
  norm_of_string_.emplace(location, id);
  return id;
}

void graph_core::flow_add(std::uint32_t a, std::uint32_t b, std::uint64_t weight,
                          std::int64_t edges) {
  // Weights add modulo 2^64 like a recount would; a pair leaves the table
  // with its last edge. The row moves to its new place in O(log pairs).
  auto [it, fresh] = flows_.try_emplace(flow_key(a, b));
  if (fresh) {
    flow_row row;
    row.weight = weight;
    row.edges = static_cast<std::uint64_t>(edges);
    row.key = flow_key(a, b);
    it->second = flow_order_.insert(row).first;
    return;
  }
  flow_set::node_type node = flow_order_.extract(it->second);
  node.value().weight += weight;
  node.value().edges += static_cast<std::uint64_t>(edges);
  if (node.value().edges == 0) {
    flows_.erase(it);
    return;
  }
  it->second = flow_order_.insert(std::move(node)).position;
}

void graph_core::hub_insert(const ed& e, std::uint64_t weight) {
  const vd u = boost::source(e, g_);
  const vd w = boost::target(e, g_);
  const auto k = static_cast<std::size_t>(kind_of(g_[e]));
  if (g_[u].flags & hub_flag) {
    hubs_.at(u)->by[k].insert({weight, id_of(w)});
    ++hub_entries_;
  }
  if (g_[w].flags & hub_flag) {
    hubs_.at(w)->by[kinds + k].insert({weight, id_of(u)});
    ++hub_entries_;
  }
}

void graph_core::hub_erase(const ed& e, std::uint64_t weight) {
  const vd u = boost::source(e, g_);
  const vd w = boost::target(e, g_);
  const auto k = static_cast<std::size_t>(kind_of(g_[e]));
  if (g_[u].flags & hub_flag) hub_entries_ -= hubs_.at(u)->by[k].erase({weight, id_of(w)});
  if (g_[w].flags & hub_flag) hub_entries_ -= hubs_.at(w)->by[kinds + k].erase({weight, id_of(u)});
}

void graph_core::hub_build(vd v) {
  auto h = std::make_unique<hub_index>();
  for (auto [it, end] = boost::out_edges(v, g_); it != end; ++it)
    h->by[static_cast<std::size_t>(kind_of(g_[*it]))].insert({weight_of(*it), id_of(boost::target(*it, g_))});
  for (auto [it, end] = boost::in_edges(v, g_); it != end; ++it)
    h->by[kinds + static_cast<std::size_t>(kind_of(g_[*it]))].insert(
        {weight_of(*it), id_of(boost::source(*it, g_))});
  hub_entries_ += boost::out_degree(v, g_) + boost::in_degree(v, g_);
  hubs_[v] = std::move(h);
  g_[v].flags |= hub_flag;
}

void graph_core::hub_check(vd v) {
  const std::size_t degree = boost::out_degree(v, g_) + boost::in_degree(v, g_);
  if (g_[v].flags & hub_flag) {
    // Half the threshold: a vertex going back and forth around it does not
    // rebuild its order each time.
    if (degree >= hub_degree / 2) return;
    auto it = hubs_.find(v);
    for (const hub_set& set : it->second->by) hub_entries_ -= set.size();
    hubs_.erase(it);
    g_[v].flags = static_cast<std::uint8_t>(g_[v].flags & ~hub_flag);
  } else if (degree >= hub_degree) {
    hub_build(v);
  }
}

void graph_core::edge_added(const ed& e) {
  const vd u = boost::source(e, g_);
  const vd w = boost::target(e, g_);
  const edge_kind k = kind_of(g_[e]);
  const std::uint64_t weight = weight_of(e);
  flow_add(norm_location(u), norm_location(w), weight, 1);
  if (!(g_[u].flags & kind_flag(k))) {
    g_[u].flags |= kind_flag(k);
    kind_pending_[static_cast<std::size_t>(k)].push_back(g_[u].id);
  }
  hub_insert(e, weight);
  hub_check(u);
  if (w != u) hub_check(w);
}

void graph_core::edge_removing(const ed& e) {
  const std::uint64_t weight = weight_of(e);
  flow_add(norm_location(boost::source(e, g_)), norm_location(boost::target(e, g_)), 0 - weight, -1);
  hub_erase(e, weight);
}

void graph_core::edge_removed(vd u, vd w, edge_kind k) {
  if (g_[u].flags & kind_flag(k)) {
    // remove_edge has just walked u's out-edges: one more walk keeps the
    // erase O(degree).
    bool more = false;
    for (auto [it, end] = boost::out_edges(u, g_); it != end && !more; ++it)
      more = kind_of(g_[*it]) == k;
    if (!more) {
      g_[u].flags = static_cast<std::uint8_t>(g_[u].flags & ~kind_flag(k));
      ++kind_dead_[static_cast<std::size_t>(k)];
    }
  }
  hub_check(u);
  if (w != u) hub_check(w);
}

void graph_core::weight_changed(const ed& e, std::uint64_t before, std::uint64_t after) {
  flow_add(norm_location(boost::source(e, g_)), norm_location(boost::target(e, g_)), after - before, 0);
  hub_erase(e, before);
  hub_insert(e, after);
}

void graph_core::location_changed(vd v, std::uint32_t before) {
  const std::uint32_t now = g_[v].location;
  if (now == before) return;
  const std::uint32_t a = vertex_norm_[v];
  const std::uint32_t b = norm_of(now);
  if (a == b) return;
  vertex_norm_[v] = b;
  for (auto [it, end] = boost::out_edges(v, g_); it != end; ++it) {
    const vd t = boost::target(*it, g_);
    const std::uint64_t weight = weight_of(*it);
    const std::uint32_t nt = t == v ? a : norm_location(t);
    flow_add(a, nt, 0 - weight, -1);
    flow_add(b, t == v ? b : nt, weight, 1);
  }
  for (auto [it, end] = boost::in_edges(v, g_); it != end; ++it) {
    const vd from = boost::source(*it, g_);
    if (from == v) continue; // the self-loop moved with the out-edges
    const std::uint64_t weight = weight_of(*it);
    const std::uint32_t nf = norm_location(from);
    flow_add(nf, a, 0 - weight, -1);
    flow_add(nf, b, weight, 1);
  }
}

// ------------------------------------------------------------- neighbours

// A slice's filters resolved to what the edges hold (interned ids, seconds),
// so checking an adjacent edge builds no string.
struct graph_core::edge_filter {
  bool any = false;               // false: every edge passes
  unsigned kind_mask = 0;         // bit per kind; 0: every kind
  std::uint64_t min_weight = 0;
  std::uint32_t since = 0;        // last_seen >= since
  std::uint32_t until = UINT32_MAX; // first_seen <= until
  bool by_tags = false;
  std::vector<std::uint32_t> tags;      // interned, sorted; empty with by_tags: none exist
  bool by_platform = false;
  std::vector<std::uint32_t> platforms; // interned
};

graph_core::edge_filter graph_core::make_filter(const slice& s) const {
  edge_filter f;
  f.any = !s.whole_graph();
  for (edge_kind k : s.kinds) f.kind_mask |= 1u << static_cast<unsigned>(k);
  f.min_weight = s.min_weight;
  // Canonical times order as the seconds they name (slice::admits compares
  // the strings; an unset time is second 0 there too).
  if (!s.since.empty()) f.since = parse_iso8601(s.since).value_or(UINT32_MAX);
  if (!s.until.empty()) f.until = parse_iso8601(s.until).value_or(0);
  f.by_tags = !s.hashtags.empty();
  for (const auto& t : s.hashtags)
    if (auto id = strings_.find(t)) f.tags.push_back(id);
  std::sort(f.tags.begin(), f.tags.end());
  f.by_platform = !s.platforms.empty();
  for (const auto& p : s.platforms)
    if (auto id = strings_.find(p)) f.platforms.push_back(id);
  return f;
}

bool graph_core::passes(const edge_filter& f, const ed& e) const {
  if (!f.any) return true;
  const eprop& p = g_[e];
  if (f.kind_mask && !(f.kind_mask & (1u << static_cast<unsigned>(kind_of(p))))) return false;
  if (p.last_seen < f.since || p.first_seen > f.until) return false;
  if (f.min_weight && weight_of(e) < f.min_weight) return false;
  if (f.by_tags) {
    const auto& set = tagsets_[tagset_of(p)];
    const bool hit = std::any_of(f.tags.begin(), f.tags.end(), [&](std::uint32_t t) {
      return std::binary_search(set.begin(), set.end(), t);
    });
    if (!hit) return false;
  }
  if (f.by_platform) {
    const std::uint32_t platform = g_[boost::source(e, g_)].platform;
    if (std::find(f.platforms.begin(), f.platforms.end(), platform) == f.platforms.end()) return false;
  }
  return true;
}

std::vector<neighbor> graph_core::neighbors(vd v, const neighbor_query& q) const {
  const edge_filter filter = make_filter(q.where);
  // A hub's order is by weight over every edge: with a slice filter the
  // adjacency is walked instead (what passes is only known edge by edge).
  if ((g_[v].flags & hub_flag) && !filter.any) {
    // Merge the ordered (direction, kind) sets the query wants: a page costs
    // its size times the number of sets, not the degree.
    struct head {
      hub_set::const_iterator it, end;
      edge_kind kind;
      direction dir;
    };
    std::vector<head> heads;
    const hub_index& h = *hubs_.at(v);
    for (direction d : {direction::out, direction::in}) {
      if (q.dir != direction::both && q.dir != d) continue;
      for (edge_kind k : all_edge_kinds) {
        if (q.kind && *q.kind != k) continue;
        const hub_set& set = h.by[(d == direction::in ? kinds : 0) + static_cast<std::size_t>(k)];
        if (!set.empty()) heads.push_back({set.begin(), set.end(), k, d});
      }
    }
    std::vector<neighbor> out;
    while (out.size() < q.limit && !heads.empty()) {
      std::size_t best = 0;
      for (std::size_t i = 1; i < heads.size(); ++i) {
        const hub_key& a = *heads[i].it;
        const hub_key& b = *heads[best].it;
        if (a.weight != b.weight ? a.weight > b.weight
                                 : std::tie(a.other, heads[i].kind, heads[i].dir) <
                                       std::tie(b.other, heads[best].kind, heads[best].dir))
          best = i;
      }
      head& x = heads[best];
      out.push_back({std::string(x.it->other), x.kind, x.dir, x.it->weight});
      if (++x.it == x.end) heads.erase(heads.begin() + static_cast<std::ptrdiff_t>(best));
    }
    return out;
  }
  struct item {
    std::uint64_t weight;
    std::string_view other;
    edge_kind kind;
    direction dir;
  };
  std::vector<item> items;
  if (q.dir != direction::in)
    for (auto [it, end] = boost::out_edges(v, g_); it != end; ++it) {
      const edge_kind k = kind_of(g_[*it]);
      if (q.kind && k != *q.kind) continue;
      if (!passes(filter, *it)) continue;
      items.push_back({weight_of(*it), id_of(boost::target(*it, g_)), k, direction::out});
    }
  if (q.dir != direction::out)
    for (auto [it, end] = boost::in_edges(v, g_); it != end; ++it) {
      const edge_kind k = kind_of(g_[*it]);
      if (q.kind && k != *q.kind) continue;
      if (!passes(filter, *it)) continue;
      items.push_back({weight_of(*it), id_of(boost::source(*it, g_)), k, direction::in});
    }
  const std::size_t n = std::min(items.size(), q.limit);
  std::partial_sort(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(n), items.end(),
                    [](const item& a, const item& b) {
                      if (a.weight != b.weight) return a.weight > b.weight;
                      return std::tie(a.other, a.kind, a.dir) < std::tie(b.other, b.kind, b.dir);
                    });
  std::vector<neighbor> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back({std::string(items[i].other), items[i].kind, items[i].dir, items[i].weight});
  return out;
}

// ---------------------------------------------------------- shortest path

std::optional<std::vector<std::string>> graph_core::shortest_path(vd from, vd to,
                                                                  const path_query& q,
                                                                  bool* over_budget) const {
  if (over_budget != nullptr) *over_budget = false;
  std::size_t visited = 2;
  if (from == to) return std::vector<std::string>{std::string(id_of(from))};
  visit_map fwd, bwd;
  fwd.insert(static_cast<std::uint32_t>(from), static_cast<std::uint32_t>(from));
  bwd.insert(static_cast<std::uint32_t>(to), static_cast<std::uint32_t>(to));
  std::vector<std::uint32_t> ffront{static_cast<std::uint32_t>(from)};
  std::vector<std::uint32_t> bfront{static_cast<std::uint32_t>(to)};
  std::vector<std::uint32_t> next;
  unsigned depth = 0;

  auto chain = [this](const visit_map& m, std::uint32_t x) {
    std::vector<std::string> ids;
    for (;;) {
      ids.emplace_back(id_of(x));
      const std::uint32_t p = m.find(x);
      if (p == x) break;
      x = p;
    }
    return ids;
  };

  while (depth < q.max_depth && !ffront.empty() && !bfront.empty()) {
    const bool forward = ffront.size() <= bfront.size();
    auto& front = forward ? ffront : bfront;
    visit_map& mine = forward ? fwd : bwd;
    const visit_map& theirs = forward ? bwd : fwd;
    // Forward follows out-edges, backward in-edges; undirected follows both.
    const bool use_out = !q.directed || forward;
    const bool use_in = !q.directed || !forward;
    std::optional<std::pair<std::uint32_t, std::uint32_t>> meet; // (u, n)
    next.clear();
    bool exhausted = false;
    auto visit = [&](std::uint32_t u, std::uint32_t n) {
      if (mine.contains(n)) return false;
      if (q.max_visited != 0 && ++visited > q.max_visited) {
        exhausted = true;
        return true;
      }
      if (theirs.contains(n)) {
        meet.emplace(u, n);
        return true;
      }
      mine.insert(n, u);
      next.push_back(n);
      return false;
    };
    for (std::uint32_t u : front) {
      if (use_out)
        for (auto [it, end] = boost::out_edges(u, g_); it != end; ++it) {
          if (q.kind && kind_of(g_[*it]) != *q.kind) continue;
          if (visit(u, static_cast<std::uint32_t>(boost::target(*it, g_)))) break;
        }
      if (!meet && !exhausted && use_in)
        for (auto [it, end] = boost::in_edges(u, g_); it != end; ++it) {
          if (q.kind && kind_of(g_[*it]) != *q.kind) continue;
          if (visit(u, static_cast<std::uint32_t>(boost::source(*it, g_)))) break;
        }
      if (meet || exhausted) break;
    }
    if (exhausted) {
      if (over_budget != nullptr) *over_budget = true;
      return std::nullopt;
    }
    ++depth;
    if (meet) {
      // Every meeting found at this level has the minimal length (see docs).
      const auto [u, n] = *meet;
      std::vector<std::string> head = chain(fwd, forward ? u : n);
      std::reverse(head.begin(), head.end());
      std::vector<std::string> tail = chain(bwd, forward ? n : u);
      head.insert(head.end(), std::make_move_iterator(tail.begin()),
                  std::make_move_iterator(tail.end()));
      return head;
    }
    front.swap(next);
  }
  return std::nullopt;
}

// ------------------------------------------------------------------ flows

std::vector<location_flow> graph_core::location_flows(std::size_t limit) const {
  // The table is kept ordered by weight and edges: a page costs its size,
  // plus the rows tied with its last one (put in name order here).
  std::vector<flow_row> rows;
  for (auto it = flow_order_.begin(); it != flow_order_.end(); ++it) {
    if (rows.size() >= limit &&
        (it->weight != rows.back().weight || it->edges != rows.back().edges))
      break;
    rows.push_back(*it);
  }
  auto name_less = [this](std::uint32_t a, std::uint32_t b) { // unknown (0) last
    if ((a == 0) != (b == 0)) return a != 0;
    return a != 0 && strings_.str(a) < strings_.str(b);
  };
  std::sort(rows.begin(), rows.end(), [&](const flow_row& a, const flow_row& b) {
    if (a.weight != b.weight) return a.weight > b.weight;
    if (a.edges != b.edges) return a.edges > b.edges;
    const auto af = static_cast<std::uint32_t>(a.key >> 32);
    const auto bf = static_cast<std::uint32_t>(b.key >> 32);
    if (af != bf) return name_less(af, bf);
    return name_less(static_cast<std::uint32_t>(a.key), static_cast<std::uint32_t>(b.key));
  });
  if (rows.size() > limit) rows.resize(limit);
  std::vector<location_flow> out;
  out.reserve(rows.size());
  for (const flow_row& r : rows) {
    location_flow f;
    const auto from = static_cast<std::uint32_t>(r.key >> 32);
    const auto to = static_cast<std::uint32_t>(r.key);
    if (from != 0) f.from_location = std::string(strings_.str(from));
    if (to != 0) f.to_location = std::string(strings_.str(to));
    f.weight = r.weight;
    f.edges = r.edges;
    out.push_back(std::move(f));
  }
  return out;
}

} // namespace tlflow::mem

namespace tlflow::mem {

bool graph_core::has_edges(std::string_view from, std::string_view to,
                           std::optional<edge_kind> kind) const {
  const auto u = find(from);
  const auto w = find(to);
  if (!u || !w) return false;
  for (auto [it, end] = boost::out_edges(*u, g_); it != end; ++it)
    if (boost::target(*it, g_) == *w && (!kind || kind_of(g_[*it]) == *kind)) return true;
  return false;
}

// Snapshot body layout (all counts LEB128 unless noted):
//   u64 vertices; per vertex: id, properties
//   u64 tagsets;  per set: count, hashtag strings
//   u64 edges;    per edge: from ordinal, to ordinal, u8 kind, weight,
//                 u32 first_seen, u32 last_seen, tagset, u8 has_props [properties]
status graph_core::save(const std::function<status(std::string_view)>& sink) const {
  bin_writer w;
  auto flush = [&](bool force) -> status {
    if (!force && w.size() < (1u << 20)) return ok_v;
    status s = sink(w.buffer());
    w.clear();
    return s;
  };
  std::vector<std::uint32_t> ordinal(boost::num_vertices(g_), UINT32_MAX);
  w.u64(vertices_);
  std::uint32_t n = 0;
  status st = ok_v;
  for_each_vertex([&](vd v) {
    if (!st) return;
    ordinal[v] = n++;
    w.str(id_of(v));
    w.props(props_of(v));
    st = flush(false);
  });
  if (!st) return st;
  w.u64(tagsets_.size());
  for (const auto& set : tagsets_) {
    w.varint(set.size());
    for (std::uint32_t sid : set) w.str(strings_.str(sid));
    if (auto s = flush(false); !s) return s;
  }
  w.u64(edges_);
  for (auto [it, end] = boost::edges(g_); it != end; ++it) {
    const eprop& p = g_[*it];
    w.varint(ordinal[boost::source(*it, g_)]);
    w.varint(ordinal[boost::target(*it, g_)]);
    w.u8(static_cast<std::uint8_t>(kind_of(p)));
    w.varint(weight_of(*it));
    w.u32(p.first_seen);
    w.u32(p.last_seen);
    w.varint(tagset_of(p));
    if (has_extra(p)) {
      w.u8(1);
      auto e = edge_extra_.find(it->get_property());
      w.props(e == edge_extra_.end() ? properties{} : e->second);
    } else {
      w.u8(0);
    }
    if (auto s = flush(false); !s) return s;
  }
  return flush(true);
}

bool graph_core::load(bin_reader& r) {
  const std::uint64_t nv = r.u64();
  if (!r.ok()) return false;
  std::vector<vd> by_ordinal;
  by_ordinal.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(nv, 1u << 26)));
  for (std::uint64_t i = 0; i < nv && r.ok(); ++i) {
    const std::string_view id = r.str();
    properties props = r.props();
    if (!r.ok() || id.empty()) return false;
    bool created = false;
    const vd v = ensure_vertex(id, &created);
    if (!created) return false;
    for (const auto& [k, val] : props) set_prop(v, k, val);
    location_changed(v, 0); // no edges yet: only notes the vertex's place
    by_ordinal.push_back(v);
  }
  const std::uint64_t nt = r.u64();
  if (!r.ok()) return false;
  std::vector<std::uint32_t> tagset_map;
  for (std::uint64_t i = 0; i < nt && r.ok(); ++i) {
    const std::uint64_t count = r.varint();
    std::vector<std::uint32_t> tags;
    for (std::uint64_t k = 0; k < count && r.ok(); ++k) tags.push_back(strings_.intern(r.str()));
    std::sort(tags.begin(), tags.end());
    tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
    tagset_map.push_back(intern_tagset(std::move(tags)));
  }
  const std::uint64_t ne = r.u64();
  {
    // First pass: degrees, so that every adjacency vector is allocated once
    // at its exact size (no spare room, no regrowth copies).
    bin_reader scan = r;
    std::vector<std::uint32_t> out_deg(by_ordinal.size(), 0), in_deg(by_ordinal.size(), 0);
    for (std::uint64_t i = 0; i < ne && scan.ok(); ++i) {
      const std::uint64_t from = scan.varint();
      const std::uint64_t to = scan.varint();
      scan.u8();
      scan.varint();
      scan.u32();
      scan.u32();
      scan.varint();
      if (scan.u8() != 0) scan.props();
      if (!scan.ok() || from >= by_ordinal.size() || to >= by_ordinal.size()) return false;
      ++out_deg[from];
      ++in_deg[to];
    }
    for (std::size_t k = 0; k < by_ordinal.size(); ++k) {
      g_.out_edge_list(by_ordinal[k]).reserve(out_deg[k]);
      boost::in_edge_list(g_, by_ordinal[k]).reserve(in_deg[k]);
    }
  }
  for (std::uint64_t i = 0; i < ne && r.ok(); ++i) {
    const std::uint64_t from = r.varint();
    const std::uint64_t to = r.varint();
    const auto kind = r.kind();
    const std::uint64_t weight = r.varint();
    const std::uint32_t first = r.u32();
    const std::uint32_t last = r.u32();
    const std::uint64_t tagset = r.varint();
    const bool extra = r.u8() != 0;
    properties props;
    if (extra) props = r.props();
    if (!r.ok() || !kind || from >= by_ordinal.size() || to >= by_ordinal.size() ||
        tagset >= tagset_map.size())
      return false;
    const ed e = create_edge(by_ordinal[from], by_ordinal[to], *kind);
    set_weight(e, weight);
    eprop& p = g_[e];
    p.first_seen = first;
    p.last_seen = last;
    p.bits |= tagset_map[tagset] << 4;
    if (extra) set_edge_props(e, props, false);
  }
  return r.ok();
}

} // namespace tlflow::mem

namespace tlflow::mem {

graph_core::memory_breakdown graph_core::breakdown() const {
  memory_breakdown b;
  const auto n = boost::num_vertices(g_);
  b.vertex_slots = n;
  auto& g = const_cast<graph_t&>(g_);
  for (vd v = 0; v < n; ++v) {
    const auto& out = g.out_edge_list(v);
    const auto& in = boost::in_edge_list(g, v);
    b.adjacency_entries += out.size() + in.size();
    b.adjacency_capacity += out.capacity() + in.capacity();
  }
  b.interner_bytes = strings_.memory_bytes();
  b.tagsets = tagsets_.size();
  b.flow_pairs = flows_.size();
  for (std::size_t k = 0; k < kinds; ++k)
    b.kind_list_entries += kind_sorted_[k].capacity() + kind_pending_[k].capacity();
  b.hubs = hubs_.size();
  b.hub_entries = hub_entries_;
  return b;
}

void graph_core::shrink_adjacency() {
  const auto n = boost::num_vertices(g_);
  for (vd v = 0; v < n; ++v) {
    g_.out_edge_list(v).shrink_to_fit();
    boost::in_edge_list(g_, v).shrink_to_fit();
  }
}

} // namespace tlflow::mem
