// GremlinStore: the graph_store port over a Gremlin database (TinkerPop
// Gremlin Server, JanusGraph, Azure Cosmos DB, Amazon Neptune), through the
// client in client.hpp and the script templates in scripts.hpp.
//
// Writes from ingestion (apply) are batched, many upserts per request, each
// request under max_request_bytes. When the server is unreachable or
// throttling past the client's retries, apply() queues the requests in a
// write_spool (on disk in <data_dir>/gremlin-queue unless ephemeral) and
// returns success; a background thread drains the queue in order when the
// server is back, also after a restart. Delivery of queued writes is
// at-least-once: a batch whose reply was lost may be applied twice.
// Reads and the API's single writes answer store_unavailable meanwhile.
//
// Thread safety: as graph_store (all methods, any thread).
#pragma once

#include <memory>
#include <string>

#include "tlflow/gremlin/client.hpp"
#include "store/gremlin/scripts.hpp"
#include "tlflow/config.hpp"
#include "tlflow/graph_store.hpp"

namespace tlflow {
class metrics_registry;
}

namespace tlflow::gremlin {

struct gremlin_store_options {
  client_options client;                 // url, user, password, pool, timeouts
  std::string dialect = "tinkerpop";     // tinkerpop | janusgraph | cosmos | neptune
  std::string partition_key = "pk";      // Cosmos DB partition key property
  std::string data_dir;                  // queue in <data_dir>/gremlin-queue; empty: in memory
  std::size_t max_queued_requests = 100000;
  std::size_t max_request_bytes = 60000; // script + bindings per batched request
  // tinkerpop/janusgraph: a request with more bindings than this sends them
  // as one map (pack_bindings in scripts.hpp); Gremlin Server's default
  // maxParameters is 16. 0: never pack.
  std::size_t max_bindings = gremlin_server_default_max_parameters;
  // Batch marker vertices kept at most (a ring; scripts.hpp, write_batch).
  std::uint32_t marker_slots = templates::default_marker_slots;
  std::chrono::milliseconds close_drain_timeout{5000}; // close() waits this long for the queue
  metrics_registry* metrics = nullptr;   // optional
};

// Options from the service configuration: --gremlin-url, --gremlin-dialect,
// --gremlin-user, TLFLOW_GREMLIN_PASSWORD, the partition key, --data-dir
// (unless --ephemeral).
gremlin_store_options options_from_config(const config& cfg);

class gremlin_store final : public graph_store {
public:
  // invalid_argument (bad url, dialect, partition key), io_error (queue dir).
  // Does not need the server to be up.
  static result<std::unique_ptr<gremlin_store>> open(const gremlin_store_options& opts);
  ~gremlin_store() override;

  std::string_view kind() const noexcept override { return "gremlin"; }
  result<vertex_view> get_vertex(std::string_view id) override;
  result<put_vertex_result> put_vertex(std::string_view id, const properties& set,
                                       const std::vector<std::string>& unset) override;
  result<removed_set> remove_vertex(std::string_view id) override;
  result<vertex_page> list_vertices(const vertex_query& q) override;
  result<std::uint64_t> count_vertices() override;
  result<std::vector<neighbor>> neighbors(std::string_view id, const neighbor_query& q) override;
  result<edge_page> list_edges(const edge_query& q) override;
  result<std::uint64_t> count_edges() override;
  result<add_edge_result> add_edge(const add_edge_request& req) override;
  result<removed_set> remove_edges(std::string_view from, std::string_view to,
                                   std::optional<edge_kind> kind) override;
  result<std::vector<std::string>> shortest_path(std::string_view from, std::string_view to,
                                                 const path_query& q) override;
  status restore(const removed_set& removed) override;
  status apply(const std::vector<interaction>& batch) override;
  result<std::vector<location_flow>> location_flows(std::size_t limit) override;
  std::uint64_t set_change_listener(change_listener* listener) override;
  store_health health() override;
  void close() override;

  // Waits until the write queue is empty or `timeout` passes; true if empty.
  bool drain(std::chrono::milliseconds timeout);
  std::size_t queued() const;

  struct impl;
private:
  explicit gremlin_store(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace tlflow::gremlin
