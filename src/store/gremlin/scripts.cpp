#include "store/gremlin/scripts.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <tuple>
#include <utility>

#include "gremlin/escape.hpp"

namespace tlflow::gremlin {

std::optional<dialect> parse_dialect(std::string_view t) {
  if (t == "tinkerpop") return dialect::tinkerpop;
  if (t == "janusgraph") return dialect::janusgraph;
  if (t == "cosmos") return dialect::cosmos;
  if (t == "neptune") return dialect::neptune;
  return std::nullopt;
}

std::string_view to_string(dialect d) noexcept {
  switch (d) {
  case dialect::tinkerpop: return "tinkerpop";
  case dialect::janusgraph: return "janusgraph";
  case dialect::cosmos: return "cosmos";
  case dialect::neptune: return "neptune";
  }
  return "tinkerpop";
}

namespace {
bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
} // namespace

std::string encode_vertex_key(std::string_view k, std::string_view pk) {
  if (k == "vid" || k == "id" || k == "label" || k == pk || starts_with(k, "u_")) return "u_" + std::string(k);
  return std::string(k);
}

std::optional<std::string> decode_vertex_key(std::string_view s, std::string_view pk) {
  if (starts_with(s, "u_")) return std::string(s.substr(2));
  if (s == "vid" || s == "id" || s == "label" || s == pk) return std::nullopt;
  return std::string(s);
}

std::string encode_edge_key(std::string_view k) {
  if (k == "weight" || k == "kr" || k == "first_seen" || k == "last_seen" || k == "id" || k == "label" ||
      k == "hashtags" || starts_with(k, "ht_") || starts_with(k, "u_"))
    return "u_" + std::string(k);
  return std::string(k);
}

std::optional<std::string> decode_edge_key(std::string_view s) {
  if (starts_with(s, "u_")) return std::string(s.substr(2));
  if (s == "weight" || s == "kr" || s == "first_seen" || s == "last_seen" || s == "id" || s == "label" ||
      s == "hashtags" || starts_with(s, "ht_"))
    return std::nullopt;
  return std::string(s);
}

int kind_rank(edge_kind k) noexcept { return static_cast<int>(k); }

templates::templates(dialect d, std::string partition_key, std::uint32_t marker_slots)
    : d_(d), pk_(std::move(partition_key)), pk_lit_(gremlin_string_literal(pk_)),
      marker_slots_(marker_slots ? marker_slots : 1) {}

std::string templates::vstart(std::string_view tok) const {
  return "g.V().has('account','vid'," + std::string(tok) + ")";
}
std::string templates::vmid(std::string_view tok) const {
  return "V().has('account','vid'," + std::string(tok) + ")";
}
std::string templates::new_vertex(std::string_view tok) const {
  std::string t = "addV('account').property('vid'," + std::string(tok) + ")";
  if (d_ == dialect::cosmos)
    t += ".property('id'," + std::string(tok) + ").property(" + pk_lit_ + "," + std::string(tok) + ")";
  return t;
}
std::string templates::upsert_mid(std::string_view tok) const {
  return vmid(tok) + ".fold().coalesce(unfold()," + new_vertex(tok) + ")";
}
// The second vertex of an edge upsert. Not upsert_mid: fold() is a
// reducing barrier and drops the path, so a label set before it (as('a'))
// is gone after it on a real server ("The provided traverser does not map
// to a value"). A coalesce of two child traversals keeps the path.
std::string templates::upsert_next(std::string_view tok) const {
  return "coalesce(" + vmid(tok) + "," + new_vertex(tok) + ")";
}
std::string templates::vprop(std::string_view k, std::string_view v) const {
  // Cosmos DB has no cardinality argument worth relying on; everyone else
  // gets single (Neptune's default is set).
  if (d_ == dialect::cosmos) return ".property(" + std::string(k) + "," + std::string(v) + ")";
  return ".property(single," + std::string(k) + "," + std::string(v) + ")";
}
std::string templates::keep_keys() const {
  if (d_ == dialect::cosmos) return "'vid'," + pk_lit_;
  return "'vid'";
}

namespace {
const char* const vproj = ".project('v','i','o').by(valueMap()).by(inE().count()).by(outE().count())";
const char* const eproj =
    ".project('f','t','k','r','p').by(outV().values('vid')).by(inV().values('vid')).by(label())"
    ".by(values('kr')).by(valueMap())";
std::string idx(const char* base, std::size_t i) { return std::string(base) + std::to_string(i); }
} // namespace

std::string templates::get_vertex() const { return vstart("b_vid") + vproj; }
std::string templates::vertex_exists() const { return vstart("b_vid") + ".count()"; }

std::string templates::put_vertex(std::size_t n_set, std::size_t n_unset) const {
  std::string t = vstart("b_vid") + ".fold().as('f').coalesce(unfold()," + new_vertex("b_vid") + ")";
  if (n_unset > 0) {
    t += ".sideEffect(properties(";
    for (std::size_t i = 0; i < n_unset; ++i) t += (i ? "," : "") + idx("b_u", i);
    t += ").drop())";
  }
  for (std::size_t i = 0; i < n_set; ++i) t += vprop(idx("b_k", i), idx("b_v", i));
  t += ".project('c','v','i','o').by(select('f').count(local)).by(valueMap()).by(inE().count()).by(outE().count())";
  return t;
}

std::string templates::remove_vertex() const { return vstart("b_vid") + ".drop()"; }

std::string templates::list_vertices() const {
  return "g.V().hasLabel('account').has('vid',gt(b_after)).has('vid',startingWith(b_prefix))"
         ".order().by('vid').limit(b_limit)" +
         std::string(vproj);
}

std::string templates::count_vertices() const { return "g.V().hasLabel('account').count()"; }
std::string templates::count_edges() const { return "g.E().count()"; }

std::string templates::neighbors(bool out, bool kind) const {
  std::string k = kind ? "b_kind" : "";
  std::string other = out ? "inV()" : "outV()";
  return vstart("b_vid") + (out ? ".outE(" : ".inE(") + k + ")" + ".order().by(values('weight'),desc).by(" +
         other + ".values('vid'),asc).by(values('kr'),asc).limit(b_limit).project('n','k','w').by(" + other +
         ".values('vid')).by(label()).by(values('weight'))";
}

std::string templates::neighbor_edges(bool out, bool kind) const {
  return vstart("b_vid") + (out ? ".outE(" : ".inE(") + (kind ? "b_kind" : "") + ")" +
         ".project('f','t','k','r','p','s').by(outV().values('vid')).by(inV().values('vid')).by(label())"
         ".by(values('kr')).by(valueMap()).by(outV().valueMap('platform'))";
}

std::string templates::list_edges(bool from, bool to, bool kind, bool after) const {
  std::string k = kind ? "b_kind" : "";
  std::string t;
  if (from) {
    t = vstart("b_from") + ".outE(" + k + ")";
    if (to) t += ".where(inV().has('vid',b_to))";
  } else if (to) {
    t = vstart("b_to") + ".inE(" + k + ")";
  } else {
    t = "g.E()";
    if (kind) t += ".hasLabel(b_kind)";
  }
  t += eproj;
  if (after)
    t += ".where(or(select('f').is(gt(b_af)),and(select('f').is(eq(b_af)),select('t').is(gt(b_at))),"
         "and(select('f').is(eq(b_af)),select('t').is(eq(b_at)),select('r').is(gt(b_ar)))))";
  t += ".order().by(select('f')).by(select('t')).by(select('r')).limit(b_limit)";
  return t;
}

std::string templates::add_edge(std::size_t n_props) const {
  std::string t = "g." + upsert_mid("b_from") + ".as('a')." + upsert_next("b_to") + ".as('b')" +
                  ".coalesce(select('a').outE(b_kind).where(inV().as('b')),addE(b_kind).from('a').to('b')"
                  ".property('weight',b_zero).property('kr',b_kr).property('first_seen',b_at)"
                  ".property('last_seen',b_at))"
                  ".property('weight',union(values('weight'),constant(b_one)).sum())"
                  ".sideEffect(coalesce(values('first_seen').is(lte(b_at)),property('first_seen',b_at)))"
                  ".sideEffect(coalesce(values('last_seen').is(gte(b_at)),property('last_seen',b_at)))";
  for (std::size_t i = 0; i < n_props; ++i) t += ".property(" + idx("b_k", i) + "," + idx("b_v", i) + ")";
  t += eproj;
  return t;
}

std::string templates::remove_edges(bool kind) const {
  return vstart("b_from") + ".outE(" + (kind ? "b_kind" : "") + ").where(inV().has('vid',b_to)).drop()";
}

std::string templates::shortest_path(bool directed, bool kind) const {
  std::string step = std::string(directed ? "out(" : "both(") + (kind ? "b_kind" : "") + ")";
  return vstart("b_from") + ".repeat(" + step +
         ".simplePath()).emit(has('vid',b_to)).times(b_depth).has('vid',b_to).limit(1).path().by('vid')";
}

std::string templates::restore_vertex(std::size_t n_props) const {
  std::string t = "g." + upsert_mid("b_vid") + ".sideEffect(properties().not(hasKey(" + keep_keys() + ")).drop())";
  for (std::size_t i = 0; i < n_props; ++i) t += vprop(idx("b_k", i), idx("b_v", i));
  return t + ".count()";
}

std::string templates::restore_edge(std::size_t n_props) const {
  std::string t = "g." + upsert_mid("b_from") + ".as('a')." + upsert_next("b_to") + ".as('b')" +
                  ".coalesce(select('a').outE(b_kind).where(inV().as('b')),addE(b_kind).from('a').to('b'))"
                  ".sideEffect(properties().drop())"
                  ".property('weight',b_w).property('kr',b_kr).property('first_seen',b_fs).property('last_seen',b_ls)";
  for (std::size_t i = 0; i < n_props; ++i) t += ".property(" + idx("b_k", i) + "," + idx("b_v", i) + ")";
  return t + ".count()";
}

// ---- batches ----------------------------------------------------------------

namespace {
// Upper bound of a string's size once sent: as a JSON string (control
// characters become \u00XX, quotes and backslashes get a backslash), or
// (literal) as a Gremlin literal inside the JSON "gremlin" text, where
// every byte outside printable ASCII can become \\uXXXX.
std::size_t sent_size(std::string_view s, bool literal) {
  std::size_t n = 2;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || (literal && c >= 0x7F)) n += 7;
    else if (c == '"' || c == '\\' || c == '\'') n += 3;
    else n += 1;
  }
  return n;
}
} // namespace

