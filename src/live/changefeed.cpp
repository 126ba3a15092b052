#include "live/changefeed.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "util/log.hpp"
#include "util/thread.hpp"

namespace tlflow::live {

namespace {

using clock = std::chrono::steady_clock;
using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr std::size_t chunk_cap = 256 << 10;      // one piece, in normal times
constexpr std::size_t ws_round = 256;             // WebSocket messages per round (its queue holds 1024)
constexpr std::size_t max_known_ends = 100000;    // vertices a filtered subscriber remembers
constexpr std::size_t max_ego = 10000;            // ego set size

void str(json_writer& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

void write_props(json_writer& w, const properties& p) {
  w.StartObject();
  for (const auto& [k, v] : p) {
    str(w, k);
    std::visit([&](const auto& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, std::string>) str(w, x);
      else if constexpr (std::is_same_v<T, std::int64_t>) w.Int64(x);
      else if constexpr (std::is_same_v<T, double>) w.Double(x);
      else w.Bool(x);
    }, v);
  }
  w.EndObject();
}

std::string_view type_name(change_type t) {
  switch (t) {
  case change_type::vertex_created: return "vertex_created";
  case change_type::vertex_updated: return "vertex_updated";
  case change_type::vertex_removed: return "vertex_removed";
  case change_type::edge_created: return "edge_created";
  case change_type::edge_changed: return "edge_changed";
  case change_type::edge_removed: return "edge_removed";
  }
  return "unknown";
}

bool is_edge(change_type t) {
  return t == change_type::edge_created || t == change_type::edge_changed || t == change_type::edge_removed;
}

// Does the slice admit this edge change? Every filter, the platform of the
// edge's source account included (the change carries it).
bool admits_edge(const slice& s, const change& c) {
  return s.admits(c.e) &&
         (s.platforms.empty() || std::find(s.platforms.begin(), s.platforms.end(), c.source_platform) != s.platforms.end());
}

std::string prop_string(const properties& p, std::string_view key) {
  auto it = p.find(key);
  if (it == p.end()) return {};
  if (const auto* s = std::get_if<std::string>(&it->second)) return *s;
  return {};
}

// An edge's key by view (the strings of a record the caller holds): the
// coalescing maps, without copying ids.
struct key_view {
  std::string_view from, to;
  edge_kind kind;
  bool operator==(const key_view& o) const { return kind == o.kind && from == o.from && to == o.to; }
};
struct key_view_hash {
  std::size_t operator()(const key_view& k) const {
    const std::size_t a = std::hash<std::string_view>{}(k.from);
    const std::size_t b = std::hash<std::string_view>{}(k.to);
    return a ^ (b * 0x9e3779b97f4a7c15ULL) ^ static_cast<std::size_t>(k.kind);
  }
};
key_view view_of(const edge_key& k) { return {k.from, k.to, k.kind}; }

// Account ids as small numbers (the hub's own numbering): the subscribers'
// ego sets and known ends hold numbers, so a filter pass hashes no string.
// Guarded by the impl's ids_mu.
using vid = std::uint32_t;

// A set of account numbers with a 32-bit value each:
// open addressing, linear probing, at most half full. A lookup touches one
// or two cache lines where std::unordered_map touches a bucket and a node;
// 35 ego sets of 10,000 accounts are looked up for every change. Empty: no
// allocation (an idle subscriber pays nothing).
class id_table {
public:
  std::size_t size() const noexcept { return size_; }
  // Grows with every insertion, removal and clear: equal counts, same content.
  std::uint64_t changes() const noexcept { return changes_; }
  void clear() {
    slots_.clear();
    size_ = 0;
    ++changes_;
  }
  // The value of `k`, or null.
  const std::uint32_t* find(vid k) const {
    if (slots_.empty()) return nullptr;
    const std::uint32_t want = k + 1;
    for (std::size_t i = home(k);; i = (i + 1) & mask()) {
      const slot& x = slots_[i];
      if (x.key == want) return &x.value;
      if (x.key == 0) return nullptr;
    }
  }
  bool contains(vid k) const { return find(k) != nullptr; }
  // Adds `k` with `v` unless present; true when added.
  bool insert(vid k, std::uint32_t v) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const std::uint32_t want = k + 1;
    std::size_t i = home(k);
    for (; slots_[i].key != 0; i = (i + 1) & mask())
      if (slots_[i].key == want) return false;
    slots_[i] = {want, v};
    ++size_;
    ++changes_;
    return true;
  }
  void erase(vid k) {
    if (slots_.empty()) return;
    const std::uint32_t want = k + 1;
    std::size_t i = home(k);
    for (; slots_[i].key != want; i = (i + 1) & mask())
      if (slots_[i].key == 0) return;
    // Backward shift: later entries of the run move into the hole unless
    // their home lies cyclically in (hole, their slot].
    for (std::size_t j = (i + 1) & mask(); slots_[j].key != 0; j = (j + 1) & mask()) {
      const std::size_t h = home(slots_[j].key - 1);
      const bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
      if (stays) continue;
      slots_[i] = slots_[j];
      i = j;
    }
    slots_[i] = {};
    --size_;
    ++changes_;
  }

private:
  struct slot {
    std::uint32_t key = 0; // number + 1; 0: empty
    std::uint32_t value = 0;
  };
  std::size_t mask() const noexcept { return slots_.size() - 1; }
  std::size_t home(vid k) const noexcept {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(k) * 0x9E3779B97F4A7C15ULL) >> shift_);
  }
  void grow() {
    std::vector<slot> old = std::move(slots_);
    const std::size_t n = old.empty() ? 16 : old.size() * 2;
    slots_.assign(n, slot{});
    shift_ = 64;
    for (std::size_t m = n; m > 1; m >>= 1) --shift_;
    size_ = 0;
    const std::uint64_t changes = changes_;
    for (const slot& x : old)
      if (x.key != 0) insert(x.key - 1, x.value);
    changes_ = changes;
  }

  std::vector<slot> slots_; // key and value side by side: one cache line a probe
  std::size_t size_ = 0;
  std::uint64_t changes_ = 0;
  unsigned shift_ = 64;
};

// An ego set as the members in the order they joined, so that subscribers
// of the same `around` with the same starting set share one: they learn the
// same members in the same order (the same changes pass the same filter),
// each one's set being the first `n` of the log. One table to look up
// instead of one per subscriber. A subscriber that learns something else
// goes on with a copy of its part. Dispatcher thread only, once shared.
struct ego_log {
  // Names this log among all there were (an address may be reused).
  const std::uint64_t serial = next_serial();
  static std::uint64_t next_serial() {
    static std::uint64_t n = 0; // dispatcher thread only
    return ++n;
  }
  id_table members;         // id -> (place in `order` << 2) | distance
  std::vector<vid> order;   // members in the order they joined
  std::vector<std::uint8_t> dist; // their distances
  std::size_t initial = 0;  // the first `initial`: the set when subscribing
  std::uint64_t initial_sum = 0; // of the starting set, whatever its order

