#include "support/gremlin_graph_evaluator.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <unordered_map>

namespace tlflow::test {

namespace gs = gremlin::graphson;
using gs::value;

namespace {

using props = std::map<std::string, value>;

using gremlin::binding_index;

// A string value's text as the std::string the graph's maps are keyed by.
std::string text(const value& v) { return std::string(v.as_string()); }

struct ekey {
  std::string f, t, k;
  bool operator<(const ekey& o) const { return std::tie(f, t, k) < std::tie(o.f, o.t, o.k); }
};

class graph_evaluator {
public:
  graph_evaluator(gremlin::dialect d, std::string pk) : t_(d, pk), d_(d), pk_(std::move(pk)) {}

  result<std::vector<value>> eval(const std::string& s, const value& bindings) {
    std::lock_guard<std::mutex> lock(mu_);
    const binding_index b(bindings);
    auto str = [&](const char* k) { const value* v = b.get(k); return v ? text(*v) : std::string(); };
    auto num = [&](const char* k) { const value* v = b.get(k); return v ? v->as_int() : 0; };
    auto has = [&](const std::string& k) { return b.get(k) != nullptr; };
    auto count_idx = [&](const std::string& base) {
      std::size_t n = 0;
      while (has(base + std::to_string(n))) ++n;
      return n;
    };

    if (s == "g.inject(x)") return std::vector<value>{b.get("x") ? *b.get("x") : value()};
    if (s == "g.inject(x).unfold()") {
      const value* x = b.get("x");
      return x ? std::vector<value>(x->items().begin(), x->items().end()) : std::vector<value>{};
    }
    if (s == "tlflow_test_vertices(n)") return synthetic_vertices(num("n"));
    // How many batch marker vertices the graph holds (what
    // g.V().hasLabel('batch').count() answers on a real server).
    if (s == "tlflow_test_batch_markers()") return one(value::int64(static_cast<std::int64_t>(markers_.size())));
    if (s == t_.get_vertex()) {
      auto it = v_.find(str("b_vid"));
      if (it == v_.end()) return std::vector<value>{};
      return std::vector<value>{vproj(it->first)};
    }
    if (s == t_.vertex_exists()) return one(value::int64(v_.count(str("b_vid")) ? 1 : 0));
    if (s == t_.put_vertex(count_idx("b_k"), count_idx("b_u"))) {
      std::string id = str("b_vid");
      bool existed = v_.count(id) > 0;
      props& p = upsert(id);
      for (std::size_t i = 0; has("b_u" + std::to_string(i)); ++i) p.erase(text(*b.get("b_u" + std::to_string(i))));
      for (std::size_t i = 0; has("b_k" + std::to_string(i)); ++i)
        p[text(*b.get("b_k" + std::to_string(i)))] = *b.get("b_v" + std::to_string(i));
      value r = vproj(id);
      value out = value::map({{value::string("c"), value::int64(existed ? 1 : 0)}});
      for (auto& [k, v] : r.entries()) out.put(k.as_string(), v);
      return one(std::move(out));
    }
    if (s == t_.remove_vertex()) {
      std::string id = str("b_vid");
      v_.erase(id);
      for (auto it = e_.begin(); it != e_.end();) {
        if (it->first.f == id || it->first.t == id) it = e_.erase(it);
        else ++it;
      }
      return std::vector<value>{};
    }
    if (s == t_.list_vertices()) {
      std::string after = str("b_after"), prefix = str("b_prefix");
      auto lim = static_cast<std::size_t>(num("b_limit"));
      std::vector<value> out;
      for (auto it = v_.upper_bound(after); it != v_.end() && out.size() < lim; ++it)
        if (it->first.compare(0, prefix.size(), prefix) == 0) out.push_back(vproj(it->first));
      return out;
    }
    if (s == t_.count_vertices()) return one(value::int64(static_cast<std::int64_t>(v_.size())));
    if (s == t_.count_edges()) return one(value::int64(static_cast<std::int64_t>(e_.size())));
    for (bool out : {true, false})
      for (bool kind : {true, false})
        if (s == t_.neighbors(out, kind)) return neighbors(str("b_vid"), out, kind ? str("b_kind") : "", num("b_limit"));
    for (bool out : {true, false})
      for (bool kind : {true, false})
        if (s == t_.neighbor_edges(out, kind)) return neighbor_edges(str("b_vid"), out, kind ? str("b_kind") : "");
    for (int mask = 0; mask < 16; ++mask) {
      bool f = mask & 1, to = mask & 2, k = mask & 4, af = mask & 8;
      if (s == t_.list_edges(f, to, k, af)) return list_edges(b, f, to, k, af);
    }
    if (s == t_.add_edge(count_idx("b_k"))) {
      ekey key{str("b_from"), str("b_to"), str("b_kind")};
      upsert(key.f);
      upsert(key.t);
      auto [it, created] = e_.try_emplace(key);
      props& p = it->second;
      std::string at = str("b_at");
      if (created) {
        p["weight"] = *b.get("b_zero");
        p["kr"] = *b.get("b_kr");
        p["first_seen"] = value::string(at);
        p["last_seen"] = value::string(at);
      }
      p["weight"] = value::int64(p["weight"].as_int() + num("b_one"));
      widen(p, at, at);
      for (std::size_t i = 0; has("b_k" + std::to_string(i)); ++i)
        p[text(*b.get("b_k" + std::to_string(i)))] = *b.get("b_v" + std::to_string(i));
      return one(eproj(key));
    }
    for (bool kind : {true, false})
      if (s == t_.remove_edges(kind)) {
        for (auto it = e_.begin(); it != e_.end();) {
          if (it->first.f == str("b_from") && it->first.t == str("b_to") && (!kind || it->first.k == str("b_kind")))
            it = e_.erase(it);
          else ++it;
        }
        return std::vector<value>{};
      }
    for (bool directed : {true, false})
      for (bool kind : {true, false})
        if (s == t_.shortest_path(directed, kind))
          return path(str("b_from"), str("b_to"), directed, kind ? str("b_kind") : "", num("b_depth"));
    if (s == t_.restore_vertex(count_idx("b_k"))) {
      std::string id = str("b_vid");
      props& p = upsert(id);
      props keep;
      keep["vid"] = p["vid"];
      if (d_ == gremlin::dialect::cosmos) keep[pk_] = p[pk_];
      p = keep;
      for (std::size_t i = 0; has("b_k" + std::to_string(i)); ++i)
        p[text(*b.get("b_k" + std::to_string(i)))] = *b.get("b_v" + std::to_string(i));
      return one(value::int64(1));
    }
    if (s == t_.restore_edge(count_idx("b_k"))) {
      ekey key{str("b_from"), str("b_to"), str("b_kind")};
      upsert(key.f);
      upsert(key.t);
      props& p = e_[key];
      p.clear();
      p["weight"] = *b.get("b_w");
      p["kr"] = *b.get("b_kr");
      p["first_seen"] = *b.get("b_fs");
      p["last_seen"] = *b.get("b_ls");
      for (std::size_t i = 0; has("b_k" + std::to_string(i)); ++i)
        p[text(*b.get("b_k" + std::to_string(i)))] = *b.get("b_v" + std::to_string(i));
      return one(value::int64(1));
    }
    if (s == gremlin::templates::groovy_batch() || s.rfind("g.inject(0)", 0) == 0) {
      auto batch = t_.read_batch(s, bindings);
      if (!batch) return error{errc::internal, "test server: unknown script: " + s.substr(0, 200)};
      return run_batch(*batch);
    }
    if (s == t_.location_flows()) {
      std::vector<value> out;
      for (const auto& [k, p] : e_) {
        out.push_back(value::map({{value::string("a"), value::string(location(k.f))},
                                  {value::string("b"), value::string(location(k.t))},
                                  {value::string("w"), p.at("weight")}}));
      }
      return out;
    }
    return error{errc::internal, "test server: unknown script (only GremlinStore's templates are recognised): " +
                                     s.substr(0, 200)};
  }

private:
  // n made-up vertices, not in the graph (for the JS driver check and the
  // serialization benchmark).
  static std::vector<value> synthetic_vertices(std::int64_t n) {
    std::vector<value> out;
    for (std::int64_t i = 0; i < n; ++i) {
      auto vp = [&](std::int64_t id, const char* key, std::string v) {
        return value::array({value::vertex_property(value::int64(id), value::string(std::move(v)), key)});
      };
      value vprops = value::object({{"vid", vp(i * 10, "vid", "twitter:" + std::to_string(i))},
                                   {"handle", vp(i * 10 + 1, "handle", "user" + std::to_string(i))},
                                   {"location", vp(i * 10 + 2, "location", "City " + std::to_string(i % 50))}});
      out.push_back(value::vertex(value::int64(i), "account", std::move(vprops)));
    }
    return out;
  }

