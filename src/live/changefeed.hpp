// live/changefeed.hpp — the changefeed hub (docs/live.md): the store's
// changes in commit order, kept in a bounded ring, fanned out to
// subscribers (GET /changes, /changes/ws, /gephi).
//
// The store calls on_changes under its write lock; that only appends to the
// ring and wakes the dispatcher, so a slow subscriber never slows a write.
// One dispatcher thread serves every subscriber: it reads the ring after
// the subscriber's cursor, filters, coalesces, formats and hands one piece
// to the subscriber's sink when the sink is ready for one. A subscriber's
// memory is its cursor, its filter and at most one piece.
//
// Thread safety: every public member may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tlflow/graph_store.hpp"
#include "util/metrics.hpp"

namespace tlflow::live {

// (seq, index): ordered as a pair; text "seq.index".
struct event_id {
  std::uint64_t seq = 0;
  std::uint32_t index = 0;
  friend bool operator<(const event_id& a, const event_id& b) {
    return a.seq != b.seq ? a.seq < b.seq : a.index < b.index;
  }
  friend bool operator==(const event_id& a, const event_id& b) {
    return a.seq == b.seq && a.index == b.index;
  }
  friend bool operator<=(const event_id& a, const event_id& b) { return !(b < a); }
  std::string str() const;
  // "S" (meaning S.max: everything of write S seen) or "S.N"; nullopt when malformed.
  static std::optional<event_id> parse(std::string_view text);
};

struct changefeed_options {
  std::size_t retention_events = 100000;
  unsigned retention_s = 300;
  unsigned coalesce_ms = 250;
  std::size_t subscriber_budget_bytes = 4 << 20;
  std::size_t max_subscribers = 1000;
  unsigned heartbeat_s = 15;
  unsigned stats_s = 10;                // 0: no stats events
};

// Which changes a subscriber wants. Edge events pass the slice. With an ego
// set (`around`, `radius`): the vertices within `radius` hops of `around`
// (either direction) when subscribing; an edge passes when both ends are in
// the set, or when one end is nearer than `radius`, which brings the other
// end in (the set grows as edges arrive, never shrinks). Vertex events
// pass for members of the set; under any filter, also for vertices that
// are ends of an edge delivered to this subscriber.
struct filter {
  slice s;
  std::string around;       // empty: no ego set
  unsigned radius = 1;      // 1 or 2
};

enum class wire { sse, ws, gephi };

// Where a subscriber's pieces go; called from the dispatcher thread.
class sink {
public:
  virtual ~sink() = default;
  // True when a piece may be handed over now.
  virtual bool ready() = 0;
  // Hands a piece over; `last`: the stream ends after it.
  virtual void put(std::string piece, bool last) = 0;
};

// Figures for `stats` events (read by the dispatcher).
struct stats_source {
  std::function<std::uint64_t()> posts;         // total so far
  std::function<std::uint64_t()> interactions;  // total so far
  std::function<std::uint64_t()> vertices;
  std::function<std::uint64_t()> edges;
};

// The node attributes GET /gephi adds from the whole-graph analytics
// (docs/live.md, "Gephi"): one published snapshot's PageRank score and
// Louvain community (seed 0) per account. A new object per snapshot: the
// hub tells snapshots apart by the object's address.
class node_attributes {
public:
  struct values {
    double pagerank = 0;
    std::uint32_t community = 0;
  };
  virtual ~node_attributes() = default;
  // nullopt when the snapshot does not hold `id`.
  virtual std::optional<values> of(const std::string& id) const = 0;
};
// The newest snapshot's attributes (null: none yet); cheap, called by the
// dispatcher about once a second while a Gephi stream is connected.
using attributes_source = std::function<std::shared_ptr<const node_attributes>()>;

class changefeed final : public change_listener {
public:
  changefeed(changefeed_options options, metrics_registry& metrics, stats_source stats = {});
  ~changefeed() override;
  changefeed(const changefeed&) = delete;
  changefeed& operator=(const changefeed&) = delete;

  // Where GET /gephi's pagerank and community come from (before attach()).
  void set_attributes(attributes_source source);
  // The current attributes (null: none, or no source).
  std::shared_ptr<const node_attributes> attributes() const;

  // Starts listening to `store` and the dispatcher; stop() ends both.
  void attach(graph_store& store);
  void stop();

  void on_changes(std::vector<change>& batch) override;

  class subscription;
  // nullptr when max_subscribers are connected. `after`: resume after this
  // id (older than the ring: a `reset` event first); nullopt: from now on.
  // `store` is read for the ego set.
  std::shared_ptr<subscription> subscribe(wire w, filter f, std::optional<event_id> after,
                                          std::shared_ptr<sink> out, graph_store* store);
  void unsubscribe(const std::shared_ptr<subscription>& s);
  // Replaces the filter (the WebSocket `subscribe` message).
  void refilter(const std::shared_ptr<subscription>& s, filter f, graph_store* store);
  // True when max_subscribers are connected.
  bool full() const;
  // The Gephi stream sent these vertices with the initial slice, with the
  // attributes of `attrs` (may be null).
  void know(const std::shared_ptr<subscription>& s, const std::vector<std::string>& ids,
            std::shared_ptr<const node_attributes> attrs);
  // The sink became ready (or went away): serve it soon.
  void wake();

  event_id newest() const;
  const changefeed_options& options() const noexcept { return options_; }

  struct impl;

private:
  std::unique_ptr<impl> impl_;
  changefeed_options options_;
};

// JSON of one change (the `data` of an event), e.g.
// {"id":"7.0","type":"edge_created","edge":{...}}.
std::string change_json(const change& c);
// Gephi graph-streaming lines of the current graph, for the initial slice.
// `a`: pagerank and community to add (an, cn); null: none.
std::string gephi_node(const vertex& v, std::string_view op,
                       const node_attributes::values* a = nullptr); // op "an" | "cn" | "dn"
// A `cn` line that sets only pagerank and community.
std::string gephi_attributes(const std::string& id, const node_attributes::values& a);
std::string gephi_edge(const edge& e, std::string_view op);   // op "ae" | "ce" | "de"
std::string gephi_edge_id(const edge_key& k);

} // namespace tlflow::live