  static std::uint64_t mix(vid k, unsigned d) {
    return (static_cast<std::uint64_t>(k) + 1) * 0x9E3779B97F4A7C15ULL ^ d;
  }
  unsigned distance_at(std::size_t i) const { return dist[i]; }
  void append(vid k, unsigned d) {
    members.insert(k, static_cast<std::uint32_t>(order.size() << 2) | d);
    order.push_back(k);
    dist.push_back(static_cast<std::uint8_t>(d));
  }
  // Same starting set, same distances.
  bool same_start(const ego_log& o) const {
    if (initial != o.initial || initial_sum != o.initial_sum) return false;
    for (std::size_t i = 0; i < initial; ++i) {
      const std::uint32_t* v = o.members.find(order[i]);
      if (v == nullptr || (*v >> 2) >= o.initial || (*v & 3u) != distance_at(i)) return false;
    }
    return true;
  }
};

struct record {
  event_id id;
  change c;
  clock::time_point at;
  // Filled by the dispatcher thread only, once for every subscriber: the
  // SSE frame "id: S.N\nevent: TYPE\ndata: JSON\n\n", where the JSON starts,
  // and the numbers of the ids (from/to of an edge; `from` is the vertex).
  mutable std::string sse;
  mutable std::uint32_t data_at = 0;
  mutable vid from = 0, to = 0;
  void format() const {
    const std::string json = change_json(c);
    sse.reserve(json.size() + 48);
    sse = "id: ";
    sse += std::to_string(id.seq);
    sse += '.';
    sse += std::to_string(id.index);
    sse += "\nevent: ";
    sse += type_name(c.type);
    sse += "\ndata: ";
    data_at = static_cast<std::uint32_t>(sse.size());
    sse += json;
    sse += "\n\n";
  }
  const std::string& frame() const {
    if (sse.empty()) format();
    return sse;
  }
  // The JSON of the change (the `data` of its event).
  std::string_view data() const {
    const std::string& f = frame();
    return std::string_view(f).substr(data_at, f.size() - data_at - 2);
  }
};

// A filtered slice subscribers share (impl::classify), and, for a class
// whose subscribers pass a vertex change only when its vertex is one of
// their known ends (`by_ends`: no ego set, not Gephi), every end of an edge
// the slice admitted: a superset of each subscriber's known ends, since
// those are ends of edges it was delivered, which the class admitted first
// (write_rec::candidates_for walks a write in order). Past max_known_ends
// such ends, every vertex change is a candidate again. Dispatcher thread
// only.
struct shared_slice {
  slice s;
  bool by_ends = false;
  id_table ends;
  bool ends_full = false;
  bool admit(const record& r) {
    if (!admits_edge(s, r.c)) return false;
    if (by_ends && !ends_full) {
      ends.insert(r.from, 0);
      ends.insert(r.to, 0);
      ends_full = ends.size() >= max_known_ends;
    }
    return true;
  }
  bool may_know(vid k) const { return !by_ends || ends_full || ends.contains(k); }
};

// What the verdict on a record depends on, for a subscriber whose verdict
// depends on its ego set alone (impl::shared_key): the ego log, how much of
// it is the subscriber's set, the radius and the slice class.
struct verdict_key {
  std::uint64_t log = 0;
  std::size_t ego_n = 0;
  unsigned radius = 0;
  int cls = -1;
  bool operator==(const verdict_key& o) const {
    return log == o.log && ego_n == o.ego_n && radius == o.radius && cls == o.cls;
  }
};

// The changes of one write: the unit the ring holds (one allocation and
// one pointer copy per write, not per change).
struct write_rec {
  std::vector<record> recs;
  mutable bool numbered = false; // dispatcher thread only
  mutable std::size_t bytes = 0; // the JSON of every change; 0: not summed yet
  std::size_t data_bytes() const {
    if (bytes == 0)
      for (const auto& r : recs) bytes += r.data().size();
    return bytes;
  }
  // Per slice class (shared_slice): the positions of the records such a
  // subscriber must look at — the edge changes the slice admits, and the
  // vertex changes whose vertex may be one of the subscriber's known ends
  // (all of them, for a class whose subscribers also pass vertices by other
  // means). Computed once per write and class, so a hundred subscribers of
  // one hashtag skip the write's other changes without judging each.
  // Dispatcher thread only.
  mutable std::vector<std::optional<std::vector<std::uint32_t>>> candidates;
  const std::vector<std::uint32_t>& candidates_for(std::size_t index, shared_slice& cls) const {
    if (candidates.size() <= index) candidates.resize(index + 1);
    auto& c = candidates[index];
    if (!c) {
      c.emplace();
      for (std::size_t i = 0; i < recs.size(); ++i) {
        const record& r = recs[i];
        if (is_edge(r.c.type) ? cls.admit(r) : cls.may_know(r.from)) c->push_back(static_cast<std::uint32_t>(i));
      }
    }
    return *c;
  }
  // Verdicts on the records (0: not judged yet, else impl::verdict + 1)
  // shared by the subscribers with the same verdict_key: thirty followers of
  // one account judge each record once, not thirty times. At most
  // max_verdict_keys per write; past them, null (each judges on its own).
  // Dispatcher thread only.
  static constexpr std::size_t max_verdict_keys = 16;
  mutable std::vector<std::pair<verdict_key, std::vector<std::uint8_t>>> verdicts;
  std::uint8_t* verdicts_for(const verdict_key& k) const {
    for (auto& [key, v] : verdicts)
      if (key == k) return v.data();
    if (verdicts.size() >= max_verdict_keys) return nullptr;
    verdicts.emplace_back(k, std::vector<std::uint8_t>(recs.size(), 0));
    return verdicts.back().second.data();
  }
};

// Which of a write's records a subscriber walks: all, or those of its
// slice class (write_rec::candidates_for).
struct walk_class {
  shared_slice* s = nullptr; // null: every record
  std::size_t index = 0;
};