std::size_t templates::request_bytes(const batch_item& x) const {
  const std::string* fields[] = {&x.id, &x.platform, &x.handle, &x.name, &x.location,
                                 &x.from, &x.to, &x.kind, &x.first, &x.last};
  if (d_ == dialect::tinkerpop || d_ == dialect::janusgraph) {
    // One g:List item (~30 bytes of wrapper), its strings and commas, for
    // an edge two g:Int64 (~50 bytes each) and the hashtag g:List.
    std::size_t n = 48 + (x.is_edge ? 140 : 0);
    for (const std::string* v : fields) n += sent_size(*v, false) + 1;
    for (const auto& h : x.hashtag_keys) n += sent_size(h, false) + 1;
    return n;
  }
  // Cosmos/Neptune: the item's traversal fragment (under 800 characters)
  // and its bindings (~20 bytes of wrapper a value) or literals.
  bool literal = d_ == dialect::neptune;
  std::size_t n = 800;
  for (const std::string* v : fields) n += sent_size(*v, literal) + 20;
  for (const auto& h : x.hashtag_keys) n += sent_size(h, literal) + 40;
  return n;
}

std::size_t templates::request_bytes_base() const {
  // The request envelope (requestId, op, processor, args), the marker's
  // vid and the batch id take under 500 bytes.
  bool groovy = d_ == dialect::tinkerpop || d_ == dialect::janusgraph;
  return (groovy ? groovy_batch().size() + 64 : batch_text({}).size() + pk_lit_.size()) + 500;
}

