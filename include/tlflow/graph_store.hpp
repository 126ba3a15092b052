// tlflow/graph_store.hpp — the only storage interface the REST API and the
// ingestion pipeline see (docs/architecture.md, "Store contract").
//
// Implementations: MemoryStore (src/store/memory/, Boost.Graph, WAL +
// snapshot) and GremlinStore (src/store/gremlin/). Both pass the one contract
// suite in tests/support/graph_store_contract.hpp.
//
// Thread safety: every method may be called from any thread, concurrently
// with any other. Errors: every method returns `result`; the codes each one
// may produce are listed beside it. Any method may also return
// `store_unavailable` (the backend cannot be reached; reads fail, writes are
// queued by stores that can queue them) or `io_error`.
// Durability: when a mutating method returns success, the mutation survives
// a crash of the process (MemoryStore: it is in the write-ahead log; unless
// the store is ephemeral).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tlflow/error.hpp"
#include "tlflow/model.hpp"

namespace tlflow {

enum class direction : std::uint8_t { out, in, both };

struct vertex_query {
  std::size_t limit = 100;            // 1..1000, validated by the caller
  std::optional<std::string> after;   // resume after this id (exclusive)
  std::string prefix;                 // only ids starting with it
};

struct vertex_page {
  std::vector<vertex_view> vertices;  // ascending by id (byte order)
  std::optional<std::string> next_after; // set when more may follow
};

struct edge_query {
  std::optional<std::string> from;
  std::optional<std::string> to;
  std::optional<edge_kind> kind;
  std::size_t limit = 100;
  std::optional<edge_key> after;      // resume after this key (exclusive)
};

struct edge_page {
  std::vector<edge> edges;            // ascending by (from, to, kind)
  std::optional<edge_key> next_after;
};

// A sub-graph chosen by filters on edges: the one selection that analytics,
// exports and the changefeed share (docs/analytics.md, "Slices"). Every
// filter narrows; within one list any entry matches.
struct slice {
  std::vector<edge_kind> kinds;       // empty: every kind
  std::vector<std::string> hashtags;  // edges carrying any of them (lower-case, no '#')
  // Time window, canonical ISO-8601 UTC (YYYY-MM-DDTHH:MM:SSZ), empty: open.
  // An edge is in it when [first_seen, last_seen] overlaps [since, until].
  std::string since;
  std::string until;
  std::uint64_t min_weight = 0;       // edges with at least this weight
  std::vector<std::string> platforms; // edges whose source account is on one of them

  // No filter at all: the whole graph, accounts without edges included.
  // With any filter, a slice's accounts are the ends of its edges.
  bool whole_graph() const noexcept;
  // Every filter but platform, which is a property of the source account.
  bool admits(const edge& e) const;
  bool admits_platform(const vertex& source) const;
};

struct neighbor_query {
  direction dir = direction::both;
  std::optional<edge_kind> kind;
  std::size_t limit = 100;
  // Only the edges of this slice (slice::admits, and the platform of the
  // edge's source account, whichever end that is), before the limit; empty:
  // every edge. Lets an ego network take every slice filter without reading
  // each edge or account on its own.
  slice where;
};

// One adjacent edge seen from the queried vertex.
struct neighbor {
  std::string id;        // the vertex at the other end
  edge_kind kind;
  direction dir;         // out: queried -> id; in: id -> queried
  std::uint64_t weight;
};

struct path_query {
  bool directed = false;
  unsigned max_depth = 6;              // 1..32 (Cosmos DB's repeat cap)
  std::optional<edge_kind> kind;
  // Vertices the search may visit before it gives up with too_expensive;
  // 0: no budget. Enforced by the memory store (the Gremlin database bounds
  // a traversal with its own evaluation timeout instead).
  std::size_t max_visited = 0;
};

struct put_vertex_result {
  bool created = false;
  vertex_view vertex;
};

struct add_edge_request {
  edge_key key;
  properties props;                    // merged into the edge's properties
  std::string at;                      // ISO-8601; empty means now
};

struct add_edge_result {
  bool created = false;                // false: existing edge, weight + 1
  edge e;
};

// What a delete removed, exactly, so that undo can put it back.
struct removed_set {
  std::optional<vertex> removed_vertex;
  std::vector<edge> edges;
};

// Interaction weight between two locations (GET /flows).
struct location_flow {
  std::optional<std::string> from_location; // normalised; nullopt = unknown
  std::optional<std::string> to_location;
  std::uint64_t weight = 0;                 // sum of edge weights
  std::uint64_t edges = 0;
};

// Receives a slice streamed out of a store (graph_store::scan). An error
// returned stops the scan, and scan returns it (a cancelled export, a client
// gone away).
class scan_sink {
public:
  virtual ~scan_sink() = default;
  virtual status vertices(std::vector<vertex_view>& chunk) = 0;
  virtual status edges(std::vector<edge>& chunk) = 0;
};

struct store_health {
  bool ok = true;
  std::string detail;                  // for /status, never secrets
  std::uint64_t queued_writes = 0;     // writes waiting for the backend
  // What opening the store found and did (MemoryStore: log recovery), for
  // /status; empty when there is nothing to tell.
  std::vector<std::pair<std::string, std::uint64_t>> recovery;
};

// One change to the graph, as the changefeed (src/live, docs/live.md) sees
// it. Its id is (seq, index): `seq` names the store write that made it (the
// memory store: the write-ahead log's sequence number; the Gremlin store: a
// counter of this process), `index` its place among that write's changes.
enum class change_type : std::uint8_t {
  vertex_created, vertex_updated, vertex_removed, edge_created, edge_changed, edge_removed
};

struct change {
  change_type type = change_type::vertex_created;
  std::uint64_t seq = 0;
  std::uint32_t index = 0;
  vertex v;                     // vertex events: after the change (removed: before)
  edge e;                       // edge events: after the change (removed: before)
  std::string source_platform;  // edge events: the platform of e.key.from, if known
};

// Receives every write's changes, in commit order, on the writing thread
// while the store still holds its write lock: it must be quick and must not
// call the store.
class change_listener {
public:
  virtual ~change_listener() = default;
  virtual void on_changes(std::vector<change>& batch) = 0;
};

class graph_store {
public:
  virtual ~graph_store() = default;

