// Threading map: callers' threads run every port method and block in the
// client; the client's I/O thread does the network; one drain thread
// (impl::drainer) replays the write queue. The queue and its ordering flag
// are guarded by impl::queue_mu.
#include "store/gremlin/gremlin_store.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "store/gremlin/spool.hpp"
#include "util/log.hpp"
#include "util/metrics.hpp"

namespace tlflow::gremlin {

using graphson::value;

namespace {

constexpr std::string_view component = "gremlin";

value to_gs(const property_value& p) {
  if (auto* s = std::get_if<std::string>(&p)) return value::string(*s);
  if (auto* i = std::get_if<std::int64_t>(&p)) return value::int64(*i);
  if (auto* d = std::get_if<double>(&p)) return value::float64(*d);
  return value::boolean(std::get<bool>(p));
}

std::optional<property_value> from_gs(const value& v) {
  using graphson::kind;
  switch (v.k()) {
  case kind::string: case kind::uuid: return property_value{std::string(v.as_string())};
  case kind::boolean: return property_value{v.as_bool()};
  case kind::int32: case kind::int64: case kind::integer: case kind::date: case kind::timestamp:
    return property_value{static_cast<std::int64_t>(v.as_int())};
  case kind::float32: case kind::float64: case kind::number: return property_value{v.as_double()};
  default: return std::nullopt;
  }
}

// valueMap() gives lists for vertex properties.
const value& first_of(const value& v) {
  if (v.is_sequence() && !v.items().empty()) return v.items().front();
  return v;
}

std::string str_of(const value* v) { return v ? std::string(first_of(*v).as_string()) : std::string(); }
std::uint64_t uint_of(const value* v) {
  if (!v) return 0;
  auto i = first_of(*v).as_int();
  return i < 0 ? 0 : static_cast<std::uint64_t>(i);
}

bool retriable(errc c) { return c == errc::store_unavailable || c == errc::throttled; }

} // namespace

// The changefeed of the writes made through this process (docs/live.md):
// numbered from the clock at start-up, so numbers keep growing across
// restarts without being stored.
struct change_emitter {
  std::mutex mu;
  change_listener* listener = nullptr;
  std::uint64_t seq = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now().time_since_epoch()).count());

  void emit(std::vector<change> batch) {
    std::lock_guard<std::mutex> l(mu);
    if (!listener || batch.empty()) return;
    ++seq;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      batch[i].seq = seq;
      batch[i].index = static_cast<std::uint32_t>(i);
    }
    listener->on_changes(batch);
  }
  bool on() {
    std::lock_guard<std::mutex> l(mu);
    return listener != nullptr;
  }
};

static change vertex_change(change_type t, vertex v) {
  change c;
  c.type = t;
  c.v = std::move(v);
  return c;
}
static change edge_change(change_type t, edge e, std::string platform = {}) {
  change c;
  c.type = t;
  if (platform.empty()) platform = e.key.from.substr(0, e.key.from.find(':'));
  c.source_platform = std::move(platform);
  c.e = std::move(e);
  return c;
}

struct gremlin_store::impl {
  change_emitter changes;
  gremlin_store_options opts;
  dialect d = dialect::tinkerpop;
  templates t{dialect::tinkerpop, "pk"};
  std::unique_ptr<client> cl;
  std::unique_ptr<write_spool> spool;

  std::mutex queue_mu;
  std::condition_variable queue_cv;
  bool stopping = false;
  std::thread drainer;
  std::atomic<double> ru_total{0};
  counter_metric* m_requests_queued = nullptr;
  counter_metric* m_dead_letters = nullptr;

  result<std::vector<value>> run(const std::string& script, const value& bindings, bool idempotent = true) {
    submit_options so;
    so.idempotent = idempotent;
    result<reply> r = [&]() -> result<reply> {
      if (t.uses_bindings()) {
        bool groovy = d == dialect::tinkerpop || d == dialect::janusgraph;
        std::size_t n = bindings.items().size() / 2; // key, value pairs
        if (groovy && opts.max_bindings > 0 && n > opts.max_bindings) {
          script_request p = pack_bindings(script, bindings);
          return cl->execute(p.script, p.bindings, so);
        }
        return cl->execute(script, bindings, so);
      }
      auto text = inline_bindings(script, bindings);
      if (!text) return std::move(text).err();
      return cl->execute(*text, value::object(), so);
    }();
    if (!r) return std::move(r).err();
    if (r->request_charge > 0) {
      double cur = ru_total.load();
      while (!ru_total.compare_exchange_weak(cur, cur + r->request_charge)) {}
      log::debug(component, "request charge ", r->request_charge, " RU (total ", ru_total.load(), ")");
    }
    return std::move(r->data);
  }

