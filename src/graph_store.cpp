// What graph_store gives every store: slices and the paged scan.
#include "tlflow/graph_store.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace tlflow {

bool slice::whole_graph() const noexcept {
  return kinds.empty() && hashtags.empty() && since.empty() && until.empty() &&
         min_weight == 0 && platforms.empty();
}

bool slice::admits(const edge& e) const {
  if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), e.key.kind) == kinds.end())
    return false;
  if (e.weight < min_weight) return false;
  // Canonical ISO-8601 strings order as the times they name.
  if (!since.empty() && e.last_seen < since) return false;
  if (!until.empty() && e.first_seen > until) return false;
  if (!hashtags.empty()) {
    const bool any = std::any_of(hashtags.begin(), hashtags.end(), [&](const std::string& t) {
      return std::binary_search(e.hashtags.begin(), e.hashtags.end(), t);
    });
    if (!any) return false;
  }
  return true;
}

bool slice::admits_platform(const vertex& source) const {
  if (platforms.empty()) return true;
  auto it = source.props.find("platform");
  if (it == source.props.end()) return false;
  const auto* p = std::get_if<std::string>(&it->second);
  return p && std::find(platforms.begin(), platforms.end(), *p) != platforms.end();
}

namespace {

constexpr std::size_t scan_page = 1000;

// Every vertex of the store, page by page.
template <class F>
status each_vertex_page(graph_store& store, F&& f) {
  vertex_query q;
  q.limit = scan_page;
  for (;;) {
    auto page = store.list_vertices(q);
    if (!page) return std::move(page).err();
    if (auto st = f(page->vertices); !st) return st;
    if (!page->next_after) return ok_v;
    q.after = std::move(page->next_after);
  }
}

// Every edge the slice admits (platform aside), page by page.
template <class F>
status each_edge_page(graph_store& store, const slice& s, F&& f) {
  edge_query q;
  q.limit = scan_page;
  if (s.kinds.size() == 1) q.kind = s.kinds.front();
  for (;;) {
    auto page = store.list_edges(q);
    if (!page) return std::move(page).err();
    auto& es = page->edges;
    es.erase(std::remove_if(es.begin(), es.end(), [&](const edge& e) { return !s.admits(e); }),
             es.end());
    if (auto st = f(es); !st) return st;
    if (!page->next_after) return ok_v;
    q.after = std::move(page->next_after);
  }
}

} // namespace

status graph_store::scan(const slice& s, scan_sink& sink) {
  // Source platform per id, only when the slice filters on it.
  std::unordered_map<std::string, bool> platform_ok;
  auto admitted = [&](const edge& e) {
    if (s.platforms.empty()) return true;
    auto it = platform_ok.find(e.key.from);
    return it != platform_ok.end() && it->second;
  };
  std::unordered_set<std::string> members;

  if (s.whole_graph()) {
    auto st = each_vertex_page(*this, [&](std::vector<vertex_view>& vs) -> status {
      for (const auto& v : vs) members.insert(v.v.id);
      return sink.vertices(vs);
    });
    if (!st) return st;
  } else {
    if (!s.platforms.empty()) {
      auto st = each_vertex_page(*this, [&](std::vector<vertex_view>& vs) -> status {
        for (const auto& v : vs) platform_ok.emplace(v.v.id, s.admits_platform(v.v));
        return ok_v;
      });
      if (!st) return st;
    }
    // The slice's vertices are the ends of its edges.
    auto st = each_edge_page(*this, s, [&](std::vector<edge>& es) -> status {
      for (const auto& e : es) {
        if (!admitted(e)) continue;
        members.insert(e.key.from);
        members.insert(e.key.to);
      }
      return ok_v;
    });
    if (!st) return st;
    std::unordered_set<std::string> sent;
    st = each_vertex_page(*this, [&](std::vector<vertex_view>& vs) -> status {
      vs.erase(std::remove_if(vs.begin(), vs.end(),
                              [&](const vertex_view& v) { return members.count(v.v.id) == 0; }),
               vs.end());
      for (const auto& v : vs) sent.insert(v.v.id);
      return vs.empty() ? status(ok_v) : sink.vertices(vs);
    });
    if (!st) return st;
    members = std::move(sent); // a vertex removed meanwhile was not sent
  }

  return each_edge_page(*this, s, [&](std::vector<edge>& es) -> status {
    es.erase(std::remove_if(es.begin(), es.end(),
                            [&](const edge& e) {
                              return !admitted(e) || members.count(e.key.from) == 0 ||
                                     members.count(e.key.to) == 0;
                            }),
             es.end());
    return es.empty() ? status(ok_v) : sink.edges(es);
  });
}

std::uint64_t graph_store::set_change_listener(change_listener*) { return 0; }

} // namespace tlflow