bool operator==(const batch_item& a, const batch_item& b) {
  return std::tie(a.is_edge, a.id, a.platform, a.handle, a.name, a.location, a.from, a.to, a.kind, a.rank,
                  a.increment, a.hashtag_keys, a.first, a.last) ==
         std::tie(b.is_edge, b.id, b.platform, b.handle, b.name, b.location, b.from, b.to, b.kind, b.rank,
                  b.increment, b.hashtag_keys, b.first, b.last);
}

namespace {
constexpr std::string_view marker_prefix = "tlflow-batch:";
} // namespace

std::string templates::marker_vid(std::string_view id) const {
  std::uint64_t h = 14695981039346656037ull; // FNV-1a: any spread will do, the ids are random
  for (char c : id) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return std::string(marker_prefix) + std::to_string(h % marker_slots_);
}

script_request templates::batch(const write_batch& b) const {
  if (d_ == dialect::tinkerpop || d_ == dialect::janusgraph) return groovy_request(b);
  return traversal_request(b);
}

// Groovy engines: after the index lookups, the upsert works on the elements
// themselves (Vertex.property, Vertex.edges, addEdge) instead of building a
// traversal per item: on TinkerPop 3.6 an edge upsert written as one
// traversal (coalesce/union/sum) costs ~0.5 ms of strategy work, this
// ~0.1 ms. Vertices upserted earlier in the batch are reused by its edges.
// Same meaning as the cosmos/neptune traversal below.
std::string templates::groovy_batch() {
  return "def mk = g.V().has('batch','vid',b_id).tryNext().orElse(null)\n"
         "if (mk != null && mk.property('bid').orElse(null) == b_mark) return 0\n"
         "def vs = [:]\n"
         "def vertex = { id -> vs.containsKey(id) ? vs[id] : g.V().has('account','vid',id).tryNext().orElse(null) }\n"
         "for (m in b_items) {\n"
         "  if (m[0] == 'a') {\n"
         "    def v = vertex(m[1])\n"
         "    if (v == null) v = g.addV('account').property('vid',m[1]).next()\n"
         "    vs[m[1]] = v\n"
         "    if (m[2]) v.property(single,'platform',m[2])\n"
         "    if (m[3]) v.property(single,'handle',m[3])\n"
         "    if (m[4]) v.property(single,'name',m[4])\n"
         "    if (m[5]) v.property(single,'location',m[5])\n"
         "    if (m[6]) {\n"
         "      def f = v.property('first_seen')\n"
         "      if (!f.isPresent() || m[6] < f.value()) v.property(single,'first_seen',m[6])\n"
         "      def l = v.property('last_seen')\n"
         "      if (!l.isPresent() || m[7] > l.value()) v.property(single,'last_seen',m[7])\n"
         "    }\n"
         "  } else {\n"
         "    def a = vertex(m[1])\n"
         "    def b = vertex(m[2])\n"
         "    if (a == null || b == null) continue\n"
         "    def e = null\n"
         "    def out = a.edges(Direction.OUT, m[3])\n"
         "    while (e == null && out.hasNext()) { def x = out.next(); if (x.inVertex().id() == b.id()) e = x }\n"
         "    if (e == null) e = a.addEdge(m[3], b, 'weight', 0L, 'kr', m[4], 'first_seen', m[6], 'last_seen', m[7])\n"
         "    e.property('weight', e.value('weight') + m[5])\n"
         "    def f = e.property('first_seen')\n"
         "    if (!f.isPresent() || m[6] < f.value()) e.property('first_seen', m[6])\n"
         "    def l = e.property('last_seen')\n"
         "    if (!l.isPresent() || m[7] > l.value()) e.property('last_seen', m[7])\n"
         "    for (h in m[8]) e.property(h, true)\n"
         "  }\n"
         "}\n"
         "if (mk == null) mk = g.addV('batch').property('vid',b_id).next()\n"
         "mk.property(single,'bid',b_mark)\n"
         "b_items.size()";
}