// The records after `after` in a run of writes, one by one (a copy looks
// ahead without moving the original): every record, or a slice class's
// candidates. `i` counts within the current write's records or candidates;
// `passed` is the last id of the writes walked to their end (a record left
// out as no candidate is passed as much as one judged).
struct backlog_iter {
  const std::vector<std::shared_ptr<const write_rec>>* writes;
  event_id after;
  walk_class cls;
  std::size_t w = 0, i = 0;
  event_id passed;
  // The shared verdicts of the current write (judge_shared), looked up once
  // per write, not per record.
  const write_rec* verdicts_of = nullptr;
  std::uint8_t* verdicts = nullptr;
  const record* at(const write_rec& wr, std::size_t j) const {
    return cls.s ? &wr.recs[wr.candidates_for(cls.index, *cls.s)[j]] : &wr.recs[j];
  }
  std::size_t count(const write_rec& wr) const {
    return cls.s ? wr.candidates_for(cls.index, *cls.s).size() : wr.recs.size();
  }
  // The write of the record next() returned last.
  const write_rec& current() const { return *(*writes)[w]; }
  const record* next() {
    while (w < writes->size()) {
      const write_rec& wr = *(*writes)[w];
      for (const std::size_t n = count(wr); i < n;) {
        const record* r = at(wr, i++);
        if (after < r->id) return r;
      }
      if (passed < wr.recs.back().id) passed = wr.recs.back().id;
      ++w;
      i = 0;
    }
    return nullptr;
  }
  // The JSON bytes of every record still ahead, whatever the filter: an
  // upper bound of what a filter lets through, from whole writes' sums.
  std::size_t bytes_ahead() const {
    std::size_t n = 0;
    if (w < writes->size()) {
      const write_rec& wr = *(*writes)[w];
      for (std::size_t j = i, c = count(wr); j < c; ++j)
        if (const record* r = at(wr, j); after < r->id) n += r->data().size();
    }
    for (std::size_t k = w + 1; k < writes->size(); ++k) n += (*writes)[k]->data_bytes();
    return n;
  }
};

} // namespace

std::string event_id::str() const { return std::to_string(seq) + "." + std::to_string(index); }

std::optional<event_id> event_id::parse(std::string_view text) {
  event_id id;
  const auto dot = text.find('.');
  const std::string_view a = text.substr(0, dot);
  if (a.empty()) return std::nullopt;
  auto r = std::from_chars(a.data(), a.data() + a.size(), id.seq);
  if (r.ec != std::errc{} || r.ptr != a.data() + a.size()) return std::nullopt;
  if (dot == std::string_view::npos) {
    id.index = std::numeric_limits<std::uint32_t>::max();
    return id;
  }
  const std::string_view b = text.substr(dot + 1);
  if (b.empty()) return std::nullopt;
  r = std::from_chars(b.data(), b.data() + b.size(), id.index);
  if (r.ec != std::errc{} || r.ptr != b.data() + b.size()) return std::nullopt;
  return id;
}

std::string change_json(const change& c) {
  rapidjson::StringBuffer b;
  json_writer w(b);
  w.StartObject();
  w.Key("id");
  str(w, event_id{c.seq, c.index}.str());
  w.Key("type");
  str(w, type_name(c.type));
  if (is_edge(c.type)) {
    w.Key("edge");
    w.StartObject();
    w.Key("from");
    str(w, c.e.key.from);
    w.Key("to");
    str(w, c.e.key.to);
    w.Key("kind");
    str(w, to_string(c.e.key.kind));
    w.Key("weight");
    w.Uint64(c.e.weight);
    w.Key("hashtags");
    w.StartArray();
    for (const auto& h : c.e.hashtags) str(w, h);
    w.EndArray();
    w.Key("first_seen");
    str(w, c.e.first_seen);
    w.Key("last_seen");
    str(w, c.e.last_seen);
    w.Key("properties");
    write_props(w, c.e.props);
    w.EndObject();
  } else {
    w.Key("vertex");
    w.StartObject();
    w.Key("id");
    str(w, c.v.id);
    w.Key("properties");
    write_props(w, c.v.props);
    w.EndObject();
  }
  w.EndObject();
  return b.GetString();
}

std::string gephi_edge_id(const edge_key& k) {
  // '|' separates the parts; a '|' or '\' inside an id is escaped with '\'.
  std::string out;
  auto add = [&](std::string_view s) {
    for (char ch : s) {
      if (ch == '|' || ch == '\\') out += '\\';
      out += ch;
    }
  };
  add(k.from);
  out += '|';
  add(k.to);
  out += '|';
  add(to_string(k.kind));
  return out;
}

namespace {
// One Gephi graph-streaming line: {"<op>":{"<id>":{...}}} and CRLF, the
// innermost object's members written by `body`.
template <class Body>
std::string gephi_line(std::string_view op, std::string_view id, Body&& body) {
  rapidjson::StringBuffer b;
  json_writer w(b);
  w.StartObject();
  str(w, op);
  w.StartObject();
  str(w, id);
  w.StartObject();
  body(w);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  std::string out(b.GetString(), b.GetSize());
  out += "\r\n";
  return out;
}

void write_attributes(json_writer& w, const node_attributes::values& a) {
  w.Key("pagerank");
  w.Double(a.pagerank);
  w.Key("community");
  w.Uint(a.community);
}

// Whether Gephi should hear of `now` after `sent`: a value where there was
// none, another community, or a PageRank more than 1% away from the one
// sent. A node the newer snapshot does not hold keeps what it had.
bool differs(const std::optional<node_attributes::values>& sent,
             const std::optional<node_attributes::values>& now) {
  if (!now) return false;
  if (!sent) return true;
  if (sent->community != now->community) return true;
  const double d = now->pagerank - sent->pagerank;
  return (d < 0 ? -d : d) > 0.01 * sent->pagerank;
}
} // namespace

std::string gephi_attributes(const std::string& id, const node_attributes::values& a) {
  return gephi_line("cn", id, [&](json_writer& w) { write_attributes(w, a); });
}

std::string gephi_node(const vertex& v, std::string_view op, const node_attributes::values* a) {
  return gephi_line(op, v.id, [&](json_writer& w) {
    if (op == "dn") return;
    const std::string handle = prop_string(v.props, "handle");
    w.Key("label");
    str(w, handle.empty() ? v.id : handle);
    for (const char* k : {"handle", "platform", "location"}) {
      auto it = v.props.find(k);
      if (it == v.props.end()) continue;
      if (const auto* s = std::get_if<std::string>(&it->second)) {
        w.Key(k);
        str(w, *s);
      }
    }
    if (a) write_attributes(w, *a);
  });
}

std::string gephi_edge(const edge& e, std::string_view op) {
  return gephi_line(op, gephi_edge_id(e.key), [&](json_writer& w) {
    if (op == "ae") {
      w.Key("source");
      str(w, e.key.from);
      w.Key("target");
      str(w, e.key.to);
      w.Key("directed");
      w.Bool(true);
    }
    if (op == "de") return;
    w.Key("weight");
    w.Uint64(e.weight);
    w.Key("kind");
    str(w, to_string(e.key.kind));
    w.Key("hashtags");
    std::string tags;
    for (const auto& h : e.hashtags) tags += (tags.empty() ? "" : ",") + h;
    str(w, tags);
  });
}

