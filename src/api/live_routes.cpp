#include "api/live_routes.hpp"

#include <mutex>

#include "analytics/engine.hpp"

#include "api/json.hpp"
#include "api/slice_params.hpp"

namespace tlflow::api {
namespace {

constexpr std::size_t piece_bytes = 64 << 10; // initial Gephi slice, per piece

// The filters of a subscription: the slice parameters, plus the ego set.
live::filter parse_filter(const request& q) {
  live::filter f;
  f.s = parse_slice(q);
  if (auto a = q.query_value("around")) {
    if (auto why = validate_vertex_id(*a); !why.empty())
      throw api_error(errc::invalid_argument, "around: " + why);
    f.around = *a;
  }
  if (auto r = q.query_value("radius")) {
    if (*r != "1" && *r != "2") throw api_error(errc::invalid_argument, "radius: must be 1 or 2");
    if (f.around.empty()) throw api_error(errc::invalid_argument, "radius: needs around");
    f.radius = static_cast<unsigned>((*r)[0] - '0');
  }
  return f;
}

std::optional<live::event_id> parse_after(const request& q) {
  std::optional<std::string> text = q.query_value("after");
  if (!text) text = q.header("last-event-id");
  if (!text || text->empty()) return std::nullopt;
  auto id = live::event_id::parse(*text);
  if (!id) throw api_error(errc::invalid_argument, "after / Last-Event-ID: not an event id (S or S.N)");
  return id;
}

response full() {
  return json_response(503, error_body(errc::overloaded, "too many changefeed subscribers; try again later"));
}

// A streamed body fed by the changefeed: the body_producer the server pulls
// from, and the sink the dispatcher pushes into, one piece at a time.
class stream_body final : public body_producer,
                          public live::sink,
                          public std::enable_shared_from_this<stream_body> {
public:
  explicit stream_body(live::changefeed& feed) : feed_(feed) {}

  void start(std::shared_ptr<live::changefeed::subscription> sub, std::string first) {
    std::lock_guard<std::mutex> l(mu_);
    sub_ = std::move(sub);
    first_ = std::move(first);
  }

  void next(deliver_fn deliver) override {
    std::unique_lock<std::mutex> l(mu_);
    if (ended_) {
      l.unlock();
      return deliver(std::nullopt);
    }
    if (!first_.empty()) {
      std::string piece = first_.substr(0, piece_bytes);
      first_.erase(0, piece.size());
      l.unlock();
      return deliver(std::move(piece));
    }
    deliver_ = std::move(deliver);
    l.unlock();
    feed_.wake();
  }

  void cancel() override { finish(); }

  bool ready() override {
    std::lock_guard<std::mutex> l(mu_);
    return deliver_ != nullptr && !ended_;
  }

  void put(std::string piece, bool last) override {
    deliver_fn d;
    {
      std::lock_guard<std::mutex> l(mu_);
      d = std::move(deliver_);
      deliver_ = nullptr;
      if (last) ended_ = true;
    }
    if (last) finish();
    if (!d) return;
    if (piece.empty()) return d(std::nullopt);
    d(std::move(piece));
  }

private:
  void finish() {
    std::shared_ptr<live::changefeed::subscription> sub;
    {
      std::lock_guard<std::mutex> l(mu_);
      ended_ = true;
      sub = std::move(sub_);
    }
    if (sub) feed_.unsubscribe(sub);
  }

  live::changefeed& feed_;
  std::mutex mu_;
  deliver_fn deliver_;
  std::string first_;
  bool ended_ = false;
  std::shared_ptr<live::changefeed::subscription> sub_;
};

// The WebSocket: one JSON message per event; `{"type":"subscribe",...}`
// from the client replaces the filters.
class ws_feed final : public websocket_handler,
                      public live::sink,
                      public std::enable_shared_from_this<ws_feed> {
public:
  ws_feed(live::changefeed& feed, graph_store& store, live::filter f, std::optional<live::event_id> after)
      : feed_(feed), store_(store), filter_(std::move(f)), after_(after) {}

  void on_open(std::shared_ptr<websocket_connection> c) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      conn_ = c;
    }
    sub_ = feed_.subscribe(live::wire::ws, filter_, after_, shared_from_this(), &store_);
    if (!sub_) {
      c->send(error_body(errc::overloaded, "too many changefeed subscribers; try again later"));
      c->close();
    }
  }