  // "memory" or "gremlin".
  virtual std::string_view kind() const noexcept = 0;

  // vertex_not_found.
  virtual result<vertex_view> get_vertex(std::string_view id) = 0;

  // Upsert: creates the vertex if absent; merges `set` into its properties
  // and removes the keys in `unset`. invalid_id.
  virtual result<put_vertex_result> put_vertex(std::string_view id, const properties& set,
                                               const std::vector<std::string>& unset) = 0;

  // Removes the vertex and every edge touching it. vertex_not_found.
  virtual result<removed_set> remove_vertex(std::string_view id) = 0;

  virtual result<vertex_page> list_vertices(const vertex_query& q) = 0;
  virtual result<std::uint64_t> count_vertices() = 0;

  // Edges adjacent to `id`, heaviest first, then by id. vertex_not_found.
  virtual result<std::vector<neighbor>> neighbors(std::string_view id,
                                                  const neighbor_query& q) = 0;

  virtual result<edge_page> list_edges(const edge_query& q) = 0;
  virtual result<std::uint64_t> count_edges() = 0;

  // One manual interaction: creates missing endpoint vertices (bare), creates
  // the edge with weight 1 or adds 1 to an existing one. invalid_id.
  virtual result<add_edge_result> add_edge(const add_edge_request& req) = 0;

  // Removes the edges from -> to (one kind, or every kind). edge_not_found.
  virtual result<removed_set> remove_edges(std::string_view from, std::string_view to,
                                           std::optional<edge_kind> kind) = 0;

  // Fewest-hops path, ids from `from` to `to` inclusive.
  // vertex_not_found (either end), no_path (none within max_depth).
  virtual result<std::vector<std::string>> shortest_path(std::string_view from,
                                                         std::string_view to,
                                                         const path_query& q) = 0;

  // Puts back exactly what a delete removed: the vertex with its properties
  // (overwriting a re-created one) and every edge with its weight, hashtags
  // and times (overwriting an edge of the same key). Endpoints deleted since
  // are re-created bare.
  virtual status restore(const removed_set& removed) = 0;

  // Ingestion: upserts both accounts (non-empty fields overwrite, first_seen
  // and last_seen widen) and adds 1 to the weight of edge (from, to, kind)
  // per interaction, merging hashtags. The caller de-duplicates posts.
  virtual status apply(const std::vector<interaction>& batch) = 0;

  // Edge weight aggregated by the normalised locations of the endpoints,
  // heaviest first.
  virtual result<std::vector<location_flow>> location_flows(std::size_t limit) = 0;

  // Streams a slice: all its vertices in chunks, then all its edges, each
  // edge's two ends among the vertices handed over. While writes go on this
  // is not a point-in-time view: a vertex created during the scan may be
  // missing with its edges, and an edge has the weight it had when its chunk
  // was read. The default pages through list_vertices and list_edges and
  // holds the ids of the slice's vertices (memory grows with the slice, not
  // with the chunks); stores may do better.
  virtual status scan(const slice& s, scan_sink& sink);

  // Attaches the changefeed (nullptr detaches). Returns the `seq` of the
  // last write already in the store: changes after it are delivered. Called
  // at start-up, before any write. The default (a store that cannot tell its
  // changes) ignores the listener and returns 0.
  virtual std::uint64_t set_change_listener(change_listener* listener);

  virtual store_health health() = 0;

  // Makes everything acknowledged durable and releases resources (MemoryStore
  // writes a snapshot, GremlinStore drains its queue as far as it can).
  // Called once, on shutdown; no other call may follow.
  virtual void close() = 0;
};

// Normalises free-text location for flows: trimmed, inner whitespace
// collapsed to one space, ASCII lower-cased. Empty result = unknown.
std::string normalize_location(std::string_view text);

// The order every store returns flows in, then cut to `limit`: heaviest
// first; on equal weight more edges first; then by from, then to location
// (unknown after every known one).
void order_location_flows(std::vector<location_flow>& flows, std::size_t limit);

} // namespace tlflow
