// GremlinStore's script templates: the only Gremlin text tlflow sends.
//
// Every template is fixed text whose variables are binding names starting
// with `b_` (b_vid, b_k0, ...); user data travels only in the bindings. A
// template's text depends on the shape of a call (how many properties, which
// optional filters), never on its values. For Neptune, which accepts no
// bindings, inline_bindings() replaces each b_ name by a literal written by
// gremlin_string_literal() (escape.hpp) — the one place values enter text.
//
// Graph layout: vertices labelled 'account' with the tlflow id in property
// 'vid' (Cosmos DB: also the element id and the partition key property),
// and batch markers: vertices labelled 'batch', at most marker_slots of them
// (a ring, see write_batch);
// one edge per (from, to, kind) labelled with the kind, with 'weight' (long),
// 'kr' (kind rank, for ordering), 'first_seen', 'last_seen', one property
// 'ht_<tag>' = true per hashtag, and user properties (keys encoded by
// encode_vertex_key / encode_edge_key so they never collide with these).
//
// The test server (tests/support/gremlin_graph_evaluator.cpp) recognises
// exactly these texts; keep both in step.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tlflow/gremlin/graphson.hpp"
#include "tlflow/error.hpp"
#include "tlflow/graph_store.hpp"

namespace tlflow::gremlin {

enum class dialect { tinkerpop, janusgraph, cosmos, neptune };
std::optional<dialect> parse_dialect(std::string_view text);
std::string_view to_string(dialect d) noexcept;

// Stored property keys: user keys that would collide with the layout get a
// "u_" prefix (as do keys already starting with "u_"), reversibly.
std::string encode_vertex_key(std::string_view key, std::string_view partition_key);
std::string encode_edge_key(std::string_view key);
// nullopt: an internal key (vid, pk, weight, ht_..., ...), not a user property.
std::optional<std::string> decode_vertex_key(std::string_view stored, std::string_view partition_key);
std::optional<std::string> decode_edge_key(std::string_view stored);
int kind_rank(edge_kind k) noexcept;

// One upsert of a batched apply(): an account, or an increment of an
// aggregated edge. Empty strings are "not set" (an account's properties
// stay as they are; an account without first/last has no time).
struct batch_item {
  bool is_edge = false;
  std::string id, platform, handle, name, location;  // account
  std::string from, to, kind;                         // edge
  std::int64_t rank = 0, increment = 0;               // edge: kind_rank, weight added
  std::vector<std::string> hashtag_keys;              // edge: stored keys "ht_<tag>"
  std::string first, last;                            // first / last seen
  friend bool operator==(const batch_item& a, const batch_item& b);
};

// The items of one batch request and its id. The request applies its items
// only if its marker (the vertex label 'batch', vid "tlflow-batch:<slot>",
// with property 'bid' = its id) is not there, and writes that marker in the
// same request: a batch re-sent after its reply was lost (queued, replayed
// after a restart) adds nothing twice. The slot is the id's hash modulo the
// number of slots, so the markers are a ring of at most that many vertices:
// a later batch of the same slot overwrites 'bid'. A marker is needed only
// until its request's success is known, and a request whose reply was lost
// is replayed before any later batch of the same store (docs/gremlin.md,
// "No loss"); so a slot is overwritten in that window only by another
// writer of the same graph, with probability (its batches meanwhile) /
// slots.
struct write_batch {
  std::string id;                 // random UUID
  std::vector<batch_item> items;
  std::string marker;             // read_batch: the marker's vid (batch() computes it)
  friend bool operator==(const write_batch& a, const write_batch& b) {
    return a.id == b.id && a.items == b.items;
  }
};

// A script and its bindings, ready to send (or to queue).
struct script_request {
  std::string script;
  graphson::value bindings = graphson::value::object();
};

class templates {
public:
  // marker_slots: how many batch marker vertices at most (write_batch).
  static constexpr std::uint32_t default_marker_slots = 65536;
  templates(dialect d, std::string partition_key, std::uint32_t marker_slots = default_marker_slots);
  // The marker's vid of batch `id`: "tlflow-batch:<slot>".
  std::string marker_vid(std::string_view id) const;

  dialect dialect_of() const noexcept { return d_; }
  bool uses_bindings() const noexcept { return d_ != dialect::neptune; }