  void on_message(std::string text) override {
    request q;
    try {
      rapidjson::Document d;
      d.Parse(text.data(), text.size());
      if (d.HasParseError() || !d.IsObject()) throw api_error(errc::malformed_json, "a message must be a JSON object");
      auto t = d.FindMember("type");
      if (t == d.MemberEnd() || !t->value.IsString() || std::string_view(t->value.GetString()) != "subscribe")
        throw api_error(errc::invalid_argument, "type: only \"subscribe\" is understood");
      for (auto it = d.MemberBegin(); it != d.MemberEnd(); ++it) {
        const std::string name = it->name.GetString();
        if (name == "type") continue;
        auto add = [&](const rapidjson::Value& v) {
          if (v.IsString()) q.query.emplace(name, v.GetString());
          else if (v.IsUint64()) q.query.emplace(name, std::to_string(v.GetUint64()));
          else throw api_error(errc::invalid_argument, name + ": a string, a number or a list of them");
        };
        if (it->value.IsArray()) {
          for (const auto& v : it->value.GetArray()) add(v);
        } else {
          add(it->value);
        }
      }
      live::filter f = parse_filter(q);
      if (sub_) feed_.refilter(sub_, f, &store_);
      send("{\"type\":\"subscribed\",\"query\":\"" + slice_query(f.s) + "\"}");
    } catch (const api_error& e) {
      send(error_body(e.code(), e.what()));
    }
  }

  void on_close() override {
    if (sub_) feed_.unsubscribe(sub_);
    sub_.reset();
    std::lock_guard<std::mutex> l(mu_);
    conn_.reset();
  }

  bool ready() override {
    std::lock_guard<std::mutex> l(mu_);
    return conn_ != nullptr;
  }

  void put(std::string piece, bool last) override {
    std::shared_ptr<websocket_connection> c;
    {
      std::lock_guard<std::mutex> l(mu_);
      c = conn_;
    }
    if (!c) return;
    if (!piece.empty()) c->send(std::move(piece));
    if (last) c->close();
  }

private:
  void send(std::string text) {
    std::lock_guard<std::mutex> l(mu_);
    if (conn_) conn_->send(std::move(text));
  }

  live::changefeed& feed_;
  graph_store& store_;
  live::filter filter_;
  std::optional<live::event_id> after_;
  std::mutex mu_;
  std::shared_ptr<websocket_connection> conn_;
  std::shared_ptr<live::changefeed::subscription> sub_;
};

// The current slice as Gephi lines: nodes (with the attributes of `attrs`
// when there are any), then edges.
class gephi_scan final : public scan_sink {
public:
  explicit gephi_scan(std::shared_ptr<const live::node_attributes> a) : attrs(std::move(a)) {}
  status vertices(std::vector<vertex_view>& chunk) override {
    for (const auto& v : chunk) {
      std::optional<live::node_attributes::values> a;
      if (attrs) a = attrs->of(v.v.id);
      out += live::gephi_node(v.v, "an", a ? &*a : nullptr);
      ids.push_back(v.v.id);
    }
    return ok_v;
  }
  status edges(std::vector<edge>& chunk) override {
    for (const auto& e : chunk) out += live::gephi_edge(e, "ae");
    return ok_v;
  }
  std::shared_ptr<const live::node_attributes> attrs;
  std::string out;
  std::vector<std::string> ids;
};

