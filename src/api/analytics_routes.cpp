// The analytics routes: parse, get a snapshot (or walk the store for an ego
// network), serialize. Definitions of every figure: docs/analytics.md.
#include "api/analytics_routes.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <tuple>
#include <unordered_map>

#include "analytics/engine.hpp"
#include "api/cursor.hpp"
#include "api/slice_params.hpp"
#include "util/iso_time.hpp"

namespace tlflow::api {

namespace an = tlflow::analytics;

namespace {

std::string finish(rapidjson::StringBuffer& sb) { return std::string(sb.GetString(), sb.GetSize()); }

std::uint64_t uint_param(const request& q, std::string_view name, std::uint64_t lo,
                         std::uint64_t hi, std::uint64_t fallback) {
  auto v = q.query_value(name);
  if (!v) return fallback;
  bool digits = !v->empty() && v->size() <= 19;
  for (char c : *v) digits = digits && c >= '0' && c <= '9';
  const std::uint64_t n = digits ? std::stoull(*v) : 0;
  if (!digits || n < lo || n > hi)
    throw api_error(errc::invalid_argument, std::string(name) + " must be an integer from " +
                                                std::to_string(lo) + " to " + std::to_string(hi));
  return n;
}

const std::string& checked_id(const std::string& id) {
  const std::string why = validate_vertex_id(id);
  if (!why.empty()) throw api_error(errc::invalid_id, "vertex id: " + why);
  return id;
}

void key(json_writer& w, const char* k) { w.Key(k); }

// computed_at, age_seconds, cached, vertices, edges: every snapshot reply.
void write_header(json_writer& w, const an::snapshot& snap, bool cached) {
  const std::uint32_t now = util::now_seconds();
  key(w, "computed_at");
  write_string(w, util::format_iso8601(snap.computed_at()));
  key(w, "age_seconds");
  w.Uint64(now > snap.computed_at() ? now - snap.computed_at() : 0);
  key(w, "cached");
  w.Bool(cached);
  key(w, "vertices");
  w.Uint64(snap.graph().vertex_count());
  key(w, "edges");
  w.Uint64(snap.graph().edges().size());
}

void write_account(json_writer& w, const an::slice_graph& g, std::uint32_t v) {
  key(w, "id");
  write_string(w, g.id(v));
  key(w, "handle");
  write_string(w, g.handle(v));
  key(w, "name");
  write_string(w, g.name(v));
  key(w, "platform");
  write_string(w, g.platform(v));
}

struct context {
  api_context& api;
  an::engine engine;
  std::uint64_t graph_communities = 1000000;

  context(api_context& a, an::engine_options o) : api(a), engine(a.store, std::move(o)) {}

  struct view {
    std::shared_ptr<const an::snapshot> snap;
    bool cached = false;
  };