  std::string get_vertex() const;                                   // b_vid
  std::string vertex_exists() const;                                // b_vid
  std::string put_vertex(std::size_t n_set, std::size_t n_unset) const; // b_vid b_k<i> b_v<i> b_u<i>
  std::string remove_vertex() const;                                // b_vid
  std::string list_vertices() const;                                // b_after b_prefix b_limit
  std::string count_vertices() const;
  std::string count_edges() const;
  std::string neighbors(bool out, bool kind) const;                 // b_vid b_kind b_limit
  // Every adjacent edge, whole (as list_edges projects it) with its source's
  // platform ('s', a valueMap): for neighbors() with a slice filter.
  std::string neighbor_edges(bool out, bool kind) const;            // b_vid b_kind
  std::string list_edges(bool from, bool to, bool kind, bool after) const; // b_from b_to b_kind b_af b_at b_ar b_limit
  std::string add_edge(std::size_t n_props) const;                  // b_from b_to b_kind b_kr b_at b_one b_zero b_k<i> b_v<i>
  std::string remove_edges(bool kind) const;                        // b_from b_to b_kind
  std::string shortest_path(bool directed, bool kind) const;        // b_from b_to b_kind b_depth
  std::string restore_vertex(std::size_t n_props) const;            // b_vid b_k<i> b_v<i>
  std::string restore_edge(std::size_t n_props) const;              // b_from b_to b_kind b_kr b_w b_fs b_ls b_k<i> b_v<i>
  std::string location_flows() const;

  // Many upserts in one request. tinkerpop/janusgraph (Groovy engines): one
  // constant script (groovy_batch) looping over one list binding b_items,
  // so the server compiles it once. cosmos/neptune (no Groovy): one
  // traversal g.inject(0).not(marker).sideEffect(...)... whose text depends
  // on the items' shapes (which properties are set, how many hashtags),
  // never on their values. Accounts must come before the edges that need
  // them (earlier in the same batch, or in an earlier batch).
  script_request batch(const write_batch& b) const;
  // Upper bound of what an item adds to a batch request, in bytes: its
  // values with JSON escaping, and for cosmos/neptune its traversal text;
  // and of a batch request without items (script, marker, envelope).
  std::size_t request_bytes(const batch_item& item) const;
  std::size_t request_bytes_base() const;
  // The inverse: the items of a batch request, or invalid_argument when the
  // text is not one batch() writes. The test server runs batches with it.
  result<write_batch> read_batch(std::string_view script, const graphson::value& bindings) const;
  static std::string groovy_batch();

private:
  std::string vstart(std::string_view tok) const;
  std::string vmid(std::string_view tok) const;
  std::string new_vertex(std::string_view tok) const;
  std::string upsert_mid(std::string_view tok) const;
  std::string upsert_next(std::string_view tok) const;
  std::string vprop(std::string_view k, std::string_view v) const;
  std::string keep_keys() const;
  std::string batch_text(const std::vector<batch_item>& items) const;
  script_request groovy_request(const write_batch& b) const;
  script_request traversal_request(const write_batch& b) const;

  dialect d_;
  std::string pk_;       // Cosmos DB partition key property name
  std::string pk_lit_;   // as a quoted literal
  std::uint32_t marker_slots_;
};

// Bindings by name, for a look-up per name (batched writes carry thousands):
// the string keys of a map or object. Points into `bindings`.
class binding_index {
public:
  explicit binding_index(const graphson::value& bindings);
  const graphson::value* get(std::string_view name) const;

private:
  std::unordered_map<std::string_view, const graphson::value*> by_name_;
};

// Replaces each b_ name outside quoted strings by the literal of its binding
// (strings via gremlin_string_literal, longs as 12L, doubles as 1.5d,
// booleans). invalid_argument if a name has no binding.
result<std::string> inline_bindings(std::string_view script, const graphson::value& bindings);

// Gremlin Server (and JanusGraph) refuse an eval with more bindings than the
// StandardOpProcessor's maxParameters (default 16) with a 499. A Groovy
// script can read them from one map instead: pack_bindings turns each b_ name
// outside quoted strings into bb.b_name and returns {"bb": bindings}; the
// text still depends only on the shape, so the server's script cache works.
// unpack_bindings is its inverse (the test server uses it).
script_request pack_bindings(std::string_view script, const graphson::value& bindings);
script_request unpack_bindings(std::string_view script, const graphson::value& bindings);
constexpr std::size_t gremlin_server_default_max_parameters = 16;

} // namespace tlflow::gremlin