class changefeed::subscription {
public:
  wire w = wire::sse;
  std::shared_ptr<sink> out;
  std::mutex mu;                  // filter state (refilter vs dispatcher)
  filter f;
  std::shared_ptr<ego_log> ego;                  // null: no `around`
  std::size_t ego_n = 0;                         // members: the first ego_n of ego->order
  std::uint64_t ego_version = 0;                 // grows with every change of the set
  bool ego_checked = false;                      // looked for a log to share
  // The slice's class (impl::classify): -1 none (walk every record), -2 not
  // known yet (a new or changed filter).
  int slice_class = -2;
  // Distance from `around`, or -1 for a non-member.
  int ego_distance(vid k) const {
    if (!ego) return -1;
    const std::uint32_t* v = ego->members.find(k);
    if (v == nullptr || (*v >> 2) >= ego_n) return -1;
    return static_cast<int>(*v & 3u);
  }
  // Adds a member (not one already in); true when added.
  bool ego_insert(vid k, unsigned d) {
    if (ego_distance(k) >= 0) return false;
    if (ego_n < ego->order.size()) {
      if (ego->order[ego_n] == k && ego->distance_at(ego_n) == d) { // as the one ahead did
        ++ego_n;
        ++ego_version;
        return true;
      }
      auto own = std::make_shared<ego_log>(); // another way: a copy of ours
      for (std::size_t i = 0; i < ego_n; ++i) own->append(ego->order[i], ego->distance_at(i));
      own->initial = std::min(ego->initial, ego_n);
      ego = std::move(own);
    }
    ego->append(k, d);
    ++ego_n;
    ++ego_version;
    return true;
  }
  id_table ends;                                 // ends of delivered edges (filtered, gephi)
  event_id cursor;
  bool started = false;
  std::optional<event_id> resume_from;           // set until the first service
  bool finished = false;
  clock::time_point last_sent = clock::now();
  clock::time_point not_before;                  // WebSocket pacing
  // The first event waiting is a weight change held until then (its
  // coalescing window): nothing can go before, so no walk until then.
  clock::time_point hold_until;
  std::uint64_t stats_seen = 0;                  // last stats tick delivered
  // Gephi: the snapshot whose attributes the stream's nodes get, what each
  // node was sent (nullopt: none), and the nodes whose values changed since
  // (to send as `cn`).
  std::shared_ptr<const node_attributes> attrs;
  std::unordered_map<std::string, std::optional<node_attributes::values>> sent;
  std::vector<std::string> attr_queue;
};

struct changefeed::impl {
  changefeed_options options;
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<const write_rec>> ring;
  std::size_t ring_events = 0;
  event_id evicted_upto;          // everything up to here is no longer retained
  event_id newest;
  bool wake = false;
  bool stopping = false;
  std::vector<std::shared_ptr<subscription>> subs;
  graph_store* store = nullptr;
  std::thread dispatcher;
  attributes_source attributes;   // set before the dispatcher starts
  std::vector<std::weak_ptr<ego_log>> ego_logs; // to share (dispatcher thread only)

  // A new subscriber's ego set: the log of another one with the same
  // starting set, if any (it then follows it while it learns the same).
  void share_ego(subscription& s) {
    s.ego_checked = true;
    if (!s.ego) return;
    ego_logs.erase(std::remove_if(ego_logs.begin(), ego_logs.end(),
                                  [](const std::weak_ptr<ego_log>& w) { return w.expired(); }),
                   ego_logs.end());
    for (const auto& w : ego_logs) {
      auto log = w.lock();
      if (log && log != s.ego && s.ego->same_start(*log)) {
        s.ego = std::move(log);
        s.ego_n = s.ego->initial;
        ++s.ego_version;
        return;
      }
    }
    ego_logs.push_back(s.ego);
  }
  std::mutex ids_mu;
  std::unordered_map<std::string, vid> ids; // every account id seen, numbered

  // The filtered slices subscribers have used, each a class whose
  // candidates a write computes once (write_rec::candidates_for); at most
  // max_classes, after which a new slice walks every record. Dispatcher
  // thread only.
  static constexpr std::size_t max_classes = 64;
  std::deque<shared_slice> classes;
  static bool same_slice(const slice& a, const slice& b) {
    return a.kinds == b.kinds && a.hashtags == b.hashtags && a.since == b.since && a.until == b.until &&
           a.min_weight == b.min_weight && a.platforms == b.platforms;
  }
  int classify(const subscription& sub) {
    const slice& s = sub.f.s;
    if (s.whole_graph()) return -1;
    const bool by_ends = !sub.ego && sub.w != wire::gephi;
    for (std::size_t k = 0; k < classes.size(); ++k)
      if (classes[k].by_ends == by_ends && same_slice(classes[k].s, s)) return static_cast<int>(k);
    if (classes.size() >= max_classes) return -1;
    classes.push_back(shared_slice{s, by_ends, {}, false});
    return static_cast<int>(classes.size() - 1);
  }

  vid number(const std::string& id) { // under ids_mu
    auto it = ids.find(id); // before emplace, which would allocate a node every time
    if (it != ids.end()) return it->second;
    return ids.emplace(id, static_cast<vid>(ids.size())).first->second;
  }
  vid number_of(const std::string& id) {
    std::lock_guard<std::mutex> l(ids_mu);
    return number(id);
  }
  // Numbers the ids of a write's changes, once (dispatcher thread).
  void number_write(const write_rec& w) {
    if (w.numbered) return;
    std::lock_guard<std::mutex> l(ids_mu);
    for (const auto& r : w.recs) {
      if (is_edge(r.c.type)) {
        r.from = number(r.c.e.key.from);
        r.to = number(r.c.e.key.to);
      } else {
        r.from = number(r.c.v.id);
      }
    }
    w.numbered = true;
  }

  stats_source stats;
  std::uint64_t stats_tick = 0;
  std::string stats_json;
  clock::time_point stats_at = clock::now();
  std::uint64_t last_posts = 0, last_interactions = 0;

  counter_metric& m_events;
  counter_metric& m_delivered;
  counter_metric& m_coalesced;
  counter_metric& m_overflows;
  counter_metric& m_resets;
  gauge_metric& m_subscribers;

  impl(changefeed_options o, metrics_registry& m, stats_source s)
      : options(o), stats(std::move(s)),
        m_events(m.counter("tlflow_changes_events_total", "Changes entered into the changefeed")),
        m_delivered(m.counter("tlflow_changes_delivered_total", "Change events delivered to subscribers")),
        m_coalesced(m.counter("tlflow_changes_coalesced_total",
                              "Change events dropped by coalescing (a later weight of the same edge sent instead)")),
        m_overflows(m.counter("tlflow_changes_overflows_total", "Subscribers dropped for falling behind")),
        m_resets(m.counter("tlflow_changes_resets_total", "Subscribers told to reload (resume point not retained)")),
        m_subscribers(m.gauge("tlflow_changes_subscribers", "Connected changefeed subscribers")) {}