  view snapshot_for(const slice& s) {
    view v;
    v.snap = unwrap(engine.view(s));
    v.cached = s.whole_graph() && engine.options().refresh_s != 0;
    return v;
  }
};

// ---- /rankings ----------------------------------------------------------------

// The score a ranking orders by, one per account of the snapshot's graph:
// /rankings and /graph read the same numbers.
struct ranking_scores {
  std::string by;
  std::vector<double> owned;
  const std::vector<double>* scores = &owned;
  bool integral = true; // degrees and weights: written as integers
};

ranking_scores ranking_by(const request& q, const an::snapshot& snap) {
  ranking_scores r;
  r.by = q.query_value("by").value_or("pagerank");
  const an::digraph& g = snap.graph().graph();
  if (r.by == "pagerank") {
    r.scores = &snap.pagerank().scores;
    r.integral = false;
  } else if (r.by == "betweenness") {
    r.scores = &snap.betweenness().scores;
    r.integral = false;
  } else if (r.by == "in_weight") {
    r.owned = an::strengths(g, an::direction::in);
  } else if (r.by == "out_weight") {
    r.owned = an::strengths(g, an::direction::out);
  } else if (r.by == "in_degree") {
    r.owned = an::degrees(g, an::direction::in);
  } else {
    r.owned = an::degrees(g, an::direction::out);
  }
  return r;
}

// Before the slice is read: a bad `by` is the caller's error, not a cost.
void check_by(const request& q) {
  const std::string by = q.query_value("by").value_or("pagerank");
  static const char* const names[] = {"pagerank",  "in_weight",  "out_weight",
                                      "in_degree", "out_degree", "betweenness"};
  if (std::find(std::begin(names), std::end(names), by) == std::end(names))
    throw api_error(errc::invalid_argument,
                    "by must be one of pagerank, in_weight, out_weight, in_degree, out_degree, "
                    "betweenness");
}

// The algorithm's figures that say how far to trust a score.
void write_score_details(json_writer& w, const an::snapshot& snap, const std::string& by) {
  if (by == "pagerank") {
    const an::pagerank_result& p = snap.pagerank();
    const an::pagerank_provenance& info = snap.pagerank_info();
    const std::uint64_t now = util::now_seconds();
    const std::uint64_t updated = info.updated_at_ms / 1000;
    key(w, "pagerank");
    w.StartObject();
    key(w, "damping");
    w.Double(an::pagerank_options{}.damping);
    key(w, "tolerance");
    w.Double(an::pagerank_options{}.tolerance);
    key(w, "iterations");
    w.Uint(info.total_iterations);
    key(w, "converged");
    w.Bool(p.converged);
    key(w, "error_bound");
    w.Double(p.error_bound);
    key(w, "last_change");
    w.Double(p.last_change);
    key(w, "warm_start");
    w.Bool(info.warm_start);
    key(w, "refresh_iterations");
    w.Uint(info.max_iterations);
    key(w, "refreshes");
    w.Uint(info.refreshes);
    key(w, "updated_at");
    write_string(w, util::format_iso8601(static_cast<std::uint32_t>(updated)));
    key(w, "updated_age_seconds");
    w.Uint64(now > updated ? now - updated : 0);
    w.EndObject();
  } else if (by == "betweenness") {
    const auto& b = snap.betweenness();
    key(w, "betweenness");
    w.StartObject();
    key(w, "exact");
    w.Bool(b.exact);
    key(w, "sources");
    w.Uint64(b.sources);
    key(w, "error_bound");
    w.Double(b.epsilon);
    key(w, "confidence");
    w.Double(b.exact ? 1.0 : 1.0 - an::betweenness_options{}.delta);
    w.EndObject();
  }
}

void write_score(json_writer& w, const ranking_scores& r, std::uint32_t v) {
  key(w, "score");
  if (r.integral) w.Uint64(static_cast<std::uint64_t>((*r.scores)[v])); else w.Double((*r.scores)[v]);
}

response rankings(context& c, const request& q) {
  check_by(q);
  const std::size_t limit = uint_param(q, "limit", 1, 1000, 100);
  const slice s = parse_slice(q);
  const auto v = c.snapshot_for(s);
  const an::snapshot& snap = *v.snap;
  const ranking_scores r = ranking_by(q, snap);
  const std::string& by = r.by;
  const auto top = an::top_k(*r.scores, limit);

  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  key(w, "by");
  write_string(w, by);
  write_header(w, snap, v.cached);
  write_score_details(w, snap, by);
  key(w, "rankings");
  w.StartArray();
  std::uint64_t rank = 0;
  for (auto i : top) {
    w.StartObject();
    key(w, "rank");
    w.Uint64(++rank);
    write_account(w, snap.graph(), i);
    write_score(w, r, i);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return json_response(200, finish(sb));
}

// ---- /communities ---------------------------------------------------------------

struct partition_request {
  std::string algorithm;
  std::uint64_t seed = 0;
};

partition_request partition_params(const request& q) {
  partition_request p;
  p.algorithm = q.query_value("algorithm").value_or("louvain");
  if (p.algorithm != "louvain" && p.algorithm != "label_propagation")
    throw api_error(errc::invalid_argument, "algorithm must be louvain or label_propagation");
  p.seed = uint_param(q, "seed", 0, 999999999999999999ULL, 0);
  return p;
}

an::communities partition(const an::snapshot& snap, const partition_request& p) {
  return unwrap(p.algorithm == "louvain" ? snap.louvain(p.seed) : snap.label_propagation(p.seed));
}

void write_partition_header(json_writer& w, const partition_request& p, const an::communities& cs) {
  key(w, "algorithm");
  write_string(w, p.algorithm);
  key(w, "seed");
  w.Uint64(p.seed);
  key(w, "modularity");
  w.Double(cs.modularity);
  key(w, "count");
  w.Uint(cs.count);
}

response communities(context& c, const request& q) {
  const partition_request p = partition_params(q);
  const std::size_t limit = uint_param(q, "limit", 1, 10000, 1000);
  const std::size_t top = uint_param(q, "top", 1, 100, 10);
  const std::size_t listed = uint_param(q, "communities", 1, 1000, 100);
  std::optional<std::string> after;
  if (auto cur = q.query_value("cursor"); cur && !cur->empty()) {
    after = parse_community_cursor(*cur);
    if (!after) throw api_error(errc::invalid_argument, "cursor is not valid here");
  }
  const slice s = parse_slice(q);
  const auto v = c.snapshot_for(s);
  const an::snapshot& snap = *v.snap;
  const an::slice_graph& g = snap.graph();
  const an::communities cs = partition(snap, p);
  const std::uint32_t n = g.vertex_count();
  const std::uint32_t shown = static_cast<std::uint32_t>(std::min<std::size_t>(listed, cs.count));
  const auto& wd = snap.weighted_degrees();

  // Members of the listed communities, heaviest first within each.
  std::vector<std::uint32_t> order;
  std::vector<std::uint64_t> sizes(cs.count, 0);
  for (std::uint32_t i = 0; i < n; ++i) {
    ++sizes[cs.community[i]];
    if (cs.community[i] < shown) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    if (cs.community[a] != cs.community[b]) return cs.community[a] < cs.community[b];
    if (wd[a] != wd[b]) return wd[a] > wd[b];
    return a < b;
  });
  // Hashtag weight of the edges inside each listed community.
  std::vector<std::unordered_map<std::uint32_t, std::uint64_t>> tags(shown);
  for (const auto& e : g.edges()) {
    const auto k = cs.community[e.from];
    if (k >= shown || cs.community[e.to] != k) continue;
    for (auto t = e.tags_begin; t < e.tags_end; ++t) tags[k][g.edge_tags()[t]] += e.weight;
  }

  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  write_partition_header(w, p, cs);
  write_header(w, snap, v.cached);
  key(w, "communities");
  w.StartArray();
  std::size_t pos = 0;
  for (std::uint32_t k = 0; k < shown; ++k) {
    w.StartObject();
    key(w, "community");
    w.Uint(k);
    key(w, "size");
    w.Uint64(sizes[k]);
    key(w, "top_accounts");
    w.StartArray();
    std::size_t taken = 0;
    for (; pos < order.size() && cs.community[order[pos]] == k; ++pos) {
      if (taken++ >= top) continue;
      const auto i = order[pos];
      w.StartObject();
      write_account(w, g, i);
      key(w, "weighted_degree");
      w.Uint64(static_cast<std::uint64_t>(wd[i]));
      w.EndObject();
    }
    w.EndArray();
    std::vector<std::pair<std::uint32_t, std::uint64_t>> ts(tags[k].begin(), tags[k].end());
    std::sort(ts.begin(), ts.end(), [&](const auto& a, const auto& b) {
      if (a.second != b.second) return a.second > b.second;
      return g.hashtag(a.first) < g.hashtag(b.first);
    });
    if (ts.size() > top) ts.resize(top);
    key(w, "top_hashtags");
    w.StartArray();
    for (const auto& [t, weight] : ts) {
      w.StartObject();
      key(w, "hashtag");
      write_string(w, g.hashtag(t));
      key(w, "weight");
      w.Uint64(weight);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  // Every account's community, by id, paged.
  std::uint32_t first = 0;
  if (after) {
    const auto& ids = g.ids();
    first = static_cast<std::uint32_t>(std::upper_bound(ids.begin(), ids.end(), *after) - ids.begin());
  }
  const std::uint32_t end = static_cast<std::uint32_t>(std::min<std::uint64_t>(n, std::uint64_t{first} + limit));
  key(w, "accounts");
  w.StartArray();
  for (std::uint32_t i = first; i < end; ++i) {
    w.StartObject();
    key(w, "id");
    write_string(w, g.id(i));
    key(w, "community");
    w.Uint(cs.community[i]);
    w.EndObject();
  }
  w.EndArray();
  key(w, "next_cursor");
  if (end < n && end > first) write_string(w, community_cursor(g.id(end - 1))); else w.Null();
  w.EndObject();
  return json_response(200, finish(sb));
}

response vertex_community(context& c, const request& q) {
  const std::string& id = checked_id(q.param("id"));
  const partition_request p = partition_params(q);
  const slice s = parse_slice(q);
  const auto v = c.snapshot_for(s);
  const an::slice_graph& g = v.snap->graph();
  const auto i = g.index_of(id);
  if (i < 0) throw api_error(errc::vertex_not_found, "no account " + id + " in this slice");
  const an::communities cs = partition(*v.snap, p);
  const auto k = cs.community[static_cast<std::uint32_t>(i)];
  std::uint64_t size = 0;
  for (auto x : cs.community) size += x == k;
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  key(w, "id");
  write_string(w, id);
  key(w, "community");
  w.Uint(k);
  key(w, "size");
  w.Uint64(size);
  write_partition_header(w, p, cs);
  write_header(w, *v.snap, v.cached);
  w.EndObject();
  return json_response(200, finish(sb));
}

// ---- /graph ------------------------------------------------------------------

response graph(context& c, const request& q) {
  check_by(q);
  const std::size_t limit = uint_param(q, "limit", 1, 10000, 500);
  const slice s = parse_slice(q);
  const auto v = c.snapshot_for(s);
  const an::snapshot& snap = *v.snap;
  const an::slice_graph& g = snap.graph();
  const ranking_scores r = ranking_by(q, snap);
  const auto top = an::top_k(*r.scores, limit);

  // The background snapshot computed seed 0 before it was published; a
  // slice read now gets it up to --analytics-graph-communities vertices +
  // edges (about 0.4 s of CPU at the default, less than reading such a
  // slice from the store).
  const std::uint64_t size = std::uint64_t{g.vertex_count()} + g.edges().size();
  const bool with_communities = v.cached || size <= c.graph_communities;
  std::optional<an::communities> cs;
  if (with_communities) cs = unwrap(snap.louvain(0));

  // Position in the ranking of every kept account (0: not kept).
  std::vector<std::uint32_t> rank_of(g.vertex_count(), 0);
  for (std::size_t i = 0; i < top.size(); ++i) rank_of[top[i]] = static_cast<std::uint32_t>(i + 1);
  std::vector<std::uint32_t> kept_edges;
  const auto& edges = g.edges();
  for (std::size_t i = 0; i < edges.size(); ++i)
    if (rank_of[edges[i].from] != 0 && rank_of[edges[i].to] != 0)
      kept_edges.push_back(static_cast<std::uint32_t>(i));
  // By (from, to, kind): the order does not depend on how the store scans.
  std::sort(kept_edges.begin(), kept_edges.end(), [&](std::uint32_t a, std::uint32_t b) {
    return std::tie(edges[a].from, edges[a].to, edges[a].kind) <
           std::tie(edges[b].from, edges[b].to, edges[b].kind);
  });

  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  key(w, "by");
  write_string(w, r.by);
  key(w, "limit");
  w.Uint64(limit);
  key(w, "truncated");
  w.Bool(g.vertex_count() > limit);
  key(w, "accounts");
  w.Uint64(g.vertex_count());
  key(w, "slice_edges");
  w.Uint64(edges.size());
  const std::uint32_t now = util::now_seconds();
  key(w, "computed_at");
  write_string(w, util::format_iso8601(snap.computed_at()));
  key(w, "age_seconds");
  w.Uint64(now > snap.computed_at() ? now - snap.computed_at() : 0);
  const auto now_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  key(w, "age_ms");
  w.Uint64(now_ms > snap.computed_at_ms() ? now_ms - snap.computed_at_ms() : 0);
  key(w, "cached");
  w.Bool(v.cached);
  write_score_details(w, snap, r.by);
  key(w, "community");
  if (cs) {
    w.StartObject();
    key(w, "algorithm");
    w.String("louvain");
    key(w, "seed");
    w.Uint(0);
    key(w, "modularity");
    w.Double(cs->modularity);
    key(w, "count");
    w.Uint(cs->count);
    w.EndObject();
  } else {
    w.Null();
  }
  key(w, "nodes");
  w.StartArray();
  std::uint64_t rank = 0;
  for (auto i : top) {
    w.StartObject();
    write_account(w, g, i);
    key(w, "location");
    write_string(w, g.location(i));
    write_score(w, r, i);
    key(w, "rank");
    w.Uint64(++rank);
    key(w, "community");
    if (cs) w.Uint(cs->community[i]); else w.Null();
    w.EndObject();
  }
  w.EndArray();
  key(w, "edges");
  w.StartArray();
  for (auto i : kept_edges) {
    const auto& e = edges[i];
    w.StartObject();
    key(w, "from");
    write_string(w, g.id(e.from));
    key(w, "to");
    write_string(w, g.id(e.to));
    key(w, "kind");
    write_string(w, to_string(e.kind));
    key(w, "weight");
    w.Uint64(e.weight);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return json_response(200, finish(sb));
}

// ---- /vertices/{id}/ego -------------------------------------------------------

struct ego_node {
  std::string id;
  unsigned distance = 0;
  std::uint64_t weight = 0;
};

response ego(context& c, const request& q) {
  const std::string& center = checked_id(q.param("id"));
  const unsigned radius = static_cast<unsigned>(uint_param(q, "radius", 1, 2, 1));
  const std::size_t limit = uint_param(q, "limit", 1, 1000, 100);
  const slice s = parse_slice(q);
  graph_store& store = c.api.store;
  // The store filters the adjacency by the whole slice (kinds, hashtags,
  // times, weight, source platform), edge by edge as it reads it: the ego
  // network of the slice's graph, without a scan.
  auto adjacent = [&](const std::string& id, direction d) {
    neighbor_query nq;
    nq.dir = d;
    if (s.kinds.size() == 1) nq.kind = s.kinds.front();
    nq.where = s;
    nq.limit = 10000000; // every edge: the cut is ours, by weight over all kinds
    auto found = store.neighbors(id, nq);
    // An account deleted while the walk goes on has no edges left; only an
    // unknown centre is the caller's 404.
    if (!found && found.err().code == errc::vertex_not_found && id != center)
      return std::vector<neighbor>{};
    return unwrap(std::move(found));
  };
  auto heaviest = [](std::vector<ego_node>& ring) {
    std::sort(ring.begin(), ring.end(), [](const ego_node& a, const ego_node& b) {
      return a.weight != b.weight ? a.weight > b.weight : a.id < b.id;
    });
  };
  // Out-adjacency of every chosen account, for the edges among them.
  std::map<std::string, std::vector<neighbor>> out_lists;
  auto keep_out = [&](const std::string& id, const std::vector<neighbor>& both) {
    auto& o = out_lists[id];
    for (const auto& nb : both)
      if (nb.dir == direction::out) o.push_back(nb);
  };

  const auto around = adjacent(center, direction::both);
  keep_out(center, around);
  std::unordered_map<std::string, std::uint64_t> ring1_w;
  for (const auto& nb : around)
    if (nb.id != center) ring1_w[nb.id] += nb.weight;
  std::vector<ego_node> ring1;
  for (auto& [id, wt] : ring1_w) ring1.push_back(ego_node{id, 1, wt});
  heaviest(ring1);

  bool truncated = false;
  std::vector<ego_node> chosen{ego_node{center, 0, 0}};
  const std::size_t room1 = limit - 1;
  if (ring1.size() > room1) {
    truncated = true;
    ring1.resize(room1);
  }
  std::unordered_map<std::string, unsigned> in_set{{center, 0}};
  for (const auto& n : ring1) in_set.emplace(n.id, 1);
  // Ring 2 only when ring 1 left room for it: then ring-1 accounts are read
  // in both directions, else their out-edges suffice.
  const bool explore2 = radius == 2 && ring1.size() < room1;
  if (radius == 2 && !explore2) truncated = true;
  std::unordered_map<std::string, std::uint64_t> ring2_w;
  for (const auto& n : ring1) {
    chosen.push_back(n);
    const auto list = adjacent(n.id, explore2 ? direction::both : direction::out);
    keep_out(n.id, list);
    if (explore2)
      for (const auto& nb : list)
        if (!in_set.count(nb.id)) ring2_w[nb.id] += nb.weight;
  }
  if (explore2) {
    std::vector<ego_node> ring2;
    for (auto& [id, wt] : ring2_w) ring2.push_back(ego_node{id, 2, wt});
    heaviest(ring2);
    const std::size_t room2 = limit - chosen.size();
    if (ring2.size() > room2) {
      truncated = true;
      ring2.resize(room2);
    }
    for (const auto& n : ring2) in_set.emplace(n.id, 2);
    for (const auto& n : ring2) {
      chosen.push_back(n);
      keep_out(n.id, adjacent(n.id, direction::out));
    }
  }

  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  key(w, "id");
  write_string(w, center);
  key(w, "radius");
  w.Uint(radius);
  key(w, "nodes");
  w.StartArray();
  for (const auto& n : chosen) {
    auto vv = store.get_vertex(n.id);
    if (!vv && vv.err().code != errc::vertex_not_found) unwrap(std::move(vv));
    w.StartObject();
    key(w, "id");
    write_string(w, n.id);
    for (const char* field : {"handle", "name", "platform"}) {
      key(w, field);
      std::string text;
      if (vv) {
        auto it = vv->v.props.find(field);
        if (it != vv->v.props.end())
          if (const auto* str = std::get_if<std::string>(&it->second)) text = *str;
      }
      write_string(w, text);
    }
    key(w, "distance");
    w.Uint(n.distance);
    key(w, "weight");
    w.Uint64(n.weight);
    w.EndObject();
  }
  w.EndArray();
  key(w, "edges");
  w.StartArray();
  for (const auto& [from, list] : out_lists) {
    if (!in_set.count(from)) continue;
    std::vector<const neighbor*> kept;
    for (const auto& nb : list)
      if (in_set.count(nb.id)) kept.push_back(&nb);
    std::sort(kept.begin(), kept.end(), [](const neighbor* a, const neighbor* b) {
      return a->id != b->id ? a->id < b->id : a->kind < b->kind;
    });
    for (const auto* nb : kept) {
      w.StartObject();
      key(w, "from");
      write_string(w, from);
      key(w, "to");
      write_string(w, nb->id);
      key(w, "kind");
      write_string(w, to_string(nb->kind));
      key(w, "weight");
      w.Uint64(nb->weight);
      w.EndObject();
    }
  }
  w.EndArray();
  key(w, "truncated");
  w.Bool(truncated);
  w.EndObject();
  return json_response(200, finish(sb));
}

// ---- /search ------------------------------------------------------------------

bool key_after(const search_key& a, const search_key& b) { // a comes after b
  if (a.match != b.match) return a.match > b.match;
  if (a.weight != b.weight) return a.weight < b.weight;
  return a.id > b.id;
}

response search(context& c, const request& q) {
  const std::string raw = q.query_value("q").value_or("");
  const bool control = std::any_of(raw.begin(), raw.end(),
                                   [](char ch) { return static_cast<unsigned char>(ch) < 0x20; });
  if (raw.empty() || raw.size() > 256 || !is_valid_utf8(raw) || control)
    throw api_error(errc::invalid_argument,
                    "q is required: 1 to 256 bytes of UTF-8 without control characters");
  std::string needle = an::fold_for_search(raw);
  if (!needle.empty() && needle[0] == '@') needle.erase(0, 1);
  if (needle.empty()) throw api_error(errc::invalid_argument, "q must hold more than '@'");
  const std::size_t limit = uint_param(q, "limit", 1, 1000, 20);
  std::optional<search_key> after;
  if (auto cur = q.query_value("cursor"); cur && !cur->empty()) {
    after = parse_search_cursor(*cur);
    if (!after) throw api_error(errc::invalid_argument, "cursor is not valid here");
  }
  const auto v = c.snapshot_for(slice{});
  const an::snapshot& snap = *v.snap;
  const auto& wd = snap.weighted_degrees();
  const an::slice_graph& g = snap.graph();

  std::vector<std::pair<search_key, std::uint32_t>> hits;
  for (const auto& h : snap.search(needle)) {
    search_key k{h.match, static_cast<std::uint64_t>(wd[h.vertex]), g.id(h.vertex)};
    if (after && !key_after(k, *after)) continue;
    hits.emplace_back(std::move(k), h.vertex);
  }
  auto before = [](const auto& a, const auto& b) { return key_after(b.first, a.first); };
  const std::size_t take = std::min(hits.size(), limit);
  std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(take), hits.end(), before);

  static const char* const match_names[] = {"exact", "prefix", "substring"};
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  key(w, "q");
  write_string(w, raw);
  write_header(w, snap, v.cached);
  key(w, "results");
  w.StartArray();
  for (std::size_t r = 0; r < take; ++r) {
    w.StartObject();
    write_account(w, g, hits[r].second);
    key(w, "match");
    w.String(match_names[hits[r].first.match]);
    key(w, "weighted_degree");
    w.Uint64(hits[r].first.weight);
    w.EndObject();
  }
  w.EndArray();
  key(w, "next_cursor");
  if (hits.size() > take) write_string(w, search_cursor(hits[take - 1].first)); else w.Null();
  w.EndObject();
  return json_response(200, finish(sb));
}

// ---- /summary -------------------------------------------------------------------

void write_components(json_writer& w, const an::components& c) {
  w.StartObject();
  key(w, "count");
  w.Uint(c.count);
  key(w, "largest");
  w.Uint(c.largest);
  w.EndObject();
}

void write_bins(json_writer& w, const std::vector<an::degree_bin>& bins) {
  w.StartArray();
  for (const auto& b : bins) {
    w.StartObject();
    key(w, "lower");
    w.Uint64(b.lower);
    key(w, "upper");
    w.Uint64(b.upper);
    key(w, "count");
    w.Uint64(b.count);
    w.EndObject();
  }
  w.EndArray();
}

response summary(context& c, const request& q) {
  const std::size_t top = uint_param(q, "top", 1, 1000, 20);
  const slice s = parse_slice(q);
  const auto v = c.snapshot_for(s);
  const an::snapshot& snap = *v.snap;
  const an::slice_graph& g = snap.graph();
  const an::digraph& dg = g.graph();

  std::uint64_t total_weight = 0;
  std::vector<std::uint64_t> tag_weight(g.hashtag_count(), 0), tag_edges(g.hashtag_count(), 0);
  // Weight per hour at each edge's last_seen, clamped into the window.
  const std::uint32_t lo = s.since.empty() ? 0 : util::parse_iso8601(s.since).value_or(0);
  const std::uint32_t hi = s.until.empty() ? UINT32_MAX : util::parse_iso8601(s.until).value_or(UINT32_MAX);
  std::map<std::uint32_t, std::uint64_t> hours;
  std::uint64_t undated = 0;
  for (const auto& e : g.edges()) {
    total_weight += e.weight;
    for (auto t = e.tags_begin; t < e.tags_end; ++t) {
      tag_weight[g.edge_tags()[t]] += e.weight;
      ++tag_edges[g.edge_tags()[t]];
    }
    if (e.last_seen == 0) {
      undated += e.weight;
      continue;
    }
    const std::uint32_t at = std::min(std::max(e.last_seen, lo), hi);
    hours[at - at % 3600] += e.weight;
  }
  std::vector<std::uint32_t> tag_order(g.hashtag_count());
  std::iota(tag_order.begin(), tag_order.end(), 0u);
  std::sort(tag_order.begin(), tag_order.end(), [&](std::uint32_t a, std::uint32_t b) {
    if (tag_weight[a] != tag_weight[b]) return tag_weight[a] > tag_weight[b];
    return g.hashtag(a) < g.hashtag(b);
  });
  if (tag_order.size() > top) tag_order.resize(top);

  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  write_header(w, snap, v.cached);
  key(w, "arcs");
  w.Uint64(dg.arc_count());
  key(w, "total_weight");
  w.Uint64(total_weight);
  key(w, "density");
  w.Double(an::density(dg));
  key(w, "reciprocity");
  if (auto r = an::reciprocity(dg)) w.Double(*r); else w.Null();
  key(w, "components");
  w.StartObject();
  key(w, "weak");
  write_components(w, an::weakly_connected_components(dg));
  key(w, "strong");
  write_components(w, an::strongly_connected_components(dg));
  w.EndObject();
  key(w, "degree_distribution");
  w.StartObject();
  key(w, "in");
  write_bins(w, an::degree_distribution(dg, an::direction::in));
  key(w, "out");
  write_bins(w, an::degree_distribution(dg, an::direction::out));
  w.EndObject();
  key(w, "top_hashtags");
  w.StartArray();
  for (auto t : tag_order) {
    w.StartObject();
    key(w, "hashtag");
    write_string(w, g.hashtag(t));
    key(w, "weight");
    w.Uint64(tag_weight[t]);
    key(w, "edges");
    w.Uint64(tag_edges[t]);
    w.EndObject();
  }
  w.EndArray();
  key(w, "interactions_per_hour");
  w.StartArray();
  for (const auto& [hour, weight] : hours) {
    w.StartObject();
    key(w, "hour");
    write_string(w, util::format_iso8601(hour));
    key(w, "weight");
    w.Uint64(weight);
    w.EndObject();
  }
  w.EndArray();
  key(w, "undated_weight");
  w.Uint64(undated);
  w.EndObject();
  return json_response(200, finish(sb));
}

} // namespace

struct analytics_routes::impl {
  context ctx;
  impl(api_context& a, an::engine_options o) : ctx(a, std::move(o)) {}
};

analytics_routes::analytics_routes(api_context& ctx, analytics_settings settings) {
  an::engine_options o;
  o.max_elements = settings.max_elements;
  o.refresh_s = settings.refresh_s;
  o.refresh_changes = settings.refresh_changes;
  o.pagerank_refresh_iterations = settings.pagerank_refresh_iterations;
  o.pagerank_bound_arcs = settings.pagerank_bound_arcs;
  o.betweenness_max_work = settings.betweenness_work;
  o.changes = std::move(settings.changes);
  impl_ = std::make_unique<impl>(ctx, std::move(o));
  impl_->ctx.graph_communities = settings.graph_communities;
}

analytics_routes::~analytics_routes() { stop(); }

void analytics_routes::start() { impl_->ctx.engine.start(); }
void analytics_routes::stop() { impl_->ctx.engine.stop(); }

result<std::shared_ptr<const an::snapshot>> analytics_routes::view(const slice& s) {
  return impl_->ctx.engine.view(s);
}

std::shared_ptr<const an::snapshot> analytics_routes::published() {
  return impl_->ctx.engine.published();
}

void analytics_routes::add(router& r) {
  context* c = &impl_->ctx;
  route_options heavy;
  heavy.heavy = true;
  r.add_route("GET", "/rankings", [c](const request& q) { return rankings(*c, q); }, heavy);
  r.add_route("GET", "/communities", [c](const request& q) { return communities(*c, q); }, heavy);
  r.add_route("GET", "/vertices/{id}/community",
              [c](const request& q) { return vertex_community(*c, q); }, heavy);
  r.add_route("GET", "/graph", [c](const request& q) { return graph(*c, q); }, heavy);
  r.add_route("GET", "/vertices/{id}/ego", [c](const request& q) { return ego(*c, q); }, heavy);
  r.add_route("GET", "/search", [c](const request& q) { return search(*c, q); }, heavy);
  r.add_route("GET", "/summary", [c](const request& q) { return summary(*c, q); }, heavy);
}

} // namespace tlflow::api
