#include "store/gremlin/scripts.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <utility>

#include "store/gremlin/escape.hpp"

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

templates::templates(dialect d, std::string partition_key)
    : d_(d), pk_(std::move(partition_key)), pk_lit_(gremlin_string_literal(pk_)) {}

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
         other + ".values('vid'),asc).limit(b_limit).project('n','k','w').by(" + other +
         ".values('vid')).by(label()).by(values('weight'))";
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

// Batch bindings, item i: account b_a<i> (id), b_p<i> platform, b_h<i>
// handle, b_n<i> name, b_l<i> location, b_s<i>/b_e<i> first/last seen;
// edge b_f<i> from, b_t<i> to, b_k<i> kind, b_r<i> kind rank, b_w<i>
// increment, b_s<i>/b_e<i> times, b_h<i>_<j> hashtag keys; b_zero = 0.
std::string templates::apply_batch(const std::vector<batch_shape>& items) const {
  std::string t = "g.inject(0)";
  for (std::size_t i = 0; i < items.size(); ++i) {
    const batch_shape& b = items[i];
    std::string n = std::to_string(i);
    if (!b.is_edge) {
      t += ".sideEffect(" + upsert_mid("b_a" + n);
      if (b.platform) t += vprop("'platform'", "b_p" + n);
      if (b.handle) t += vprop("'handle'", "b_h" + n);
      if (b.name) t += vprop("'name'", "b_n" + n);
      if (b.location) t += vprop("'location'", "b_l" + n);
      if (b.has_time) {
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
      for (std::size_t j = 0; j < b.hashtags; ++j)
        t += ".property(b_h" + n + "_" + std::to_string(j) + ",true)";
      t += ")";
    }
  }
  return t + ".count()";
}

std::string templates::groovy_batch() {
  return "for (m in b_items) {\n"
         "  if (m.containsKey('a')) {\n"
         "    def t = g.V().has('account','vid',m.a).fold().coalesce(unfold(),addV('account').property('vid',m.a))\n"
         "    if (m.containsKey('p')) t = t.property(single,'platform',m.p)\n"
         "    if (m.containsKey('h')) t = t.property(single,'handle',m.h)\n"
         "    if (m.containsKey('n')) t = t.property(single,'name',m.n)\n"
         "    if (m.containsKey('l')) t = t.property(single,'location',m.l)\n"
         "    if (m.containsKey('s')) t = t.sideEffect(coalesce(values('first_seen').is(lte(m.s)),"
         "property(single,'first_seen',m.s))).sideEffect(coalesce(values('last_seen').is(gte(m.e)),"
         "property(single,'last_seen',m.e)))\n"
         "    t.iterate()\n"
         "  } else {\n"
         "    def t = g.V().has('account','vid',m.f).as('a').V().has('account','vid',m.t)"
         ".coalesce(inE(m.k).where(outV().as('a')),addE(m.k).from('a').property('weight',0L).property('kr',m.r)"
         ".property('first_seen',m.s).property('last_seen',m.e))"
         ".property('weight',union(values('weight'),constant(m.w)).sum())"
         ".sideEffect(coalesce(values('first_seen').is(lte(m.s)),property('first_seen',m.s)))"
         ".sideEffect(coalesce(values('last_seen').is(gte(m.e)),property('last_seen',m.e)))\n"
         "    for (h in m.h) t = t.property(h,true)\n"
         "    t.iterate()\n"
         "  }\n"
         "}\n"
         "b_items.size()";
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

result<std::string> inline_bindings(std::string_view s, const graphson::value& bindings) {
  std::unordered_map<std::string_view, const graphson::value*> by_name;
  for (std::size_t i = 0; i < bindings.keys().size(); ++i) by_name.emplace(bindings.keys()[i], &bindings.items()[i]);
  if (bindings.k() == graphson::kind::map)
    for (std::size_t i = 0; i + 1 < bindings.items().size(); i += 2)
      if (bindings.items()[i].is_string()) by_name.emplace(bindings.items()[i].as_string(), &bindings.items()[i + 1]);
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
      auto found = by_name.find(word);
      const graphson::value* v = found == by_name.end() ? nullptr : found->second;
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

graphson::value batch_to_groovy(const graphson::value& b) {
  using graphson::value;
  using name = std::pair<const char*, const char*>;
  static const name account_keys[] = {{"a", "b_a"}, {"p", "b_p"}, {"h", "b_h"}, {"n", "b_n"},
                                      {"l", "b_l"}, {"s", "b_s"}, {"e", "b_e"}};
  static const name edge_keys[] = {{"f", "b_f"}, {"t", "b_t"}, {"k", "b_k"}, {"r", "b_r"},
                                   {"w", "b_w"}, {"s", "b_s"}, {"e", "b_e"}};
  // value::get is a linear search: index the thousands of names once.
  std::unordered_map<std::string_view, const value*> by_name;
  for (std::size_t i = 0; i < b.keys().size(); ++i) by_name.emplace(b.keys()[i], &b.items()[i]);
  auto find = [&](const std::string& binding) -> const value* {
    auto it = by_name.find(binding);
    return it == by_name.end() ? nullptr : it->second;
  };
  value items = value::list();
  auto copy = [&](value& m, const char* key, const std::string& binding) {
    if (const value* v = find(binding)) m.put(key, *v);
  };
  for (std::size_t i = 0;; ++i) {
    std::string n = std::to_string(i);
    value m = value::map();
    if (find("b_a" + n)) {
      for (const auto& [key, base] : account_keys) copy(m, key, base + n);
    } else if (find("b_f" + n)) {
      for (const auto& [key, base] : edge_keys) copy(m, key, base + n);
      value tags = value::list();
      for (std::size_t j = 0;; ++j) {
        const value* h = find("b_h" + n + "_" + std::to_string(j));
        if (!h) break;
        tags.items().push_back(*h);
      }
      m.put("h", std::move(tags));
    } else {
      break;
    }
    items.items().push_back(std::move(m));
  }
  value out = value::object();
  out.put("b_items", std::move(items));
  return out;
}

result<unpacked_batch> batch_from_groovy(const graphson::value& bindings) {
  using graphson::value;
  const value* items = bindings.get("b_items");
  if (!items || !items->is_sequence()) return error{errc::invalid_argument, "no b_items list"};
  unpacked_batch u;
  u.bindings = value::object();
  u.bindings.put("b_zero", value::int64(0));
  for (std::size_t i = 0; i < items->items().size(); ++i) {
    const value& m = items->items()[i];
    if (!m.is_mapping()) return error{errc::invalid_argument, "b_items: not a map"};
    std::string n = std::to_string(i);
    batch_shape s;
    s.is_edge = m.get("a") == nullptr;
    for (const auto& [k, v] : m.entries()) {
      const std::string& key = k.as_string();
      if (key == "h" && s.is_edge) {
        for (const value& h : v.items()) u.bindings.put("b_h" + n + "_" + std::to_string(s.hashtags++), h);
        continue;
      }
      u.bindings.put("b_" + key + n, v);
      if (key == "p") s.platform = true;
      if (key == "h") s.handle = true;
      if (key == "n") s.name = true;
      if (key == "l") s.location = true;
      if (key == "s") s.has_time = true;
    }
    u.shapes.push_back(s);
  }
  return u;
}

packed_request pack_bindings(std::string_view s, const graphson::value& bindings) {
  packed_request p;
  p.script = rewrite_words(s, [](std::string_view w, std::string& out) {
    if (w.substr(0, 2) == "b_") out += "bb.";
    out.append(w);
  });
  p.bindings = graphson::value::object();
  p.bindings.put("bb", bindings);
  return p;
}

packed_request unpack_bindings(std::string_view s, const graphson::value& bindings) {
  const graphson::value* inner = bindings.get("bb");
  if (!inner || !inner->is_mapping()) return {std::string(s), bindings};
  packed_request p;
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