  std::string key_v(std::string_view k) const { return encode_vertex_key(k, opts.partition_key); }

  vertex_view decode_vertex(const value& row) const {
    vertex_view vv;
    if (const value* vm = row.get("v"); vm && vm->is_mapping()) {
      const auto m = vm->items(); // key, value pairs
      for (std::size_t i = 0; i + 1 < m.size(); i += 2) {
        const std::string_view key = m[i].as_string();
        const value& v = m[i + 1];
        if (key == "vid") { vv.v.id = first_of(v).as_string(); continue; }
        auto user = decode_vertex_key(key, opts.partition_key);
        if (!user) continue;
        if (auto p = from_gs(first_of(v))) vv.v.props[*user] = *p;
      }
    }
    vv.in_degree = uint_of(row.get("i"));
    vv.out_degree = uint_of(row.get("o"));
    return vv;
  }

  static std::optional<edge> decode_edge(const value& row) {
    edge e;
    e.key.from = str_of(row.get("f"));
    e.key.to = str_of(row.get("t"));
    auto k = parse_edge_kind(str_of(row.get("k")));
    if (!k) return std::nullopt; // an edge tlflow did not write
    e.key.kind = *k;
    if (const value* pm = row.get("p"); pm && pm->is_mapping()) {
      const auto m = pm->items(); // key, value pairs
      for (std::size_t i = 0; i + 1 < m.size(); i += 2) {
        const std::string_view key = m[i].as_string();
        const value& x = first_of(m[i + 1]);
        if (key == "weight") e.weight = static_cast<std::uint64_t>(std::max<std::int64_t>(0, x.as_int()));
        else if (key == "first_seen") e.first_seen = x.as_string();
        else if (key == "last_seen") e.last_seen = x.as_string();
        else if (key.substr(0, 3) == "ht_") e.hashtags.emplace_back(key.substr(3));
        else if (auto user = decode_edge_key(key)) {
          if (auto p = from_gs(x)) e.props[*user] = *p;
        }
      }
    }
    std::sort(e.hashtags.begin(), e.hashtags.end());
    return e;
  }

  result<bool> exists(std::string_view id) {
    auto r = run(t.vertex_exists(), value::object({{"b_vid", value::string(std::string(id))}}));
    if (!r) return std::move(r).err();
    return !r->empty() && r->front().as_int() > 0;
  }

  // One page of edges, `limit` + 1 fetched to know whether more follow.
  result<edge_page> edges_page(const edge_query& q) {
    value b = value::object();
    if (q.from) b.put("b_from", value::string(*q.from));
    if (q.to) b.put("b_to", value::string(*q.to));
    if (q.kind) b.put("b_kind", value::string(std::string(to_string(*q.kind))));
    if (q.after) {
      b.put("b_af", value::string(q.after->from));
      b.put("b_at", value::string(q.after->to));
      b.put("b_ar", value::int64(kind_rank(q.after->kind)));
    }
    std::size_t limit = std::clamp<std::size_t>(q.limit, 1, 100000);
    b.put("b_limit", value::int64(static_cast<std::int64_t>(limit + 1)));
    auto r = run(t.list_edges(q.from.has_value(), q.to.has_value(), q.kind.has_value(), q.after.has_value()), b);
    if (!r) return std::move(r).err();
    edge_page page;
    for (const auto& row : *r)
      if (auto e = decode_edge(row)) page.edges.push_back(std::move(*e));
    if (page.edges.size() > limit) {
      page.edges.resize(limit);
      page.next_after = page.edges.back().key;
    }
    return page;
  }

  result<std::vector<edge>> all_edges(edge_query q) {
    std::vector<edge> out;
    q.limit = 1000;
    for (;;) {
      auto p = edges_page(q);
      if (!p) return std::move(p).err();
      for (auto& e : p->edges) out.push_back(std::move(e));
      if (!p->next_after) return out;
      q.after = p->next_after;
    }
  }