  void evict(clock::time_point now) {
    const auto max_age = std::chrono::seconds(options.retention_s);
    while (!ring.empty() &&
           (ring_events > options.retention_events || now - ring.front()->recs.front().at > max_age)) {
      evicted_upto = ring.front()->recs.back().id;
      ring_events -= ring.front()->recs.size();
      ring.pop_front();
    }
  }

  // Ring position of the first record after `id` (under mu).
  std::size_t after(const event_id& id) const {
    // The first write whose last change is after `id`.
    auto it = std::upper_bound(ring.begin(), ring.end(), id,
                               [](const event_id& a, const std::shared_ptr<const write_rec>& w) {
                                 return a < w->recs.back().id;
                               });
    return static_cast<std::size_t>(it - ring.begin());
  }

  void fill_ego(subscription& s, graph_store* st) {
    s.ego.reset();
    s.ego_n = 0;
    ++s.ego_version;
    s.ego_checked = false;
    if (s.f.around.empty()) return;
    auto log = std::make_shared<ego_log>();
    const auto finish = [&] {
      log->initial = log->order.size();
      for (std::size_t i = 0; i < log->initial; ++i) log->initial_sum += ego_log::mix(log->order[i], log->distance_at(i));
      s.ego_n = log->initial;
      s.ego = std::move(log);
    };
    log->append(number_of(s.f.around), 0);
    if (st == nullptr) return finish();
    std::vector<std::string> frontier{s.f.around};
    for (unsigned d = 1; d <= s.f.radius && !frontier.empty(); ++d) {
      std::vector<std::string> next;
      for (const auto& id : frontier) {
        neighbor_query q;
        q.limit = 1000;
        auto ns = st->neighbors(id, q);
        if (!ns) continue;
        for (const auto& n : *ns) {
          if (log->order.size() >= max_ego) break;
          const vid k = number_of(n.id);
          if (log->members.find(k) != nullptr) continue;
          log->append(k, d);
          next.push_back(n.id);
        }
      }
      frontier = std::move(next);
    }
    finish();
  }

  enum class verdict { fail, pass, pass_learns };
  // passes(s, r, false), and whether delivering the record would change the
  // filter's state (the ego set grows, ends are remembered or forgotten):
  // when it would not, and nothing changed the state since, the delivery
  // pass need not ask again.
  static verdict judge(const subscription& s, const record& r) {
    const change& c = r.c;
    const bool filtered = !s.f.s.whole_graph() || !s.f.around.empty();
    if (is_edge(c.type)) {
      if (!admits_edge(s.f.s, c)) return verdict::fail;
      bool learns = false;
      if (!s.f.around.empty()) {
        const int a = s.ego_distance(r.from);
        const int b = s.ego_distance(r.to);
        if (a < 0 && b < 0) return verdict::fail;
        if (a < 0 || b < 0) {
          const unsigned d = static_cast<unsigned>(a >= 0 ? a : b);
          if (d >= s.f.radius || c.type == change_type::edge_removed || s.ego_n >= max_ego)
            return verdict::fail;
          learns = true;
        }
      }
      if ((filtered || s.w == wire::gephi) && (s.f.around.empty() || s.w == wire::gephi) &&
          c.type != change_type::edge_removed && s.ends.size() < max_known_ends)
        learns = true;
      return learns ? verdict::pass_learns : verdict::pass;
    }
    if (!filtered)
      return s.w == wire::gephi && c.type != change_type::vertex_removed && s.ends.size() < max_known_ends
                 ? verdict::pass_learns
                 : verdict::pass;
    if (s.ego_distance(r.from) >= 0) return verdict::pass;
    if (!s.ends.contains(r.from)) return verdict::fail;
    return c.type == change_type::vertex_removed ? verdict::pass_learns : verdict::pass;
  }

  // The key under which the subscriber's verdicts may be shared
  // (write_rec::verdicts_for), or none. Shared when judge() reads nothing
  // but the record and the key's parts: an ego set on a wire other than
  // Gephi's (which has its own sent nodes), no known ends, and a slice all
  // subscribers of its class share.
  static std::optional<verdict_key> shared_key(const subscription& s) {
    if (!s.ego || s.w == wire::gephi || s.ends.size() != 0) return std::nullopt;
    if (s.slice_class < 0 && !s.f.s.whole_graph()) return std::nullopt;
    return verdict_key{s.ego->serial, s.ego_n, s.f.radius, s.slice_class};
  }
  // judge(), or the verdict a subscriber with the same key gave the record
  // (`from`: the walk that returned it).
  static verdict judge_shared(const subscription& s, const std::optional<verdict_key>& key,
                              backlog_iter& from, const record& r) {
    if (!key) return judge(s, r);
    const write_rec& wr = from.current();
    if (from.verdicts_of != &wr) {
      from.verdicts_of = &wr;
      from.verdicts = wr.verdicts_for(*key);
    }
    if (from.verdicts == nullptr) return judge(s, r);
    std::uint8_t& m = from.verdicts[static_cast<std::size_t>(&r - wr.recs.data())];
    if (m == 0) m = static_cast<std::uint8_t>(static_cast<int>(judge(s, r)) + 1);
    return static_cast<verdict>(m - 1);
  }

  // Does the record pass the subscriber's filter? `deliver`: it is being
  // delivered, so the ego set and the known ends learn from it.
  static bool passes(subscription& s, const record& r, bool deliver) {
    const change& c = r.c;
    const bool filtered = !s.f.s.whole_graph() || !s.f.around.empty();
    if (is_edge(c.type)) {
      if (!admits_edge(s.f.s, c)) return false;
      if (!s.f.around.empty()) {
        const int a = s.ego_distance(r.from);
        const int b = s.ego_distance(r.to);
        // The ego graph: edges between members; an edge from a member
        // nearer than the radius brings its other end in.
        const bool in_a = a >= 0, in_b = b >= 0;
        if (!in_a && !in_b) return false;
        if (!(in_a && in_b)) {
          const unsigned d = static_cast<unsigned>(in_a ? a : b);
          if (d >= s.f.radius || c.type == change_type::edge_removed || s.ego_n >= max_ego) return false;
          if (deliver) s.ego_insert(in_a ? r.to : r.from, d + 1);
        }
      }
      // With an ego set (and not for Gephi, which tracks what it sent) the
      // ends of a delivered edge are members already: nothing to remember.
      if (deliver && (filtered || s.w == wire::gephi) && (s.f.around.empty() || s.w == wire::gephi) &&
          c.type != change_type::edge_removed && s.ends.size() < max_known_ends) {
        s.ends.insert(r.from, 0);
        s.ends.insert(r.to, 0);
      }
      return true;
    }
    if (!filtered) {
      if (deliver && s.w == wire::gephi && c.type != change_type::vertex_removed && s.ends.size() < max_known_ends)
        s.ends.insert(r.from, 0);
      return true;
    }
    if (s.ego_distance(r.from) >= 0) return true;
    const bool known = s.ends.contains(r.from);
    if (known && deliver && c.type == change_type::vertex_removed) s.ends.erase(r.from);
    return known;
  }

