#include "store/memory/memory_store.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "store/memory/graph_core.hpp"
#include "store/memory/iso_time.hpp"
#include "util/log.hpp"
#include "util/metrics.hpp"

namespace tlflow {

std::optional<wal_fsync_policy> parse_wal_fsync_policy(std::string_view text) noexcept {
  if (text == "none") return wal_fsync_policy::none;
  if (text == "batch") return wal_fsync_policy::batch;
  if (text == "always") return wal_fsync_policy::always;
  return std::nullopt;
}

std::string_view to_string(wal_fsync_policy p) noexcept {
  switch (p) {
    case wal_fsync_policy::none: return "none";
    case wal_fsync_policy::batch: return "batch";
    case wal_fsync_policy::always: return "always";
  }
  return "batch";
}

namespace {

// Sizes read by the metrics registry; shared so that a gauge read after the
// store is gone stays harmless.
struct size_gauges {
  std::atomic<std::uint64_t> vertices{0};
  std::atomic<std::uint64_t> edges{0};
};

error invalid_id_error(std::string_view id, const std::string& why) {
  std::string shown(id.substr(0, 64));
  return error{errc::invalid_id, "invalid vertex id: " + why};
}

} // namespace

struct memory_store::impl {
  memory_store_options options;
  mutable std::shared_mutex mutex;
  mem::graph_core graph;
  std::shared_ptr<size_gauges> gauges = std::make_shared<size_gauges>();
  bool closed = false;

