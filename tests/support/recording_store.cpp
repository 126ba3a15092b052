#include "recording_store.hpp"

#include <sstream>
#include <thread>

namespace tlflow::test {

namespace {
error unsupported() { return error{errc::internal, "not supported by recording_store"}; }

std::vector<std::string> dump_of(const std::map<edge_key, recording_store::edge_agg>& edges) {
  std::vector<std::string> out;
  for (const auto& [k, e] : edges) {
    std::ostringstream os;
    os << k.from << " -" << to_string(k.kind) << "-> " << k.to << " x" << e.weight << " [";
    bool first = true;
    for (const auto& h : e.hashtags) {
      if (!first) os << ',';
      first = false;
      os << h;
    }
    os << ']';
    out.push_back(os.str());
  }
  return out;
}
} // namespace

status recording_store::apply(const std::vector<interaction>& batch) {
  if (apply_delay.count() > 0) std::this_thread::sleep_for(apply_delay);
  if (fail_next.load() > 0) {
    --fail_next;
    return error{errc::store_unavailable, "injected failure"};
  }
  std::lock_guard<std::mutex> lock(mutex_);
  ++applies_;
  for (const auto& i : batch) {
    auto& e = edges_[edge_key{i.from.id, i.to.id, i.kind}];
    ++e.weight;
    e.hashtags.insert(i.hashtags.begin(), i.hashtags.end());
    vertices_.insert(i.from.id);
    vertices_.insert(i.to.id);
    ++interactions_;
  }
  return ok_v;
}

std::map<edge_key, recording_store::edge_agg> recording_store::edges() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return edges_;
}
std::set<std::string> recording_store::vertices() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return vertices_;
}
std::uint64_t recording_store::total_weight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::uint64_t w = 0;
  for (const auto& [k, e] : edges_) w += e.weight;
  return w;
}
std::uint64_t recording_store::applies() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return applies_;
}
std::uint64_t recording_store::interactions() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return interactions_;
}
std::vector<std::string> recording_store::dump() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dump_of(edges_);
}

std::vector<std::string> expected_dump(const std::vector<interaction>& all) {
  std::map<edge_key, recording_store::edge_agg> edges;
  for (const auto& i : all) {
    auto& e = edges[edge_key{i.from.id, i.to.id, i.kind}];
    ++e.weight;
    e.hashtags.insert(i.hashtags.begin(), i.hashtags.end());
  }
  return dump_of(edges);
}

result<vertex_view> recording_store::get_vertex(std::string_view) { return unsupported(); }
result<put_vertex_result> recording_store::put_vertex(std::string_view, const properties&,
                                                      const std::vector<std::string>&) {
  return unsupported();
}
result<removed_set> recording_store::remove_vertex(std::string_view) { return unsupported(); }
result<vertex_page> recording_store::list_vertices(const vertex_query&) { return unsupported(); }
result<std::uint64_t> recording_store::count_vertices() {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<std::uint64_t>(vertices_.size());
}
result<std::vector<neighbor>> recording_store::neighbors(std::string_view, const neighbor_query&) {
  return unsupported();
}
result<edge_page> recording_store::list_edges(const edge_query&) { return unsupported(); }
result<std::uint64_t> recording_store::count_edges() {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<std::uint64_t>(edges_.size());
}
result<add_edge_result> recording_store::add_edge(const add_edge_request&) { return unsupported(); }
result<removed_set> recording_store::remove_edges(std::string_view, std::string_view,
                                                  std::optional<edge_kind>) {
  return unsupported();
}
result<std::vector<std::string>> recording_store::shortest_path(std::string_view, std::string_view,
                                                                const path_query&) {
  return unsupported();
}
status recording_store::restore(const removed_set&) { return unsupported(); }
result<std::vector<location_flow>> recording_store::location_flows(std::size_t) {
  return unsupported();
}

} // namespace tlflow::test