  // A control event as the subscriber's wire wants it (changes come framed
  // from their record).
  static std::string frame(const subscription& s, std::string_view type, std::string_view data,
                           const std::string* id) {
    if (s.w != wire::sse) return std::string(data);
    std::string out;
    if (id) out = "id: " + *id + "\n";
    out += "event: ";
    out += type;
    out += "\ndata: ";
    out += data;
    out += "\n\n";
    return out;
  }

  std::string control(const subscription& s, std::string_view type, const std::string& fields,
                      const std::string* id) const {
    std::string data = "{\"type\":\"";
    data += type;
    data += "\"";
    if (!fields.empty()) data += "," + fields;
    data += "}";
    if (s.w == wire::gephi) return {};
    return frame(s, type, data, id);
  }

  // Gephi lines for one delivered change.
  static std::string gephi_lines(subscription& s, const change& c) {
    std::string out;
    switch (c.type) {
    case change_type::vertex_created: return gephi_node(c.v, "an", note_sent(s, c.v.id));
    case change_type::vertex_updated: return gephi_node(c.v, "cn", note_sent(s, c.v.id));
    case change_type::vertex_removed:
      s.sent.erase(c.v.id);
      return gephi_node(c.v, "dn");
    case change_type::edge_created:
      return gephi_edge(c.e, "ae");
    case change_type::edge_changed: return gephi_edge(c.e, "ce");
    case change_type::edge_removed: return gephi_edge(c.e, "de");
    }
    (void)s;
    return out;
  }

  // The attributes a Gephi node gets now (from s.attrs), remembered as sent.
  static const node_attributes::values* note_sent(subscription& s, const std::string& id) {
    std::optional<node_attributes::values> v;
    if (s.attrs) v = s.attrs->of(id);
    auto it = s.sent.find(id);
    if (it == s.sent.end()) {
      if (s.sent.size() >= max_known_ends) return nullptr;
      it = s.sent.emplace(id, v).first;
    } else {
      it->second = v;
    }
    return it->second ? &*it->second : nullptr;
  }

  // A newer snapshot than the one the stream's nodes carry: queue the nodes
  // whose values changed.
  static void refresh_attributes(subscription& s, const std::shared_ptr<const node_attributes>& now_attrs) {
    if (!now_attrs || now_attrs == s.attrs) return;
    s.attrs = now_attrs;
    s.attr_queue.clear();
    for (const auto& [id, v] : s.sent)
      if (differs(v, now_attrs->of(id))) s.attr_queue.push_back(id);
  }

  // `cn` lines for the queued nodes, up to about one piece; true when the
  // queue is empty after.
  static bool drain_attributes(subscription& s, std::string& out) {
    std::size_t k = 0;
    for (; k < s.attr_queue.size() && out.size() < chunk_cap; ++k) {
      auto it = s.sent.find(s.attr_queue[k]);
      if (it == s.sent.end()) continue;
      auto now = s.attrs->of(it->first);
      if (!differs(it->second, now)) continue;
      out += gephi_attributes(it->first, *now);
      it->second = now;
    }
    s.attr_queue.erase(s.attr_queue.begin(), s.attr_queue.begin() + static_cast<std::ptrdiff_t>(k));
    return s.attr_queue.empty();
  }

  void put(subscription& s, std::string piece, bool last) {
    s.last_sent = clock::now();
    if (last) s.finished = true;
    s.out->put(std::move(piece), last);
  }