  void publish_sizes() {
    gauges->vertices.store(graph.vertex_count(), std::memory_order_relaxed);
    gauges->edges.store(graph.edge_count(), std::memory_order_relaxed);
  }
};

memory_store::memory_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

memory_store::~memory_store() {
  if (impl_ && !impl_->closed) close();
}

result<std::unique_ptr<memory_store>> memory_store::open(const memory_store_options& options) {
  auto p = std::make_unique<impl>();
  p->options = options;
  if (options.metrics) {
    std::weak_ptr<size_gauges> g = p->gauges;
    options.metrics->callback_gauge("tlflow_store_vertices", "Vertices in the graph store", [g] {
      auto s = g.lock();
      return s ? static_cast<double>(s->vertices.load(std::memory_order_relaxed)) : 0.0;
    });
    options.metrics->callback_gauge("tlflow_store_edges", "Edges in the graph store", [g] {
      auto s = g.lock();
      return s ? static_cast<double>(s->edges.load(std::memory_order_relaxed)) : 0.0;
    });
  }
  return std::unique_ptr<memory_store>(new memory_store(std::move(p)));
}

result<vertex_view> memory_store::get_vertex(std::string_view id) {
  std::shared_lock lock(impl_->mutex);
  const auto v = impl_->graph.find(id);
  if (!v) return error{errc::vertex_not_found, "no such vertex"};
  return impl_->graph.view(*v);
}

result<put_vertex_result> memory_store::put_vertex(std::string_view id, const properties& set,
                                                   const std::vector<std::string>& unset) {
  if (auto why = validate_vertex_id(id); !why.empty()) return invalid_id_error(id, why);
  std::unique_lock lock(impl_->mutex);
  auto r = impl_->graph.put_vertex(id, set, unset);
  impl_->publish_sizes();
  return r;
}

result<removed_set> memory_store::remove_vertex(std::string_view id) {
  std::unique_lock lock(impl_->mutex);
  const auto v = impl_->graph.find(id);
  if (!v) return error{errc::vertex_not_found, "no such vertex"};
  auto r = impl_->graph.remove_vertex(*v);
  impl_->publish_sizes();
  return r;
}

result<vertex_page> memory_store::list_vertices(const vertex_query& q) {
  std::shared_lock lock(impl_->mutex);
  return impl_->graph.list_vertices(q);
}

result<std::uint64_t> memory_store::count_vertices() {
  std::shared_lock lock(impl_->mutex);
  return impl_->graph.vertex_count();
}

result<std::vector<neighbor>> memory_store::neighbors(std::string_view id, const neighbor_query& q) {
  std::shared_lock lock(impl_->mutex);
  const auto v = impl_->graph.find(id);
  if (!v) return error{errc::vertex_not_found, "no such vertex"};
  return impl_->graph.neighbors(*v, q);
}

result<edge_page> memory_store::list_edges(const edge_query& q) {
  std::shared_lock lock(impl_->mutex);
  return impl_->graph.list_edges(q);
}

result<std::uint64_t> memory_store::count_edges() {
  std::shared_lock lock(impl_->mutex);
  return impl_->graph.edge_count();
}

result<add_edge_result> memory_store::add_edge(const add_edge_request& req) {
  if (auto why = validate_vertex_id(req.key.from); !why.empty())
    return invalid_id_error(req.key.from, why);
  if (auto why = validate_vertex_id(req.key.to); !why.empty())
    return invalid_id_error(req.key.to, why);
  std::uint32_t at = 0;
  if (req.at.empty()) {
    at = mem::now_seconds();
  } else if (auto t = mem::parse_iso8601(req.at)) {
    at = *t;
  } else {
    return error{errc::invalid_argument, "`at` is not an ISO-8601 time"};
  }
  std::unique_lock lock(impl_->mutex);
  auto r = impl_->graph.add_edge(req.key, req.props, at);
  impl_->publish_sizes();
  return r;
}

result<removed_set> memory_store::remove_edges(std::string_view from, std::string_view to,
                                               std::optional<edge_kind> kind) {
  std::unique_lock lock(impl_->mutex);
  auto r = impl_->graph.remove_edges(from, to, kind);
  if (r.edges.empty()) return error{errc::edge_not_found, "no such edge"};
  impl_->publish_sizes();
  return r;
}

result<std::vector<std::string>> memory_store::shortest_path(std::string_view from,
                                                             std::string_view to,
                                                             const path_query& q) {
  std::shared_lock lock(impl_->mutex);
  const auto a = impl_->graph.find(from);
  if (!a) return error{errc::vertex_not_found, "no such vertex: from"};
  const auto b = impl_->graph.find(to);
  if (!b) return error{errc::vertex_not_found, "no such vertex: to"};
  auto p = impl_->graph.shortest_path(*a, *b, q);
  if (!p) return error{errc::no_path, "no path within max_depth"};
  return std::move(*p);
}

status memory_store::restore(const removed_set& removed) {
  if (removed.removed_vertex)
    if (auto why = validate_vertex_id(removed.removed_vertex->id); !why.empty())
      return invalid_id_error(removed.removed_vertex->id, why);
  for (const auto& e : removed.edges) {
    if (auto why = validate_vertex_id(e.key.from); !why.empty()) return invalid_id_error(e.key.from, why);
    if (auto why = validate_vertex_id(e.key.to); !why.empty()) return invalid_id_error(e.key.to, why);
  }
  std::unique_lock lock(impl_->mutex);
  impl_->graph.restore(removed);
  impl_->publish_sizes();
  return ok_v;
}

status memory_store::apply(const std::vector<interaction>& batch) {
  std::vector<mem::timed_interaction> timed;
  timed.reserve(batch.size());
  std::uint32_t now = 0;
  std::size_t skipped = 0;
  for (const auto& x : batch) {
    if (!validate_vertex_id(x.from.id).empty() || !validate_vertex_id(x.to.id).empty()) {
      ++skipped;
      continue;
    }
    std::uint32_t at = 0;
    if (auto t = mem::parse_iso8601(x.at)) {
      at = *t;
    } else {
      if (now == 0) now = mem::now_seconds();
      at = now;
    }
    timed.push_back({&x, at});
  }
  if (skipped > 0) log::warn("memory_store", "apply: skipped ", skipped, " interaction(s) with an invalid id");
  if (timed.empty()) return ok_v;
  std::unique_lock lock(impl_->mutex);
  impl_->graph.apply(timed);
  impl_->publish_sizes();
  return ok_v;
}

result<std::vector<location_flow>> memory_store::location_flows(std::size_t limit) {
  std::shared_lock lock(impl_->mutex);
  return impl_->graph.location_flows(limit);
}

store_health memory_store::health() {
  store_health h;
  h.ok = true;
  h.detail = impl_->options.ephemeral ? "memory (ephemeral)" : "memory";
  return h;
}

void memory_store::close() {
  if (impl_->closed) return;
  impl_->closed = true;
}

status memory_store::snapshot() { return ok_v; }

memory_store::stats memory_store::statistics() {
  std::shared_lock lock(impl_->mutex);
  stats s;
  s.vertices = impl_->graph.vertex_count();
  s.edges = impl_->graph.edge_count();
  s.interned_strings = impl_->graph.interned_strings();
  return s;
}

} // namespace tlflow
