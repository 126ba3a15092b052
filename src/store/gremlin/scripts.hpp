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
// 'vid' (Cosmos DB: also the element id and the partition key property);
// one edge per (from, to, kind) labelled with the kind, with 'weight' (long),
// 'kr' (kind rank, for ordering), 'first_seen', 'last_seen', one property
// 'ht_<tag>' = true per hashtag, and user properties (keys encoded by
// encode_vertex_key / encode_edge_key so they never collide with these).
//
// The test server (tests/support/gremlin_graph_evaluator.cpp) recognises
// exactly these texts; keep both in step.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/gremlin/graphson.hpp"
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

// One item of a batched apply(): an account upsert or an edge increment.
struct batch_shape {
  bool is_edge = false;
  // account: which of platform, handle, name, location are set; has_time
  bool platform = false, handle = false, name = false, location = false, has_time = false;
  std::size_t hashtags = 0; // edge
};

class templates {
public:
  templates(dialect d, std::string partition_key);

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
  std::string list_edges(bool from, bool to, bool kind, bool after) const; // b_from b_to b_kind b_af b_at b_ar b_limit
  std::string add_edge(std::size_t n_props) const;                  // b_from b_to b_kind b_kr b_at b_one b_zero b_k<i> b_v<i>
  std::string remove_edges(bool kind) const;                        // b_from b_to b_kind
  std::string shortest_path(bool directed, bool kind) const;        // b_from b_to b_kind b_depth
  std::string restore_vertex(std::size_t n_props) const;            // b_vid b_k<i> b_v<i>
  std::string restore_edge(std::size_t n_props) const;              // b_from b_to b_kind b_kr b_w b_fs b_ls b_k<i> b_v<i>
  std::string apply_batch(const std::vector<batch_shape>& items) const; // see scripts.cpp
  std::string location_flows() const;
  // tinkerpop/janusgraph (Groovy engines): the same batch as apply_batch, but
  // one constant script that loops over one list binding b_items, so the
  // server compiles it once (apply_batch's text changes with every batch's
  // shape, and compiling a 60 KB Groovy script costs a real server ~0.5 s).
  // Bindings: batch_to_groovy(apply_batch's bindings).
  static std::string groovy_batch();

private:
  std::string vstart(std::string_view tok) const;
  std::string vmid(std::string_view tok) const;
  std::string new_vertex(std::string_view tok) const;
  std::string upsert_mid(std::string_view tok) const;
  std::string upsert_next(std::string_view tok) const;
  std::string vprop(std::string_view k, std::string_view v) const;
  std::string keep_keys() const;

  dialect d_;
  std::string pk_;       // Cosmos DB partition key property name
  std::string pk_lit_;   // as a quoted literal
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
struct packed_request {
  std::string script;
  graphson::value bindings;
};
packed_request pack_bindings(std::string_view script, const graphson::value& bindings);
packed_request unpack_bindings(std::string_view script, const graphson::value& bindings);
constexpr std::size_t gremlin_server_default_max_parameters = 16;

// apply_batch's bindings (b_a<i>..., b_f<i>..., b_zero) as groovy_batch's
// {b_items: [item, ...]}: an account {a, p?, h?, n?, l?, s?, e?}, an edge
// {f, t, k, r, w, s, e, h: [hashtag keys]}. batch_from_groovy is the inverse
// (the test server uses it), with the shapes apply_batch needs.
graphson::value batch_to_groovy(const graphson::value& bindings);
struct unpacked_batch {
  graphson::value bindings;
  std::vector<batch_shape> shapes;
};
result<unpacked_batch> batch_from_groovy(const graphson::value& bindings);

} // namespace tlflow::gremlin