  // Serves one subscriber; returns when it next needs attention (or max()).
  clock::time_point service(subscription& s, clock::time_point now,
                             const std::shared_ptr<const node_attributes>& attrs_now) {
    if (s.finished) return clock::time_point::max();
    if (!s.out->ready()) return clock::time_point::max();
    std::lock_guard<std::mutex> sl(s.mu);
    if (now < s.not_before) return s.not_before;
    if (!s.ego_checked) share_ego(s);
    std::vector<std::shared_ptr<const write_rec>> writes; // the backlog, after the cursor
    const bool held = s.started && now < s.hold_until;
    bool lost = false;
    event_id newest_now;
    std::uint64_t tick = 0;
    std::string stats_copy;
    {
      std::lock_guard<std::mutex> l(mu);
      newest_now = newest;
      tick = stats_tick;
      if (s.stats_seen != stats_tick) stats_copy = stats_json;
      if (!s.started) {
        s.started = true;
        if (s.resume_from) {
          const event_id from = *s.resume_from;
          if (from < evicted_upto || newest < from) {
            s.cursor = newest;
            lost = true;
          } else {
            s.cursor = from;
          }
        } else {
          s.cursor = newest;
        }
      } else if (s.cursor < evicted_upto) {
        lost = true;
      }
      if (!lost && !held)
        for (std::size_t i = after(s.cursor); i < ring.size(); ++i) writes.push_back(ring[i]);
    }
    for (const auto& w : writes) number_write(*w);
    const std::string newest_text = newest_now.str();
    if (lost && s.resume_from) {
      // The resume point is gone: reload, then go on from the newest event.
      s.resume_from.reset();
      m_resets.inc();
      std::string piece = control(s, "reset", "\"reason\":\"the resume point is no longer retained; reload\",\"newest\":\"" +
                                                  newest_text + "\"", &newest_text);
      if (s.w == wire::gephi) piece = "";
      if (!piece.empty()) {
        put(s, std::move(piece), false);
        return now;
      }
    } else if (lost) {
      m_overflows.inc();
      put(s, control(s, "overflow", "\"reason\":\"fell behind the retention\"", nullptr), true);
      return clock::time_point::max();
    }
    s.resume_from.reset();

    // Gephi: newer analytics first; the events wait until their lines went.
    std::string attr_lines;
    if (s.w == wire::gephi) {
      refresh_attributes(s, attrs_now);
      if (!drain_attributes(s, attr_lines)) {
        put(s, std::move(attr_lines), false);
        return now;
      }
    }

    // Walk the backlog: filter, hold young weight changes, measure.
    const auto window = std::chrono::milliseconds(options.coalesce_ms);
    std::vector<const record*> take;
    std::vector<bool> learns;              // take[i]'s delivery changes the filter's state
    const std::uint64_t judged = s.ego_version + s.ends.changes();
    std::unordered_set<key_view, key_view_hash> going;
    std::size_t bytes = 0;
    bool hard = false;
    event_id advance = s.cursor;
    clock::time_point wake_at = held ? s.hold_until : clock::time_point::max();
    bool holding = held;
    if (s.slice_class == -2) s.slice_class = classify(s);
    walk_class cls;
    if (s.slice_class >= 0) cls = {&classes[static_cast<std::size_t>(s.slice_class)],
                                   static_cast<std::size_t>(s.slice_class)};
    backlog_iter it{&writes, s.cursor, cls, 0, 0, {}};
    const std::optional<verdict_key> key = shared_key(s); // the walk changes no state
    const event_id from = s.cursor;
    const bool sharable = s.w == wire::sse && key && !held;
    if (sharable)
      for (const auto& p : pass_pieces) {
        if (!(p.key == *key && p.from == from)) continue;
        // Another subscriber in this state was served in this pass: the same
        // piece, the same members learned, the same place reached.
        if (s.ego_n != p.ego_n) ++s.ego_version;
        s.ego_n = p.ego_n;
        s.cursor = p.advance;
        s.hold_until = p.hold_until;
        m_coalesced.inc(p.coalesced);
        m_delivered.inc(p.sent);
        send(s, p.events, stats_copy, tick, now);
        return p.wake_at;
      }
    while (!held) {
      const record* next = it.next();
      if (next == nullptr) {
        // Walked to the end: past the records that were no candidates too.
        if (advance < it.passed) advance = it.passed;
        break;
      }
      const record& r = *next;
      const verdict v = judge_shared(s, key, it, r);
      if (v == verdict::fail) {
        advance = r.id;
        continue;
      }
      // A weight change waits out its window, unless an older change of the
      // same edge goes now: then it joins that one.
      if (!hard && r.c.type == change_type::edge_changed && now - r.at < window &&
          going.count(view_of(r.c.e.key)) == 0) {
        wake_at = r.at + window;
        holding = true;
        break;
      }
      if (r.c.type == change_type::edge_changed) going.insert(view_of(r.c.e.key));
      take.push_back(&r);
      learns.push_back(v == verdict::pass_learns);
      bytes += r.data().size() + 40;
      advance = r.id;
      if (!hard && bytes > chunk_cap) {
        // Another chunk after this one, unless the backlog is over the
        // budget: then coalesce all of it at once.
        // What is left, unfiltered, is under the budget: no need to filter it.
        if (bytes + it.bytes_ahead() <= options.subscriber_budget_bytes) break;
        std::size_t rest = 0;
        backlog_iter look = it;
        while (bytes + rest <= options.subscriber_budget_bytes) {
          const record* q = look.next();
          if (q == nullptr) break;
          if (judge_shared(s, key, look, *q) != verdict::fail) rest += q->data().size();
        }
        if (bytes + rest <= options.subscriber_budget_bytes) break;
        hard = true;
      }
    }
    // Delivery pass: the filter learns; a weight change of an edge that
    // changes again later in the piece is dropped (the later one carries it).
    std::unordered_map<key_view, std::size_t, key_view_hash> last_change;
    for (std::size_t i = 0; i < take.size(); ++i)
      if (take[i]->c.type == change_type::edge_changed)
        last_change[view_of(take[i]->c.e.key)] = i;
    const auto superseded = [&](std::size_t i) {
      const record& r = *take[i];
      return r.c.type == change_type::edge_changed &&
             last_change[view_of(r.c.e.key)] != i;
    };
    if (hard) {
      // Over the budget even after merging every weight change: dropped.
      std::size_t kept = 0;
      for (std::size_t i = 0; i < take.size(); ++i)
        if (!superseded(i)) kept += take[i]->data().size() + 40;
      if (kept > options.subscriber_budget_bytes) {
        m_overflows.inc();
        put(s, control(s, "overflow", "\"reason\":\"more than the subscriber's byte budget waiting\"", nullptr), true);
        return clock::time_point::max();
      }
    }
    std::string piece = std::move(attr_lines);
    std::size_t sent = 0, coalesced = 0;
    for (std::size_t i = 0; i < take.size(); ++i) {
      const record& r = *take[i];
      if (piece.size() > chunk_cap || (s.w == wire::ws && sent >= ws_round)) {
        advance = take[i - 1]->id; // the rest in the next piece
        holding = false;
        // A WebSocket tells no one when its queue drains: come back soon.
        if (s.w == wire::ws) {
          s.not_before = now + std::chrono::milliseconds(10);
          wake_at = std::min(wake_at, s.not_before);
        }
        break;
      }
      if (superseded(i)) {
        m_coalesced.inc();
        ++coalesced;
        continue;
      }
      const bool known_before = s.w == wire::gephi && is_edge(r.c.type) &&
                                s.ends.contains(r.from) && s.ends.contains(r.to);
      // Judged passing without consequence, and the state is as judged: it passes.
      const bool as_judged = !learns[i] && s.ego_version + s.ends.changes() == judged;
      if (!as_judged && !passes(s, r, true)) continue;
      ++sent;
      if (s.w == wire::gephi) {
        if (is_edge(r.c.type) && r.c.type != change_type::edge_removed && !known_before) {
          // Gephi needs both ends before an edge.
          for (const auto* id : {&r.c.e.key.from, &r.c.e.key.to})
            piece += gephi_node(vertex{*id, {}}, "an", note_sent(s, *id));
        }
        change c = r.c;
        if (c.type == change_type::edge_changed && !known_before) c.type = change_type::edge_created;
        piece += gephi_lines(s, c);
      } else if (s.w == wire::ws) {
        m_delivered.inc();
        put(s, std::string(r.data()), false);
      } else {
        piece += r.frame();
      }
    }
    if (s.w != wire::ws) m_delivered.inc(sent);
    s.cursor = advance;
    s.hold_until = holding ? wake_at : clock::time_point{};
    if (sharable && s.ego->serial == key->log) // (not gone its own way)
      pass_pieces.push_back({*key, from, advance, s.ego_n, piece, sent, coalesced, s.hold_until, wake_at});
    send(s, std::move(piece), stats_copy, tick, now);
    return wake_at;
  }

  // Hands a piece of events to the subscriber, with a stats event when one
  // is due, or a heartbeat comment in its place when the stream was quiet.
  void send(subscription& s, std::string piece, const std::string& stats_copy, std::uint64_t tick,
            clock::time_point now) {
    if (!stats_copy.empty() && s.stats_seen != tick) {
      s.stats_seen = tick;
      piece += control(s, "stats", stats_copy, nullptr);
      if (s.w == wire::ws) {
        put(s, piece, false);
        piece.clear();
      }
    }
    if (piece.empty() && s.w == wire::sse && now - s.last_sent >= std::chrono::seconds(options.heartbeat_s))
      piece = ": heartbeat\n\n";
    if (!piece.empty()) put(s, std::move(piece), false);
  }