  static std::vector<value> one(value v) { return std::vector<value>{std::move(v)}; }

  props& upsert(const std::string& id) {
    auto [it, created] = v_.try_emplace(id);
    if (created) {
      it->second["vid"] = value::string(id);
      if (d_ == gremlin::dialect::cosmos) it->second[pk_] = value::string(id);
    }
    return it->second;
  }

  std::string location(const std::string& id) const {
    auto it = v_.find(id);
    if (it == v_.end()) return "";
    auto l = it->second.find("location");
    return l != it->second.end() && l->second.is_string() ? text(l->second) : "";
  }

  static void widen(props& p, const std::string& first, const std::string& last) {
    auto f = p.find("first_seen");
    if (f == p.end() || !f->second.is_string() || f->second.as_string() > first) p["first_seen"] = value::string(first);
    auto l = p.find("last_seen");
    if (l == p.end() || !l->second.is_string() || l->second.as_string() < last) p["last_seen"] = value::string(last);
  }

  value vproj(const std::string& id) const {
    value vm = value::map();
    for (const auto& [k, v] : v_.at(id)) vm.put(k, value::list({v}));
    std::int64_t in = 0, out = 0;
    for (const auto& [k, p] : e_) {
      if (k.t == id) ++in;
      if (k.f == id) ++out;
    }
    return value::map({{value::string("v"), vm}, {value::string("i"), value::int64(in)},
                       {value::string("o"), value::int64(out)}});
  }