// b_id: the marker's vid, b_mark the batch id. b_items, positional lists: an account
// ['a', id, platform, handle, name, location, first, last], an edge
// ['e', from, to, kind, rank, increment, first, last, [hashtag keys]];
// "" is "not set".
script_request templates::groovy_request(const write_batch& b) const {
  using graphson::value;
  std::vector<value> list;
  list.reserve(b.items.size());
  for (const auto& x : b.items) {
    std::vector<value> m;
    if (!x.is_edge) {
      m.reserve(8);
      m.push_back(value::string("a"));
      for (const std::string* v : {&x.id, &x.platform, &x.handle, &x.name, &x.location, &x.first, &x.last})
        m.push_back(value::string(*v));
    } else {
      m.reserve(9);
      m.push_back(value::string("e"));
      m.push_back(value::string(x.from));
      m.push_back(value::string(x.to));
      m.push_back(value::string(x.kind));
      m.push_back(value::int64(x.rank));
      m.push_back(value::int64(x.increment));
      m.push_back(value::string(x.first));
      m.push_back(value::string(x.last));
      std::vector<value> tags;
      tags.reserve(x.hashtag_keys.size());
      for (const auto& h : x.hashtag_keys) tags.push_back(value::string(h));
      m.push_back(value::list(std::move(tags)));
    }
    list.push_back(value::list(std::move(m)));
  }
  script_request r;
  r.script = groovy_batch();
  r.bindings.put("b_id", value::string(marker_vid(b.id)));
  r.bindings.put("b_mark", value::string(b.id));
  r.bindings.put("b_items", value::list(std::move(list)));
  return r;
}