  // What an SSE subscriber's walk and delivery gave in this pass, for the
  // others in the same state (shared_key, the same cursor, not held): they
  // would build the same piece, learn the same members of the same ego log
  // and reach the same place. Dispatcher thread only; emptied every pass.
  struct shared_piece {
    verdict_key key;
    event_id from, advance;
    std::size_t ego_n = 0;      // after the delivery
    std::string events;
    std::size_t sent = 0, coalesced = 0;
    clock::time_point hold_until, wake_at;
  };
  std::vector<shared_piece> pass_pieces;

  void refresh_stats(clock::time_point now) {
    if (options.stats_s == 0 || now - stats_at < std::chrono::seconds(options.stats_s)) return;
    const double secs = std::chrono::duration<double>(now - stats_at).count();
    stats_at = now;
    const std::uint64_t posts = stats.posts ? stats.posts() : 0;
    const std::uint64_t inter = stats.interactions ? stats.interactions() : 0;
    rapidjson::StringBuffer b;
    json_writer w(b);
    w.StartObject();
    w.Key("posts_per_s");
    w.Double(static_cast<double>(posts - std::min(posts, last_posts)) / secs);
    w.Key("interactions_per_s");
    w.Double(static_cast<double>(inter - std::min(inter, last_interactions)) / secs);
    w.Key("vertices");
    w.Uint64(stats.vertices ? stats.vertices() : 0);
    w.Key("edges");
    w.Uint64(stats.edges ? stats.edges() : 0);
    w.EndObject();
    last_posts = posts;
    last_interactions = inter;
    std::string body = b.GetString();
    std::lock_guard<std::mutex> l(mu);
    stats_json = body.substr(1, body.size() - 2); // the fields, for control()
    ++stats_tick;
  }

  void run() {
    clock::time_point next = clock::now() + std::chrono::seconds(1);
    for (;;) {
      std::vector<std::shared_ptr<subscription>> list;
      {
        std::unique_lock<std::mutex> l(mu);
        cv.wait_until(l, next, [&] { return wake || stopping; });
        if (stopping) return;
        wake = false;
        evict(clock::now());
        list = subs;
      }
      const auto now = clock::now();
      refresh_stats(now);
      pass_pieces.clear();
      next = now + std::chrono::seconds(1);
      std::shared_ptr<const node_attributes> attrs_now;
      if (attributes && std::any_of(list.begin(), list.end(), [](const auto& s) { return s->w == wire::gephi; }))
        attrs_now = attributes();
      for (const auto& s : list) {
        try {
          next = std::min(next, service(*s, now, attrs_now));
        } catch (const std::exception& e) {
          log::error("changefeed", "subscriber dropped: ", e.what());
          put(*s, "", true);
        }
      }
    }
  }
};

changefeed::changefeed(changefeed_options options, metrics_registry& metrics, stats_source stats)
    : impl_(std::make_unique<impl>(options, metrics, std::move(stats))), options_(options) {}

changefeed::~changefeed() { stop(); }

void changefeed::attach(graph_store& store) {
  const std::uint64_t base = store.set_change_listener(this);
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    impl_->store = &store;
    impl_->evicted_upto = {base, std::numeric_limits<std::uint32_t>::max()};
    impl_->newest = impl_->evicted_upto;
  }
  impl_->dispatcher = std::thread([this] {
    util::name_this_thread("tlflow-changes");
    impl_->run();
  });
}

void changefeed::stop() {
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->dispatcher.joinable()) impl_->dispatcher.join();
  if (impl_->store) impl_->store->set_change_listener(nullptr);
  std::vector<std::shared_ptr<subscription>> list;
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    list.swap(impl_->subs);
  }
  for (auto& s : list)
    if (!s->finished) s->out->put("", true);
}

void changefeed::on_changes(std::vector<change>& batch) {
  const auto now = clock::now();
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    if (batch.empty()) return;
    auto w = std::make_shared<write_rec>();
    w->recs.resize(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      record& r = w->recs[i];
      r.id = {batch[i].seq, batch[i].index};
      r.at = now;
      r.c = std::move(batch[i]);
    }
    impl_->newest = w->recs.back().id;
    impl_->ring_events += batch.size();
    impl_->ring.push_back(std::move(w));
    impl_->evict(now);
    impl_->wake = true;
  }
  impl_->m_events.inc(batch.size());
  impl_->cv.notify_one();
}

std::shared_ptr<changefeed::subscription> changefeed::subscribe(wire w, filter f, std::optional<event_id> after,
                                                                std::shared_ptr<sink> out, graph_store* store) {
  auto s = std::make_shared<subscription>();
  s->w = w;
  s->out = std::move(out);
  s->f = std::move(f);
  s->resume_from = after;
  impl_->fill_ego(*s, store);
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    if (impl_->subs.size() >= options_.max_subscribers || impl_->stopping) return nullptr;
    if (!after) {
      // From now on: the cursor is fixed here, not when first served, so
      // that a snapshot taken after subscribing misses nothing.
      s->started = true;
      s->cursor = impl_->newest;
    }
    impl_->subs.push_back(s);
    impl_->m_subscribers.set(static_cast<double>(impl_->subs.size()));
    impl_->wake = true;
  }
  impl_->cv.notify_one();
  return s;
}

void changefeed::unsubscribe(const std::shared_ptr<subscription>& s) {
  std::lock_guard<std::mutex> l(impl_->mu);
  auto& v = impl_->subs;
  v.erase(std::remove(v.begin(), v.end(), s), v.end());
  impl_->m_subscribers.set(static_cast<double>(v.size()));
}

void changefeed::refilter(const std::shared_ptr<subscription>& s, filter f, graph_store* store) {
  std::lock_guard<std::mutex> sl(s->mu);
  s->f = std::move(f);
  s->hold_until = {};
  s->ends.clear();
  s->slice_class = -2;
  impl_->fill_ego(*s, store);
}

bool changefeed::full() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->subs.size() >= options_.max_subscribers;
}

void changefeed::know(const std::shared_ptr<subscription>& s, const std::vector<std::string>& ids,
                      std::shared_ptr<const node_attributes> attrs) {
  std::lock_guard<std::mutex> sl(s->mu);
  s->attrs = std::move(attrs);
  for (const auto& id : ids) {
    if (s->ends.size() < max_known_ends) s->ends.insert(impl_->number_of(id), 0);
    impl::note_sent(*s, id);
  }
}

void changefeed::set_attributes(attributes_source source) { impl_->attributes = std::move(source); }

std::shared_ptr<const node_attributes> changefeed::attributes() const {
  return impl_->attributes ? impl_->attributes() : nullptr;
}

void changefeed::wake() {
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    impl_->wake = true;
  }
  impl_->cv.notify_one();
}

event_id changefeed::newest() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->newest;
}

} // namespace tlflow::live