  value eproj(const ekey& k) const {
    const props& p = e_.at(k);
    value vm = value::map();
    for (const auto& [key, v] : p) vm.put(key, v);
    return value::map({{value::string("f"), value::string(k.f)}, {value::string("t"), value::string(k.t)},
                       {value::string("k"), value::string(k.k)}, {value::string("r"), p.at("kr")},
                       {value::string("p"), vm}});
  }

  std::vector<value> neighbors(const std::string& id, bool out, const std::string& kind, std::int64_t lim) {
    struct row { std::int64_t w; std::string other, k; std::int64_t kr; };
    std::vector<row> rows;
    for (const auto& [k, p] : e_) {
      if ((out ? k.f : k.t) != id) continue;
      if (!kind.empty() && k.k != kind) continue;
      rows.push_back({p.at("weight").as_int(), out ? k.t : k.f, k.k, p.at("kr").as_int()});
    }
    // order().by(weight, desc).by(other vid).by(kr)
    std::sort(rows.begin(), rows.end(), [](const row& a, const row& b) {
      if (a.w != b.w) return a.w > b.w;
      return std::tie(a.other, a.kr) < std::tie(b.other, b.kr);
    });
    std::vector<value> res;
    for (const auto& r : rows) {
      if (static_cast<std::int64_t>(res.size()) >= lim) break;
      res.push_back(value::map({{value::string("n"), value::string(r.other)}, {value::string("k"), value::string(r.k)},
                                {value::string("w"), value::int64(r.w)}}));
    }
    return res;
  }

  // eproj plus 's': the source vertex's valueMap('platform') (lists of values).
  std::vector<value> neighbor_edges(const std::string& id, bool out, const std::string& kind) {
    std::vector<value> res;
    for (const auto& [k, p] : e_) {
      if ((out ? k.f : k.t) != id) continue;
      if (!kind.empty() && k.k != kind) continue;
      value row = eproj(k);
      value platform = value::map();
      auto v = v_.find(k.f);
      if (v != v_.end()) {
        auto it = v->second.find("platform");
        if (it != v->second.end()) platform.put("platform", value::list({it->second}));
      }
      row.put("s", platform);
      res.push_back(std::move(row));
    }
    return res;
  }