// Traversal bindings, item i: account b_a<i> (id), b_p<i> platform, b_h<i>
// handle, b_n<i> name, b_l<i> location, b_s<i>/b_e<i> first/last seen;
// edge b_f<i> from, b_t<i> to, b_k<i> kind, b_r<i> kind rank, b_w<i>
// increment, b_s<i>/b_e<i> times, b_h<i>_<j> hashtag keys; b_zero = 0;
// b_id the marker's vid, b_mark the batch id.
std::string templates::batch_text(const std::vector<batch_item>& items) const {
  std::string t = "g.inject(0).not(V().has('batch','vid',b_id).has('bid',b_mark))";
  for (std::size_t i = 0; i < items.size(); ++i) {
    const batch_item& b = items[i];
    std::string n = std::to_string(i);
    if (!b.is_edge) {
      t += ".sideEffect(" + upsert_mid("b_a" + n);
      if (!b.platform.empty()) t += vprop("'platform'", "b_p" + n);
      if (!b.handle.empty()) t += vprop("'handle'", "b_h" + n);
      if (!b.name.empty()) t += vprop("'name'", "b_n" + n);
      if (!b.location.empty()) t += vprop("'location'", "b_l" + n);
      if (!b.first.empty()) {
        std::string single = d_ == dialect::cosmos ? "" : "single,";
        t += ".sideEffect(coalesce(values('first_seen').is(lte(b_s" + n + ")),property(" + single +
             "'first_seen',b_s" + n + ")))";
        t += ".sideEffect(coalesce(values('last_seen').is(gte(b_e" + n + ")),property(" + single +
             "'last_seen',b_e" + n + ")))";
      }
      t += ")";
    } else {
      t += ".sideEffect(" + vmid("b_f" + n) + ".as('a')." + vmid("b_t" + n) + ".coalesce(inE(b_k" + n +
           ").where(outV().as('a')),addE(b_k" + n + ").from('a').property('weight',b_zero).property('kr',b_r" +
           n + ").property('first_seen',b_s" + n + ").property('last_seen',b_e" + n + "))" +
           ".property('weight',union(values('weight'),constant(b_w" + n + ")).sum())" +
           ".sideEffect(coalesce(values('first_seen').is(lte(b_s" + n + ")),property('first_seen',b_s" + n + ")))" +
           ".sideEffect(coalesce(values('last_seen').is(gte(b_e" + n + ")),property('last_seen',b_e" + n + ")))";
      for (std::size_t j = 0; j < b.hashtag_keys.size(); ++j)
        t += ".property(b_h" + n + "_" + std::to_string(j) + ",true)";
      t += ")";
    }
  }
  // The slot's vertex, made once, then its batch id replaced.
  std::string marker = "V().has('batch','vid',b_id).fold().coalesce(unfold(),addV('batch').property('vid',b_id)";
  if (d_ == dialect::cosmos) marker += ".property('id',b_id).property(" + pk_lit_ + ",b_id)";
  marker += std::string(").property(") + (d_ == dialect::cosmos ? "" : "single,") + "'bid',b_mark)";
  return t + ".sideEffect(" + marker + ").count()";
}