  // ---- batched apply -------------------------------------------------------

  struct edge_ref { // an edge_key whose strings live in apply()'s batch
    std::string_view from, to;
    edge_kind kind;
    bool operator==(const edge_ref& o) const { return from == o.from && to == o.to && kind == o.kind; }
  };
  struct edge_ref_hash {
    std::size_t operator()(const edge_ref& e) const noexcept {
      std::hash<std::string_view> h;
      return h(e.from) * 31 + h(e.to) * 7 + static_cast<std::size_t>(e.kind);
    }
  };

  // Builds the requests for one apply(): each account and each (from, to,
  // kind) once, merged over the batch (last non-empty property wins, times
  // widened, edge increments summed, hashtags united).
  std::vector<script_request> build_batches(const std::vector<interaction>& batch) {
    std::vector<batch_item> account_items, edge_items;
    std::unordered_map<std::string_view, std::size_t> account_at;
    std::unordered_map<edge_ref, std::size_t, edge_ref_hash> edge_at;
    account_at.reserve(batch.size() * 2);
    edge_at.reserve(batch.size());
    std::string now;
    auto widen = [](batch_item& x, const std::string& at) {
      if (x.first.empty() || at < x.first) x.first = at;
      if (x.last.empty() || at > x.last) x.last = at;
    };
    auto merge = [&](const account& a, const std::string& at) {
      auto [it, fresh] = account_at.try_emplace(a.id, account_items.size());
      if (fresh) {
        account_items.emplace_back();
        account_items.back().id = a.id;
      }
      batch_item& x = account_items[it->second];
      if (!a.platform.empty()) x.platform = a.platform;
      if (!a.handle.empty()) x.handle = a.handle;
      if (!a.name.empty()) x.name = a.name;
      if (!a.location.empty()) x.location = a.location;
      widen(x, at);
    };
    for (const auto& in : batch) {
      if (in.at.empty() && now.empty()) now = now_iso8601();
      const std::string& at = in.at.empty() ? now : in.at;
      merge(in.from, at);
      merge(in.to, at);
      auto [it, fresh] = edge_at.try_emplace(edge_ref{in.from.id, in.to.id, in.kind}, edge_items.size());
      if (fresh) {
        batch_item x;
        x.is_edge = true;
        x.from = in.from.id;
        x.to = in.to.id;
        x.kind = std::string(to_string(in.kind));
        x.rank = kind_rank(in.kind);
        edge_items.push_back(std::move(x));
      }
      batch_item& e = edge_items[it->second];
      e.increment += 1;
      for (const auto& h : in.hashtags) {
        if (h.empty()) continue;
        std::string key = "ht_" + h;
        if (std::find(e.hashtag_keys.begin(), e.hashtag_keys.end(), key) == e.hashtag_keys.end())
          e.hashtag_keys.push_back(std::move(key));
      }
      widen(e, at);
    }

    // Accounts first, then edges, cut into requests under max_request_bytes
    // and sent in this order: every edge's endpoints were upserted earlier
    // in its request or in an earlier one.
    std::vector<script_request> out;
    write_batch chunk;
    const std::size_t base = t.request_bytes_base();
    std::size_t bytes = base;
    auto flush = [&] {
      if (chunk.items.empty()) return;
      chunk.id = graphson::random_uuid();
      out.push_back(t.batch(chunk));
      chunk.items.clear();
      bytes = base;
    };
    auto add = [&](batch_item x) {
      std::size_t need = t.request_bytes(x);
      if (!chunk.items.empty() && bytes + need > opts.max_request_bytes) flush();
      bytes += need;
      chunk.items.push_back(std::move(x));
    };
    for (auto& x : account_items) add(std::move(x));
    for (auto& x : edge_items) {
      std::sort(x.hashtag_keys.begin(), x.hashtag_keys.end());
      add(std::move(x));
    }
    flush();
    return out;
  }

  // Sends one queued request as it is.
  status send(const script_request& w) {
    auto r = run(w.script, w.bindings, /*idempotent=*/false);
    if (!r) return std::move(r).err();
    return ok_v;
  }