  std::vector<value> list_edges(const binding_index& b, bool f, bool t, bool k, bool after) {
    auto str = [&](const char* n) { return text(*b.get(n)); };
    std::vector<std::tuple<std::string, std::string, std::int64_t, ekey>> rows;
    for (const auto& [key, p] : e_) {
      if (f && key.f != str("b_from")) continue;
      if (t && key.t != str("b_to")) continue;
      if (k && key.k != str("b_kind")) continue;
      std::int64_t r = p.at("kr").as_int();
      if (after) {
        auto cur = std::make_tuple(key.f, key.t, r);
        auto lim = std::make_tuple(str("b_af"), str("b_at"), b.get("b_ar")->as_int());
        if (!(cur > lim)) continue;
      }
      rows.emplace_back(key.f, key.t, r, key);
    }
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& c) {
      return std::tie(std::get<0>(a), std::get<1>(a), std::get<2>(a)) <
             std::tie(std::get<0>(c), std::get<1>(c), std::get<2>(c));
    });
    std::vector<value> out;
    auto lim = static_cast<std::size_t>(b.get("b_limit")->as_int());
    for (const auto& r : rows) {
      if (out.size() >= lim) break;
      out.push_back(eproj(std::get<3>(r)));
    }
    return out;
  }

  // repeat(step.simplePath()).emit(has(to)).times(depth).has(to).limit(1):
  // breadth-first, the first simple path reaching `to` within depth hops.
  std::vector<value> path(const std::string& from, const std::string& to, bool directed, const std::string& kind,
                          std::int64_t depth) {
    if (!v_.count(from)) return {};
    std::deque<std::vector<std::string>> frontier{{from}};
    for (std::int64_t loop = 0; loop < depth && !frontier.empty(); ++loop) {
      std::deque<std::vector<std::string>> next;
      for (const auto& p : frontier) {
        std::vector<std::string> adj;
        for (const auto& [k, ep] : e_) {
          if (!kind.empty() && k.k != kind) continue;
          if (k.f == p.back()) adj.push_back(k.t);
          if (!directed && k.t == p.back()) adj.push_back(k.f);
        }
        for (const auto& n : adj) {
          if (std::find(p.begin(), p.end(), n) != p.end()) continue; // simplePath
          auto q = p;
          q.push_back(n);
          if (n == to) {
            std::vector<value> labels, objects;
            for (const auto& x : q) {
              labels.push_back(value::set());
              objects.push_back(value::string(x));
            }
            return one(value::path(value::list(std::move(labels)), value::list(std::move(objects))));
          }
          next.push_back(std::move(q));
        }
      }
      frontier = std::move(next);
    }
    return {};
  }

  // The meaning of a batch (templates::batch): both the Groovy script and
  // the cosmos/neptune traversal.
  // As the batch scripts do: nothing when the batch's marker exists, else
  // the items and the marker (kept apart from the accounts: no query of
  // GremlinStore's reads a 'batch' vertex).
  result<std::vector<value>> run_batch(const gremlin::write_batch& b) {
    auto mk = markers_.find(b.marker);
    if (mk != markers_.end() && mk->second == b.id) return one(value::int64(0));
    for (const auto& x : b.items) {
      if (!x.is_edge) {
        props& p = upsert(x.id);
        if (!x.platform.empty()) p["platform"] = value::string(x.platform);
        if (!x.handle.empty()) p["handle"] = value::string(x.handle);
        if (!x.name.empty()) p["name"] = value::string(x.name);
        if (!x.location.empty()) p["location"] = value::string(x.location);
        if (!x.first.empty()) widen(p, x.first, x.last);
        continue;
      }
      if (!v_.count(x.from) || !v_.count(x.to)) continue; // V() found nothing: no edge
      auto [it, created] = e_.try_emplace(ekey{x.from, x.to, x.kind});
      props& p = it->second;
      if (created) {
        p["weight"] = value::int64(0);
        p["kr"] = value::int64(x.rank);
        p["first_seen"] = value::string(x.first);
        p["last_seen"] = value::string(x.last);
      }
      p["weight"] = value::int64(p["weight"].as_int() + x.increment);
      widen(p, x.first, x.last);
      for (const auto& h : x.hashtag_keys) p[h] = value::boolean(true);
    }
    markers_[b.marker] = b.id; // the slot's vertex, made once; its 'bid' replaced
    return one(value::int64(static_cast<std::int64_t>(b.items.size())));
  }

  std::mutex mu_;
  gremlin::templates t_;
  gremlin::dialect d_;
  std::string pk_;
  std::map<std::string, props> v_;
  std::map<ekey, props> e_;
  std::map<std::string, std::string> markers_; // marker vid (slot) -> 'bid'
};

} // namespace

gremlin_evaluator make_graph_evaluator(gremlin::dialect d, std::string partition_key) {
  auto g = std::make_shared<graph_evaluator>(d, std::move(partition_key));
  return [g](const std::string& script, const value& bindings) { return g->eval(script, bindings); };
}

} // namespace tlflow::test