script_request templates::traversal_request(const write_batch& wb) const {
  using graphson::value;
  const auto& items = wb.items;
  script_request r;
  r.script = batch_text(items);
  value& b = r.bindings;
  auto opt = [&](const std::string& k, const std::string& v) {
    if (!v.empty()) b.put(k, value::string(v));
  };
  b.put("b_id", value::string(marker_vid(wb.id)));
  b.put("b_mark", value::string(wb.id));
  for (std::size_t i = 0; i < items.size(); ++i) {
    const batch_item& x = items[i];
    std::string n = std::to_string(i);
    if (!x.is_edge) {
      b.put("b_a" + n, value::string(x.id));
      opt("b_p" + n, x.platform);
      opt("b_h" + n, x.handle);
      opt("b_n" + n, x.name);
      opt("b_l" + n, x.location);
      if (!x.first.empty()) {
        b.put("b_s" + n, value::string(x.first));
        b.put("b_e" + n, value::string(x.last));
      }
    } else {
      b.put("b_f" + n, value::string(x.from));
      b.put("b_t" + n, value::string(x.to));
      b.put("b_k" + n, value::string(x.kind));
      b.put("b_r" + n, value::int64(x.rank));
      b.put("b_w" + n, value::int64(x.increment));
      b.put("b_s" + n, value::string(x.first));
      b.put("b_e" + n, value::string(x.last));
      for (std::size_t j = 0; j < x.hashtag_keys.size(); ++j)
        b.put("b_h" + n + "_" + std::to_string(j), value::string(x.hashtag_keys[j]));
    }
  }
  b.put("b_zero", value::int64(0));
  return r;
}

result<write_batch> templates::read_batch(std::string_view script, const graphson::value& bindings) const {
  using graphson::value;
  write_batch out;
  auto str = [](const value* v) { return v && v->is_string() ? std::string(v->as_string()) : std::string(); };
  auto num = [](const value* v) { return v && v->is_integral() ? v->as_int() : std::int64_t{0}; };
  out.marker = str(bindings.get("b_id"));
  if (out.marker.compare(0, marker_prefix.size(), marker_prefix) != 0 || out.marker.size() == marker_prefix.size())
    return error{errc::invalid_argument, "batch: no b_id marker"};
  out.id = str(bindings.get("b_mark"));
  if (out.id.empty()) return error{errc::invalid_argument, "batch: no b_mark batch id"};
  if (script == groovy_batch()) {
    const value* items = bindings.get("b_items");
    if (!items || !items->is_sequence()) return error{errc::invalid_argument, "batch: no b_items list"};
    for (const value& m : items->items()) {
      const auto f = m.items();
      bool account = m.is_sequence() && f.size() == 8 && str(&f[0]) == "a";
      bool edge = m.is_sequence() && f.size() == 9 && str(&f[0]) == "e" && f[8].is_sequence();
      if (!account && !edge) return error{errc::invalid_argument, "batch: an item is not an account or an edge"};
      batch_item x;
      x.is_edge = edge;
      if (account) {
        x.id = str(&f[1]);
        x.platform = str(&f[2]);
        x.handle = str(&f[3]);
        x.name = str(&f[4]);
        x.location = str(&f[5]);
      } else {
        x.from = str(&f[1]);
        x.to = str(&f[2]);
        x.kind = str(&f[3]);
        x.rank = num(&f[4]);
        x.increment = num(&f[5]);
        for (const value& k : f[8].items()) x.hashtag_keys.push_back(str(&k));
      }
      x.first = str(&f[6]);
      x.last = str(&f[7]);
      out.items.push_back(std::move(x));
    }
    return out;
  }
  // A traversal batch: items from the bindings, then the text must be the
  // one batch_text writes for them.
  const binding_index by_name(bindings);
  auto get = [&](const std::string& k) { return by_name.get(k); };
  for (std::size_t i = 0;; ++i) {
    std::string n = std::to_string(i);
    batch_item x;
    if (const value* a = get("b_a" + n)) {
      x.id = str(a);
      x.platform = str(get("b_p" + n));
      x.handle = str(get("b_h" + n));
      x.name = str(get("b_n" + n));
      x.location = str(get("b_l" + n));
    } else if (get("b_f" + n)) {
      x.is_edge = true;
      x.from = str(get("b_f" + n));
      x.to = str(get("b_t" + n));
      x.kind = str(get("b_k" + n));
      x.rank = num(get("b_r" + n));
      x.increment = num(get("b_w" + n));
      for (std::size_t j = 0;; ++j) {
        const value* h = get("b_h" + n + "_" + std::to_string(j));
        if (!h) break;
        x.hashtag_keys.push_back(str(h));
      }
    } else {
      break;
    }
    x.first = str(get("b_s" + n));
    x.last = str(get("b_e" + n));
    out.items.push_back(std::move(x));
  }
  if (out.items.empty() || script != batch_text(out.items)) return error{errc::invalid_argument, "not a batch script"};
  return out;
}