  void drain_loop() {
    std::chrono::milliseconds wait{100};
    std::unique_lock<std::mutex> lock(queue_mu);
    while (!stopping) {
      if (spool->size() == 0) {
        queue_cv.wait(lock, [&] { return stopping || spool->size() > 0; });
        continue;
      }
      lock.unlock();
      auto w = spool->front();
      status s = w ? send(*w) : status(ok_v);
      lock.lock();
      if (s.ok()) {
        if (w) spool->pop();
        wait = std::chrono::milliseconds(100);
        if (spool->size() == 0) {
          log::info(component, "write queue drained");
          queue_cv.notify_all();
        }
        continue;
      }
      if (!retriable(s.err().code)) {
        log::error(component, "queued write rejected by the server, set aside: ", s.err().message);
        spool->pop_to_dead_letter();
        if (m_dead_letters) m_dead_letters->inc();
        continue;
      }
      queue_cv.wait_for(lock, wait, [&] { return stopping; });
      wait = std::min(wait * 2, std::chrono::milliseconds(5000));
    }
  }
};

gremlin_store_options options_from_config(const config& cfg) {
  gremlin_store_options o;
  o.client.url = cfg.gremlin_url;
  o.client.user = cfg.gremlin_user;
  o.client.password = cfg.gremlin_password;
  o.client.allow_plaintext_auth = cfg.gremlin_allow_plaintext_auth;
  o.client.ca_file = cfg.ca_file;
  o.dialect = cfg.gremlin_dialect;
  o.partition_key = cfg.gremlin_partition_key;
  if (!cfg.ephemeral) o.data_dir = cfg.data_dir;
  return o;
}

gremlin_store::gremlin_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

gremlin_store::~gremlin_store() { close(); }

result<std::unique_ptr<gremlin_store>> gremlin_store::open(const gremlin_store_options& opts) {
  auto d = parse_dialect(opts.dialect);
  if (!d) return error{errc::invalid_argument, "unknown gremlin dialect '" + opts.dialect +
                                                   "' (tinkerpop, janusgraph, cosmos, neptune)"};
  if (opts.partition_key.empty() ||
      opts.partition_key.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
          std::string::npos)
    return error{errc::invalid_argument, "gremlin partition key must be letters, digits or _"};
  auto p = std::make_unique<impl>();
  p->opts = opts;
  p->d = *d;
  p->t = templates(*d, opts.partition_key, opts.marker_slots);
  client_options co = opts.client;
  if (*d == dialect::cosmos) co.serializer = graphson::version::v2;
  auto c = client::create(co);
  if (!c) return std::move(c).err();
  p->cl = std::move(*c);
  auto sp = write_spool::open(opts.data_dir.empty() ? "" : opts.data_dir + "/gremlin-queue",
                              opts.max_queued_requests);
  if (!sp) return std::move(sp).err();
  p->spool = std::move(*sp);
  if (opts.metrics) {
    impl* raw = p.get();
    opts.metrics->callback_gauge("tlflow_gremlin_queued_requests", "Batched writes waiting for the Gremlin server",
                                 [raw] { return static_cast<double>(raw->spool->size()); });
    opts.metrics->callback_gauge("tlflow_gremlin_request_charge_total", "Cosmos DB request units consumed",
                                 [raw] { return raw->ru_total.load(); });
    p->m_requests_queued = &opts.metrics->counter("tlflow_gremlin_writes_queued_total",
                                                  "Batched write requests queued while the server was unreachable");
    p->m_dead_letters = &opts.metrics->counter("tlflow_gremlin_writes_rejected_total",
                                               "Queued writes the server rejected (kept in gremlin-queue/dead)");
  }
  impl* raw = p.get();
  p->drainer = std::thread([raw] { raw->drain_loop(); });
  log::info(component, "store on ", opts.client.url, " (", to_string(*d), ")");
  return std::unique_ptr<gremlin_store>(new gremlin_store(std::move(p)));
}

result<vertex_view> gremlin_store::get_vertex(std::string_view id) {
  auto r = impl_->run(impl_->t.get_vertex(), value::object({{"b_vid", value::string(std::string(id))}}));
  if (!r) return std::move(r).err();
  if (r->empty()) return error{errc::vertex_not_found, "no vertex " + std::string(id)};
  auto v = impl_->decode_vertex(r->front());
  v.v.id = std::string(id);
  return v;
}

