// tlflow/model.hpp — the value types of the graph (docs/architecture.md,
// "Graph model").
//
// A vertex is an account, id `<platform>:<account id>` (or any 1–256 byte
// UTF-8 string without control characters when added by hand). An edge is the
// aggregate of all interactions of one kind from one account to another:
// one edge per (from, to, kind). These types are plain values: no I/O, no
// locking, freely copied between threads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tlflow {

// A property value is a JSON scalar. Vertices carry the well-known keys
// platform, handle, name, location, first_seen, last_seen (strings) and any
// others a user PUTs.
using property_value = std::variant<std::string, std::int64_t, double, bool>;
using properties = std::map<std::string, property_value, std::less<>>;

enum class edge_kind : std::uint8_t { mention, reply, repost, quote, link };
inline constexpr edge_kind all_edge_kinds[] = {edge_kind::mention, edge_kind::reply,
                                               edge_kind::repost, edge_kind::quote,
                                               edge_kind::link};
std::string_view to_string(edge_kind kind) noexcept;
std::optional<edge_kind> parse_edge_kind(std::string_view text) noexcept;

// Validation of a vertex id (docs/architecture.md, "Graph model"): 1–256
// bytes, valid UTF-8, no control characters (C0, DEL, C1). Returns an empty
// string when valid, else the reason for a person.
std::string validate_vertex_id(std::string_view id);
bool is_valid_utf8(std::string_view text) noexcept;

struct vertex {
  std::string id;
  properties props;
};

// A vertex as the API shows it: with its degrees (edges, not weights).
struct vertex_view {
  vertex v;
  std::uint64_t in_degree = 0;
  std::uint64_t out_degree = 0;
};

struct edge_key {
  std::string from;
  std::string to;
  edge_kind kind = edge_kind::link;
  friend bool operator<(const edge_key& a, const edge_key& b) {
    if (a.from != b.from) return a.from < b.from;
    if (a.to != b.to) return a.to < b.to;
    return a.kind < b.kind;
  }
  friend bool operator==(const edge_key& a, const edge_key& b) {
    return a.from == b.from && a.to == b.to && a.kind == b.kind;
  }
};

struct edge {
  edge_key key;
  std::uint64_t weight = 1;            // distinct posts that produced it
  std::vector<std::string> hashtags;   // sorted, unique, lower-case, no '#'
  std::string first_seen;              // ISO-8601 UTC, e.g. 2026-11-22T06:55:14Z
  std::string last_seen;
  properties props;                    // extra user properties (POST /edges)
};

// An account as an extractor saw it on one post. Empty strings are unknown
// and never overwrite a known value.
struct account {
  std::string id;        // vertex id, e.g. "twitter:2244994945"
  std::string platform;  // "twitter", "mastodon", "bluesky"
  std::string handle;
  std::string name;
  std::string location;
};

// One interaction read off one post: `from` acted upon `to`.
// An extractor emits at most one interaction per (post_id, to, kind).
struct interaction {
  std::string post_id;   // "<platform>:<post id>": the de-duplication key
  account from;
  account to;
  edge_kind kind = edge_kind::mention;
  std::vector<std::string> hashtags; // tracked-or-not, lower-case, no '#'
  std::string at;        // ISO-8601 UTC time of the post
};

// Current UTC time as ISO-8601 with seconds, `YYYY-MM-DDTHH:MM:SSZ`.
std::string now_iso8601();

} // namespace tlflow