std::string templates::location_flows() const {
  return "g.E().project('a','b','w').by(outV().coalesce(values('location'),constant('')))"
         ".by(inV().coalesce(values('location'),constant(''))).by(values('weight'))";
}

namespace {

result<std::string> literal_of(const graphson::value& v) {
  using graphson::kind;
  switch (v.k()) {
  case kind::string: return gremlin_string_literal(v.as_string());
  case kind::boolean: return std::string(v.as_bool() ? "true" : "false");
  case kind::int32: return std::to_string(v.as_int());
  case kind::int64: case kind::integer: return std::to_string(v.as_int()) + "L";
  case kind::float32: case kind::float64: case kind::number: {
    double d = v.as_double();
    if (!std::isfinite(d)) return error{errc::invalid_argument, "non-finite number has no Gremlin literal"};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17gd", d);
    return std::string(buf);
  }
  default: return error{errc::invalid_argument, "value has no Gremlin literal"};
  }
}

} // namespace

binding_index::binding_index(const graphson::value& bindings) {
  const auto it = bindings.items(); // map or object: key, value pairs
  for (std::size_t i = 0; i + 1 < it.size(); i += 2)
    if (it[i].is_string()) by_name_.emplace(it[i].as_string(), &it[i + 1]);
}

const graphson::value* binding_index::get(std::string_view name) const {
  auto found = by_name_.find(name);
  return found == by_name_.end() ? nullptr : found->second;
}

result<std::string> inline_bindings(std::string_view s, const graphson::value& bindings) {
  const binding_index by_name(bindings);
  std::string out;
  out.reserve(s.size() * 2);
  for (std::size_t i = 0; i < s.size();) {
    char c = s[i];
    if (c == '\'') { // copy a quoted string of the template verbatim
      std::size_t j = i + 1;
      while (j < s.size() && s[j] != '\'') j += s[j] == '\\' ? 2 : 1;
      out.append(s.substr(i, j + 1 - i));
      i = j + 1;
      continue;
    }
    bool ident_start = std::isalpha(static_cast<unsigned char>(c)) || c == '_';
    if (!ident_start) { out += c; ++i; continue; }
    std::size_t j = i;
    while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
    std::string_view word = s.substr(i, j - i);
    if (word.substr(0, 2) == "b_") {
      const graphson::value* v = by_name.get(word);
      if (!v) return error{errc::invalid_argument, "no binding for " + std::string(word)};
      auto lit = literal_of(*v);
      if (!lit) return std::move(lit).err();
      out += *lit;
    } else {
      out.append(word);
    }
    i = j;
  }
  return out;
}

namespace {

// Calls f(word, out) for each identifier outside quoted strings; anything
// else is copied to out unchanged.
template <typename F> std::string rewrite_words(std::string_view s, F&& f) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  for (std::size_t i = 0; i < s.size();) {
    char c = s[i];
    if (c == '\'') {
      std::size_t j = i + 1;
      while (j < s.size() && s[j] != '\'') j += s[j] == '\\' ? 2 : 1;
      out.append(s.substr(i, std::min(j + 1, s.size()) - i));
      i = j + 1;
      continue;
    }
    if (!(std::isalpha(static_cast<unsigned char>(c)) || c == '_')) {
      out += c;
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
    f(s.substr(i, j - i), out);
    i = j;
  }
  return out;
}

} // namespace

script_request pack_bindings(std::string_view s, const graphson::value& bindings) {
  script_request p;
  p.script = rewrite_words(s, [](std::string_view w, std::string& out) {
    if (w.substr(0, 2) == "b_") out += "bb.";
    out.append(w);
  });
  p.bindings = graphson::value::object();
  p.bindings.put("bb", bindings);
  return p;
}

script_request unpack_bindings(std::string_view s, const graphson::value& bindings) {
  const graphson::value* inner = bindings.get("bb");
  if (!inner || !inner->is_mapping()) return {std::string(s), bindings};
  script_request p;
  p.bindings = *inner;
  bool skip = false; // the word just seen was "bb"
  p.script = rewrite_words(s, [&](std::string_view w, std::string& out) {
    if (skip && w.substr(0, 2) == "b_" && out.size() >= 3 && out.compare(out.size() - 3, 3, "bb.") == 0)
      out.resize(out.size() - 3);
    skip = w == "bb";
    out.append(w);
  });
  return p;
}

} // namespace tlflow::gremlin