result<put_vertex_result> gremlin_store::put_vertex(std::string_view id, const properties& set,
                                                    const std::vector<std::string>& unset) {
  if (auto why = validate_vertex_id(id); !why.empty()) return error{errc::invalid_id, why};
  value b = value::object({{"b_vid", value::string(std::string(id))}});
  std::size_t nk = 0, nu = 0;
  for (const auto& [k, v] : set) {
    b.put("b_k" + std::to_string(nk), value::string(impl_->key_v(k)));
    b.put("b_v" + std::to_string(nk++), to_gs(v));
  }
  for (const auto& k : unset) {
    if (set.count(k)) continue;
    b.put("b_u" + std::to_string(nu++), value::string(impl_->key_v(k)));
  }
  auto r = impl_->run(impl_->t.put_vertex(nk, nu), b);
  if (!r) return std::move(r).err();
  if (r->empty()) return error{errc::internal, "gremlin: put_vertex returned nothing"};
  put_vertex_result out;
  out.created = uint_of(r->front().get("c")) == 0;
  out.vertex = impl_->decode_vertex(r->front());
  out.vertex.v.id = std::string(id);
  if (impl_->changes.on())
    impl_->changes.emit({vertex_change(out.created ? change_type::vertex_created : change_type::vertex_updated,
                                       out.vertex.v)});
  return out;
}

result<removed_set> gremlin_store::remove_vertex(std::string_view id) {
  auto v = get_vertex(id);
  if (!v) return std::move(v).err();
  removed_set out;
  out.removed_vertex = v->v;
  edge_query q;
  q.from = std::string(id);
  auto outs = impl_->all_edges(q);
  if (!outs) return std::move(outs).err();
  q.from.reset();
  q.to = std::string(id);
  auto ins = impl_->all_edges(q);
  if (!ins) return std::move(ins).err();
  out.edges = std::move(*outs);
  for (auto& e : *ins)
    if (e.key.from != e.key.to) out.edges.push_back(std::move(e)); // self-loops came with outs
  auto r = impl_->run(impl_->t.remove_vertex(), value::object({{"b_vid", value::string(std::string(id))}}));
  if (!r) return std::move(r).err();
  if (impl_->changes.on()) {
    std::vector<change> cs;
    for (const auto& e : out.edges) cs.push_back(edge_change(change_type::edge_removed, e));
    cs.push_back(vertex_change(change_type::vertex_removed, *out.removed_vertex));
    impl_->changes.emit(std::move(cs));
  }
  return out;
}

result<vertex_page> gremlin_store::list_vertices(const vertex_query& q) {
  std::size_t limit = std::clamp<std::size_t>(q.limit, 1, 1000);
  value b = value::object({{"b_after", value::string(q.after.value_or(""))},
                           {"b_prefix", value::string(q.prefix)},
                           {"b_limit", value::int64(static_cast<std::int64_t>(limit + 1))}});
  auto r = impl_->run(impl_->t.list_vertices(), b);
  if (!r) return std::move(r).err();
  vertex_page page;
  for (const auto& row : *r) page.vertices.push_back(impl_->decode_vertex(row));
  if (page.vertices.size() > limit) {
    page.vertices.resize(limit);
    page.next_after = page.vertices.back().v.id;
  }
  return page;
}

result<std::uint64_t> gremlin_store::count_vertices() {
  auto r = impl_->run(impl_->t.count_vertices(), value::object());
  if (!r) return std::move(r).err();
  return r->empty() ? 0 : uint_of(&r->front());
}

result<std::uint64_t> gremlin_store::count_edges() {
  auto r = impl_->run(impl_->t.count_edges(), value::object());
  if (!r) return std::move(r).err();
  return r->empty() ? 0 : uint_of(&r->front());
}