// One published analytics snapshot as node attributes.
class snapshot_attributes final : public live::node_attributes {
public:
  explicit snapshot_attributes(std::shared_ptr<const analytics::snapshot> snap) : snap_(std::move(snap)) {
    auto found = snap_->louvain(0);
    if (found) communities_ = std::move(found->community);
  }
  std::optional<values> of(const std::string& id) const override {
    const auto i = snap_->graph().index_of(id);
    const auto& scores = snap_->pagerank().scores;
    if (i < 0 || static_cast<std::size_t>(i) >= scores.size() ||
        static_cast<std::size_t>(i) >= communities_.size())
      return std::nullopt;
    return values{scores[static_cast<std::size_t>(i)], communities_[static_cast<std::size_t>(i)]};
  }
  const analytics::snapshot* source() const { return snap_.get(); }

private:
  std::shared_ptr<const analytics::snapshot> snap_;
  std::vector<std::uint32_t> communities_;
};

// HEAD: the headers a GET would get, and no subscription (the server sends
// no body for it, so a subscription would never be read nor ended).
std::optional<response> head_only(const request& q, const char* content_type) {
  if (q.method != "HEAD") return std::nullopt;
  response r;
  r.content_type = content_type;
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

response event_stream(std::shared_ptr<body_producer> body, std::string content_type) {
  response r;
  r.content_type = std::move(content_type);
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Accel-Buffering", "no");
  r.stream = std::move(body);
  return r;
}

} // namespace

void add_live_routes(router& r, live::changefeed& feed, graph_store& store) {
  route_options read;
  read.needed = access::read;

  r.add_route("GET", "/changes", [&feed, &store](const request& q) {
    live::filter f = parse_filter(q);
    auto after = parse_after(q);
    if (auto h = head_only(q, "text/event-stream; charset=utf-8")) return *h;
    auto body = std::make_shared<stream_body>(feed);
    auto sub = feed.subscribe(live::wire::sse, std::move(f), after, body, &store);
    if (!sub) return full();
    body->start(std::move(sub), "retry: 2000\n\n");
    return event_stream(body, "text/event-stream; charset=utf-8");
  }, read);

  r.add_route("GET", "/changes/ws", [&feed, &store](const request& q) {
    live::filter f = parse_filter(q);
    auto after = parse_after(q);
    if (feed.full()) return full();
    response res;
    res.websocket = std::make_shared<ws_feed>(feed, store, std::move(f), after);
    return res;
  }, read);

  route_options heavy = read;
  heavy.heavy = true;
  r.add_route("GET", "/gephi", [&feed, &store](const request& q) {
    live::filter f = parse_filter(q);
    if (auto h = head_only(q, "application/x-ndjson")) return *h;
    auto body = std::make_shared<stream_body>(feed);
    const slice s = f.s;
    // Subscribed first: whatever changes during the scan follows it.
    auto sub = feed.subscribe(live::wire::gephi, std::move(f), std::nullopt, body, &store);
    if (!sub) return full();
    gephi_scan scan(feed.attributes());
    if (auto st = store.scan(s, scan); !st) {
      feed.unsubscribe(sub);
      throw api_error(st.err());
    }
    feed.know(sub, scan.ids, scan.attrs);
    if (scan.out.empty()) scan.out = "\r\n";
    body->start(std::move(sub), std::move(scan.out));
    return event_stream(body, "application/x-ndjson");
  }, heavy);
}

live::attributes_source analytics_attributes(analytics_routes& analytics) {
  struct cache {
    std::mutex mu;
    std::shared_ptr<const snapshot_attributes> last;
  };
  auto c = std::make_shared<cache>();
  return [&analytics, c]() -> std::shared_ptr<const live::node_attributes> {
    auto snap = analytics.published();
    if (!snap) return nullptr;
    std::lock_guard<std::mutex> l(c->mu);
    if (!c->last || c->last->source() != snap.get()) c->last = std::make_shared<snapshot_attributes>(snap);
    return c->last;
  };
}

} // namespace tlflow::api