result<std::vector<neighbor>> gremlin_store::neighbors(std::string_view id, const neighbor_query& q) {
  std::vector<neighbor> out;
  std::size_t limit = std::max<std::size_t>(q.limit, 1);
  // A slice filter: every adjacent edge whole, filtered here, then the
  // order and the limit (a server-side limit would cut before the filter).
  const bool filtered = !q.where.whole_graph();
  for (bool outward : {true, false}) {
    if (q.dir == direction::out && !outward) continue;
    if (q.dir == direction::in && outward) continue;
    if (filtered) {
      value b = value::object({{"b_vid", value::string(std::string(id))}});
      if (q.kind) b.put("b_kind", value::string(std::string(to_string(*q.kind))));
      auto r = impl_->run(impl_->t.neighbor_edges(outward, q.kind.has_value()), b);
      if (!r) return std::move(r).err();
      for (const auto& row : *r) {
        auto e = impl::decode_edge(row);
        if (!e || !q.where.admits(*e)) continue;
        if (!q.where.platforms.empty()) {
          const std::string platform = str_of(row.get("s") ? row.get("s")->get("platform") : nullptr);
          if (std::find(q.where.platforms.begin(), q.where.platforms.end(), platform) ==
              q.where.platforms.end())
            continue;
        }
        out.push_back(neighbor{outward ? e->key.to : e->key.from, e->key.kind,
                               outward ? direction::out : direction::in, e->weight});
      }
      continue;
    }
    value b = value::object({{"b_vid", value::string(std::string(id))},
                             {"b_limit", value::int64(static_cast<std::int64_t>(limit))}});
    if (q.kind) b.put("b_kind", value::string(std::string(to_string(*q.kind))));
    auto r = impl_->run(impl_->t.neighbors(outward, q.kind.has_value()), b);
    if (!r) return std::move(r).err();
    for (const auto& row : *r) {
      auto k = parse_edge_kind(str_of(row.get("k")));
      if (!k) continue;
      out.push_back(neighbor{str_of(row.get("n")), *k, outward ? direction::out : direction::in,
                             uint_of(row.get("w"))});
    }
  }
  if (out.empty()) {
    auto e = impl_->exists(id);
    if (!e) return std::move(e).err();
    if (!*e) return error{errc::vertex_not_found, "no vertex " + std::string(id)};
  }
  // As the memory store: heaviest first, then id, kind, direction.
  std::sort(out.begin(), out.end(), [](const neighbor& a, const neighbor& b) {
    if (a.weight != b.weight) return a.weight > b.weight;
    return std::tie(a.id, a.kind, a.dir) < std::tie(b.id, b.kind, b.dir);
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

result<edge_page> gremlin_store::list_edges(const edge_query& q) { return impl_->edges_page(q); }

result<add_edge_result> gremlin_store::add_edge(const add_edge_request& req) {
  if (auto why = validate_vertex_id(req.key.from); !why.empty()) return error{errc::invalid_id, "from: " + why};
  if (auto why = validate_vertex_id(req.key.to); !why.empty()) return error{errc::invalid_id, "to: " + why};
  value b = value::object({{"b_from", value::string(req.key.from)},
                           {"b_to", value::string(req.key.to)},
                           {"b_kind", value::string(std::string(to_string(req.key.kind)))},
                           {"b_kr", value::int64(kind_rank(req.key.kind))},
                           {"b_at", value::string(req.at.empty() ? now_iso8601() : req.at)},
                           {"b_one", value::int64(1)},
                           {"b_zero", value::int64(0)}});
  std::size_t n = 0;
  for (const auto& [k, v] : req.props) {
    b.put("b_k" + std::to_string(n), value::string(encode_edge_key(k)));
    b.put("b_v" + std::to_string(n++), to_gs(v));
  }
  auto r = impl_->run(impl_->t.add_edge(n), b, /*idempotent=*/false);
  if (!r) return std::move(r).err();
  if (r->empty()) return error{errc::internal, "gremlin: add_edge returned nothing"};
  auto e = impl::decode_edge(r->front());
  if (!e) return error{errc::internal, "gremlin: add_edge returned an unknown edge"};
  add_edge_result out;
  out.created = e->weight == 1;
  out.e = std::move(*e);
  if (impl_->changes.on())
    impl_->changes.emit({edge_change(out.created ? change_type::edge_created : change_type::edge_changed, out.e)});
  return out;
}

result<removed_set> gremlin_store::remove_edges(std::string_view from, std::string_view to,
                                                std::optional<edge_kind> kind) {
  edge_query q;
  q.from = std::string(from);
  q.to = std::string(to);
  q.kind = kind;
  auto edges = impl_->all_edges(q);
  if (!edges) return std::move(edges).err();
  if (edges->empty()) return error{errc::edge_not_found, "no such edge"};
  value b = value::object({{"b_from", value::string(std::string(from))}, {"b_to", value::string(std::string(to))}});
  if (kind) b.put("b_kind", value::string(std::string(to_string(*kind))));
  auto r = impl_->run(impl_->t.remove_edges(kind.has_value()), b);
  if (!r) return std::move(r).err();
  removed_set out;
  out.edges = std::move(*edges);
  if (impl_->changes.on()) {
    std::vector<change> cs;
    for (const auto& e : out.edges) cs.push_back(edge_change(change_type::edge_removed, e));
    impl_->changes.emit(std::move(cs));
  }
  return out;
}

result<std::vector<std::string>> gremlin_store::shortest_path(std::string_view from, std::string_view to,
                                                              const path_query& q) {
  for (auto id : {from, to}) {
    auto e = impl_->exists(id);
    if (!e) return std::move(e).err();
    if (!*e) return error{errc::vertex_not_found, "no vertex " + std::string(id)};
  }
  if (from == to) return std::vector<std::string>{std::string(from)};
  unsigned depth = std::clamp(q.max_depth, 1u, 32u); // Cosmos DB: repeat() <= 32
  value b = value::object({{"b_from", value::string(std::string(from))},
                           {"b_to", value::string(std::string(to))},
                           {"b_depth", value::int32(static_cast<std::int32_t>(depth))}});
  if (q.kind) b.put("b_kind", value::string(std::string(to_string(*q.kind))));
  auto r = impl_->run(impl_->t.shortest_path(q.directed, q.kind.has_value()), b);
  if (!r) return std::move(r).err();
  if (r->empty()) return error{errc::no_path, "no path within " + std::to_string(depth) + " hops"};
  const value* objects = r->front().get("objects");
  if (!objects) return error{errc::internal, "gremlin: path without objects"};
  std::vector<std::string> out;
  for (const auto& o : objects->items()) out.emplace_back(first_of(o).as_string());
  return out;
}

status gremlin_store::restore(const removed_set& removed) {
  if (removed.removed_vertex) {
    const vertex& v = *removed.removed_vertex;
    value b = value::object({{"b_vid", value::string(v.id)}});
    std::size_t n = 0;
    for (const auto& [k, x] : v.props) {
      b.put("b_k" + std::to_string(n), value::string(impl_->key_v(k)));
      b.put("b_v" + std::to_string(n++), to_gs(x));
    }
    auto r = impl_->run(impl_->t.restore_vertex(n), b);
    if (!r) return std::move(r).err();
  }
  for (const auto& e : removed.edges) {
    value b = value::object({{"b_from", value::string(e.key.from)},
                             {"b_to", value::string(e.key.to)},
                             {"b_kind", value::string(std::string(to_string(e.key.kind)))},
                             {"b_kr", value::int64(kind_rank(e.key.kind))},
                             {"b_w", value::int64(static_cast<std::int64_t>(e.weight))},
                             {"b_fs", value::string(e.first_seen)},
                             {"b_ls", value::string(e.last_seen)}});
    std::size_t n = 0;
    for (const auto& h : e.hashtags) {
      b.put("b_k" + std::to_string(n), value::string("ht_" + h));
      b.put("b_v" + std::to_string(n++), value::boolean(true));
    }
    for (const auto& [k, x] : e.props) {
      b.put("b_k" + std::to_string(n), value::string(encode_edge_key(k)));
      b.put("b_v" + std::to_string(n++), to_gs(x));
    }
    auto r = impl_->run(impl_->t.restore_edge(n), b);
    if (!r) return std::move(r).err();
  }
  if (impl_->changes.on()) {
    // Restores overwrite: reported as changes of what they put back.
    std::vector<change> cs;
    if (removed.removed_vertex) cs.push_back(vertex_change(change_type::vertex_updated, *removed.removed_vertex));
    for (const auto& e : removed.edges) cs.push_back(edge_change(change_type::edge_changed, e));
    impl_->changes.emit(std::move(cs));
  }
  return ok_v;
}

status gremlin_store::apply(const std::vector<interaction>& batch) {
  for (const auto& in : batch) {
    if (auto why = validate_vertex_id(in.from.id); !why.empty()) return error{errc::invalid_id, "from: " + why};
    if (auto why = validate_vertex_id(in.to.id); !why.empty()) return error{errc::invalid_id, "to: " + why};
  }
  if (batch.empty()) return ok_v;
  if (impl_->changes.on()) {
    // Queued writes: the weights after them are not known here, so an
    // ingested edge is reported with weight 0 (docs/live.md).
    std::vector<change> cs;
    for (const auto& in : batch) {
      edge e;
      e.key = {in.from.id, in.to.id, in.kind};
      e.weight = 0;
      e.hashtags = in.hashtags;
      e.first_seen = e.last_seen = in.at;
      cs.push_back(edge_change(change_type::edge_changed, std::move(e), in.from.platform));
    }
    impl_->changes.emit(std::move(cs));
  }
  auto requests = impl_->build_batches(batch);
  impl& p = *impl_;
  std::size_t i = 0;
  {
    std::lock_guard<std::mutex> lock(p.queue_mu);
    bool queue_busy = p.spool->size() > 0;
    if (queue_busy) { // keep the order: behind what is already queued
      for (; i < requests.size(); ++i) {
        status s = p.spool->push(requests[i]);
        if (!s) return s;
        if (p.m_requests_queued) p.m_requests_queued->inc();
      }
      p.queue_cv.notify_all();
      return ok_v;
    }
  }
  for (; i < requests.size(); ++i) {
    status s = p.send(requests[i]);
    if (s.ok()) continue;
    if (!retriable(s.err().code)) return s;
    log::warn(component, "server unreachable, queueing writes: ", s.err().message);
    std::lock_guard<std::mutex> lock(p.queue_mu);
    for (; i < requests.size(); ++i) {
      status q = p.spool->push(requests[i]);
      if (!q) return q;
      if (p.m_requests_queued) p.m_requests_queued->inc();
    }
    p.queue_cv.notify_all();
    return ok_v;
  }
  return ok_v;
}

result<std::vector<location_flow>> gremlin_store::location_flows(std::size_t limit) {
  auto r = impl_->run(impl_->t.location_flows(), value::object());
  if (!r) return std::move(r).err();
  std::map<std::pair<std::string, std::string>, location_flow> agg;
  for (const auto& row : *r) {
    std::string a = normalize_location(str_of(row.get("a")));
    std::string b = normalize_location(str_of(row.get("b")));
    auto& f = agg[{a, b}];
    if (!a.empty()) f.from_location = a;
    if (!b.empty()) f.to_location = b;
    f.weight += uint_of(row.get("w"));
    f.edges += 1;
  }
  std::vector<location_flow> out;
  out.reserve(agg.size());
  for (auto& [k, f] : agg) out.push_back(std::move(f));
  order_location_flows(out, limit);
  return out;
}

std::uint64_t gremlin_store::set_change_listener(change_listener* listener) {
  std::lock_guard<std::mutex> l(impl_->changes.mu);
  impl_->changes.listener = listener;
  return impl_->changes.seq;
}

store_health gremlin_store::health() {
  store_health h;
  h.queued_writes = impl_->spool->size();
  h.ok = impl_->cl->healthy();
  h.detail = std::string(h.ok ? "connected to " : "cannot reach ") + impl_->opts.client.url;
  return h;
}

bool gremlin_store::drain(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(impl_->queue_mu);
  impl_->queue_cv.notify_all();
  return impl_->queue_cv.wait_for(lock, timeout, [&] { return impl_->spool->size() == 0; });
}

std::size_t gremlin_store::queued() const { return impl_->spool->size(); }

void gremlin_store::close() {
  if (!impl_ || !impl_->drainer.joinable()) return;
  if (impl_->spool->size() > 0 && !drain(impl_->opts.close_drain_timeout))
    log::warn(component, impl_->spool->size(), " writes stay queued for the next start");
  {
    std::lock_guard<std::mutex> lock(impl_->queue_mu);
    impl_->stopping = true;
  }
  impl_->queue_cv.notify_all();
  impl_->drainer.join();
  impl_->cl->close();
}

} // namespace tlflow::gremlin
