// The core and legacy routes. Each handler: parse and validate the request,
// call the store, serialize the result. Failures are thrown as api_error and
// turned into the error object by the server (api/server.cpp).
#include "api/routes.hpp"

#include <cstdlib>

#include "api/cursor.hpp"
#include "util/log.hpp"

namespace tlflow::api {
namespace {

constexpr std::size_t default_limit = 100;
constexpr std::size_t max_limit = 1000;

std::string finish(rapidjson::StringBuffer& sb) { return std::string(sb.GetString(), sb.GetSize()); }

// ---- request parsing -------------------------------------------------------

const std::string& checked_id(const std::string& id, std::string_view what) {
  const std::string why = validate_vertex_id(id);
  if (!why.empty()) throw api_error(errc::invalid_id, std::string(what) + ": " + why);
  return id;
}

std::size_t parse_uint(const std::string& text, std::string_view name, std::size_t lo,
                       std::size_t hi) {
  bool digits = !text.empty() && text.size() <= 9;
  for (char c : text) digits = digits && c >= '0' && c <= '9';
  const std::size_t v = digits ? static_cast<std::size_t>(std::strtoul(text.c_str(), nullptr, 10)) : 0;
  if (!digits || v < lo || v > hi) {
    throw api_error(errc::invalid_argument, std::string(name) + " must be an integer from " +
                                                std::to_string(lo) + " to " + std::to_string(hi));
  }
  return v;
}

std::size_t limit_param(const request& q) {
  auto v = q.query_value("limit");
  return v ? parse_uint(*v, "limit", 1, max_limit) : default_limit;
}

bool bool_param(const request& q, std::string_view name, bool fallback) {
  auto v = q.query_value(name);
  if (!v) return fallback;
  if (*v == "true" || *v == "1") return true;
  if (*v == "false" || *v == "0") return false;
  throw api_error(errc::invalid_argument, std::string(name) + " must be true or false");
}

std::optional<edge_kind> kind_param(const request& q) {
  auto v = q.query_value("kind");
  if (!v || v->empty()) return std::nullopt;
  auto k = parse_edge_kind(*v);
  if (!k) {
    throw api_error(errc::invalid_argument,
                    "kind must be one of mention, reply, repost, quote, link");
  }
  return k;
}

std::optional<std::string> id_param(const request& q, std::string_view name) {
  auto v = q.query_value(name);
  if (!v) return std::nullopt;
  checked_id(*v, name);
  return v;
}

std::string_view direction_name(direction d) {
  switch (d) {
    case direction::out: return "out";
    case direction::in: return "in";
    case direction::both: return "both";
  }
  return "both";
}

// ---- responses ------------------------------------------------------------

response vertex_response(int status, const vertex_view& v) {
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  write_vertex(w, v);
  return json_response(status, finish(sb));
}

response count_response(std::uint64_t n) {
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  w.Key("count");
  w.Uint64(n);
  w.EndObject();
  return json_response(200, finish(sb));
}

response deleted_response(api_context& ctx, removed_set removed) {
  const std::uint64_t vertices = removed.removed_vertex ? 1 : 0;
  const std::uint64_t edges = removed.edges.size();
  const std::string ticket = ctx.tickets.issue(std::move(removed));
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  w.Key("deleted");
  w.StartObject();
  w.Key("vertices");
  w.Uint64(vertices);
  w.Key("edges");
  w.Uint64(edges);
  w.EndObject();
  w.Key("undo_ticket");
  write_string(w, ticket);
  w.EndObject();
  response r = json_response(200, finish(sb));
  r.headers.emplace_back("X-Undo-Ticket", ticket);
  return r;
}

response path_response(const std::vector<std::string>& path) {
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  w.Key("path");
  w.StartArray();
  for (const auto& id : path) write_string(w, id);
  w.EndArray();
  w.Key("length");
  w.Uint64(path.empty() ? 0 : path.size() - 1);
  w.EndObject();
  return json_response(200, finish(sb));
}

response edge_response(const add_edge_result& res) {
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  write_edge(w, res.e);
  return json_response(res.created ? 201 : 200, finish(sb));
}

// ---- domain calls shared by new and legacy routes --------------------------

response put_vertex(api_context& ctx, const std::string& raw_id, const request& q) {
  const std::string& id = checked_id(raw_id, "vertex id");
  properties set;
  std::vector<std::string> unset;
  if (auto doc = parse_body(q)) {
    if (!doc->IsObject()) throw api_error(errc::invalid_argument, "body must be a JSON object");
    for (auto it = doc->MemberBegin(); it != doc->MemberEnd(); ++it) {
      if (std::string_view(it->name.GetString(), it->name.GetStringLength()) != "properties") {
        throw api_error(errc::invalid_argument,
                        std::string("unknown field '") + it->name.GetString() + "'");
      }
      read_properties(it->value, "properties", set, &unset);
    }
  }
  auto res = unwrap(ctx.store.put_vertex(id, set, unset));
  return vertex_response(res.created ? 201 : 200, res.vertex);
}

response add_edge(api_context& ctx, add_edge_request req) {
  checked_id(req.key.from, "from");
  checked_id(req.key.to, "to");
  return edge_response(unwrap(ctx.store.add_edge(req)));
}

path_query path_query_of(api_context& ctx, const request& q, const std::string& from,
                         const std::string& to) {
  checked_id(from, "from");
  checked_id(to, "to");
  path_query pq;
  pq.directed = bool_param(q, "directed", false);
  if (auto d = q.query_value("max_depth")) {
    pq.max_depth = static_cast<unsigned>(parse_uint(*d, "max_depth", 1, 32));
  }
  pq.kind = kind_param(q);
  pq.max_visited = ctx.path_budget;
  return pq;
}

response shortest_path(api_context& ctx, const request& q, const std::string& from,
                       const std::string& to) {
  return path_response(unwrap(ctx.store.shortest_path(from, to, path_query_of(ctx, q, from, to))));
}

// Vertices the first, inline attempt may visit (tens of microseconds): most
// searches between accounts that talk to each other end well within it, and
// answering them on the I/O thread saves two thread hand-offs, which cost
// more than the search (docs/api.md, "HTTP throughput").
constexpr std::size_t inline_path_budget = 4096;

// The route's quick attempt (route_options::quick): the memory store only,
// since a remote store would hold the I/O thread for a round trip. nullopt
// when the search needs more than the inline budget: the worker pool then
// runs it again with the whole budget.
std::optional<response> quick_shortest_path(api_context& ctx, const request& q, const std::string& from,
                                            const std::string& to) {
  if (ctx.store.kind() != "memory") return std::nullopt;
  path_query pq = path_query_of(ctx, q, from, to);
  const std::size_t full = pq.max_visited;
  if (full == 0 || full > inline_path_budget) pq.max_visited = inline_path_budget;
  auto found = ctx.store.shortest_path(from, to, pq);
  if (!found && found.err().code == errc::too_expensive && pq.max_visited != full) return std::nullopt;
  return path_response(unwrap(std::move(found)));
}

// ---- handlers --------------------------------------------------------------

// Hands the backup's pieces to the server one at a time (it asks for the next
// once the previous one is on the socket, so a slow client holds back the
// reading, not memory). A read error ends the body early: the container then
// lacks its end part, which `tlflow restore` refuses.
class backup_producer final : public body_producer {
public:
  explicit backup_producer(piece_source source) : source_(std::move(source)) {}
  void next(deliver_fn deliver) override {
    auto piece = source_();
    if (!piece) {
      log::error("api", "GET /backup stopped early: ", piece.err().message);
      deliver(std::nullopt);
      return;
    }
    deliver(std::move(*piece));
  }

private:
  piece_source source_;
};

response get_backup(api_context& ctx) {
  if (!ctx.open_backup) {
    if (ctx.store.kind() == "gremlin")
      throw api_error(errc::not_supported,
                      "backups of a Gremlin store are the database's job: tlflow keeps none of the "
                      "graph's data itself; back up with the Gremlin server's or the database's own "
                      "tools (docs/memory-store.md, \"Backups\")");
    throw api_error(errc::not_supported, "this store cannot be backed up by tlflow");
  }
  response res;
  res.content_type = "application/octet-stream";
  res.headers.emplace_back("Content-Disposition", "attachment; filename=\"tlflow.backup\"");
  res.stream = std::make_shared<backup_producer>(unwrap(ctx.open_backup()));
  return res;
}

response get_status(api_context& ctx) {
  const store_health health = ctx.store.health();
  // Counts only from a reachable store: a health check must not wait for
  // the store's retries (seconds) to learn what store_ok already says.
  result<std::uint64_t> vertices = error{errc::store_unavailable, ""};
  result<std::uint64_t> edges = error{errc::store_unavailable, ""};
  if (health.ok) {
    vertices = ctx.store.count_vertices();
    edges = ctx.store.count_edges();
  }
  const auto uptime =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - ctx.started);
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  w.Key("status");
  w.String("OK");
  w.Key("version");
  w.String(TLFLOW_VERSION);
  w.Key("store");
  write_string(w, ctx.store.kind());
  w.Key("store_ok");
  w.Bool(health.ok);
  if (!health.detail.empty()) {
    w.Key("store_detail");
    write_string(w, health.detail);
  }
  w.Key("queued_writes");
  w.Uint64(health.queued_writes);
  if (!health.recovery.empty()) {
    w.Key("recovery");
    w.StartObject();
    for (const auto& [name, n] : health.recovery) {
      w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
      w.Uint64(n);
    }
    w.EndObject();
  }
  w.Key("vertices");
  if (vertices.ok()) w.Uint64(*vertices); else w.Null();
  w.Key("edges");
  if (edges.ok()) w.Uint64(*edges); else w.Null();
  w.Key("uptime_s");
  w.Int64(uptime.count());
  w.Key("ingest");
  const std::string ingest = ctx.ingest_status ? ctx.ingest_status() : std::string("{}");
  w.RawValue(ingest.data(), ingest.size(), rapidjson::kObjectType);
  w.EndObject();
  return json_response(200, finish(sb));
}

response list_vertices(api_context& ctx, const request& q) {
  vertex_query vq;
  vq.limit = limit_param(q);
  if (auto c = q.query_value("cursor"); c && !c->empty()) {
    vq.after = parse_vertex_cursor(*c);
    if (!vq.after) throw api_error(errc::invalid_argument, "cursor is not valid here");
  }
  if (auto p = q.query_value("prefix")) {
    if (p->size() > 256 || !is_valid_utf8(*p)) {
      throw api_error(errc::invalid_argument, "prefix must be at most 256 bytes of UTF-8");
    }
    vq.prefix = *p;
  }
  const vertex_page page = unwrap(ctx.store.list_vertices(vq));
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  w.Key("vertices");
  w.StartArray();
  for (const auto& v : page.vertices) write_vertex(w, v);
  w.EndArray();
  w.Key("next_cursor");
  if (page.next_after) write_string(w, vertex_cursor(*page.next_after)); else w.Null();
  w.EndObject();
  return json_response(200, finish(sb));
}

response get_neighbors(api_context& ctx, const request& q) {
  const std::string& id = checked_id(q.param("id"), "vertex id");
  neighbor_query nq;
  if (auto d = q.query_value("direction")) {
    if (*d == "out") nq.dir = direction::out;
    else if (*d == "in") nq.dir = direction::in;
    else if (*d == "both") nq.dir = direction::both;
    else throw api_error(errc::invalid_argument, "direction must be out, in or both");
  }
  nq.kind = kind_param(q);
  nq.limit = limit_param(q);
  const auto list = unwrap(ctx.store.neighbors(id, nq));
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  w.Key("id");
  write_string(w, id);
  w.Key("neighbors");
  w.StartArray();
  for (const auto& n : list) {
    w.StartObject();
    w.Key("id");
    write_string(w, n.id);
    w.Key("kind");
    write_string(w, to_string(n.kind));
    w.Key("direction");
    write_string(w, direction_name(n.dir));
    w.Key("weight");
    w.Uint64(n.weight);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return json_response(200, finish(sb));
}

response list_edges(api_context& ctx, const request& q) {
  edge_query eq;
  eq.from = id_param(q, "from");
  eq.to = id_param(q, "to");
  eq.kind = kind_param(q);
  eq.limit = limit_param(q);
  if (auto c = q.query_value("cursor"); c && !c->empty()) {
    eq.after = parse_edge_cursor(*c);
    if (!eq.after) throw api_error(errc::invalid_argument, "cursor is not valid here");
  }
  const edge_page page = unwrap(ctx.store.list_edges(eq));
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  w.Key("edges");
  w.StartArray();
  for (const auto& e : page.edges) write_edge(w, e);
  w.EndArray();
  w.Key("next_cursor");
  if (page.next_after) write_string(w, edge_cursor(*page.next_after)); else w.Null();
  w.EndObject();
  return json_response(200, finish(sb));
}

response post_edge(api_context& ctx, const request& q) {
  const rapidjson::Document doc = parse_object_body(q);
  add_edge_request req;
  bool have_from = false;
  bool have_to = false;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string_view name(it->name.GetString(), it->name.GetStringLength());
    const rapidjson::Value& v = it->value;
    auto text = [&](std::string_view field) {
      if (!v.IsString()) throw api_error(errc::invalid_argument, std::string(field) + " must be a string");
      return std::string(v.GetString(), v.GetStringLength());
    };
    if (name == "from") { req.key.from = text("from"); have_from = true; }
    else if (name == "to") { req.key.to = text("to"); have_to = true; }
    else if (name == "kind") {
      if (v.IsNull()) continue;
      auto k = parse_edge_kind(text("kind"));
      if (!k) throw api_error(errc::invalid_argument, "kind must be one of mention, reply, repost, quote, link");
      req.key.kind = *k;
    } else if (name == "properties") {
      read_properties(v, "properties", req.props, nullptr);
    } else {
      throw api_error(errc::invalid_argument, "unknown field '" + std::string(name) + "'");
    }
  }
  if (!have_from || !have_to) throw api_error(errc::invalid_argument, "from and to are required");
  return add_edge(ctx, std::move(req));
}

response delete_edges(api_context& ctx, const std::string& from, const std::string& to,
                      std::optional<edge_kind> kind) {
  checked_id(from, "from");
  checked_id(to, "to");
  return deleted_response(ctx, unwrap(ctx.store.remove_edges(from, to, kind)));
}

response undo(api_context& ctx, const request& q) {
  // The ticket is used up only when the restore succeeded: after a 503 the
  // client retries with the same ticket.
  const removed_set removed = unwrap(ctx.tickets.redeem(
      q.param("ticket"), [&ctx](const removed_set& r) { return ctx.store.restore(r); }));
  const std::uint64_t vertices = removed.removed_vertex ? 1 : 0;
  const std::uint64_t edges = removed.edges.size();
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  w.Key("restored");
  w.StartObject();
  w.Key("vertices");
  w.Uint64(vertices);
  w.Key("edges");
  w.Uint64(edges);
  w.EndObject();
  w.EndObject();
  return json_response(200, finish(sb));
}

response flows(api_context& ctx, const request& q) {
  const std::string by = q.query_value("by").value_or("location");
  if (by != "location") throw api_error(errc::invalid_argument, "by must be location");
  const auto list = unwrap(ctx.store.location_flows(limit_param(q)));
  rapidjson::StringBuffer sb;
  json_writer w(sb);
  w.StartObject();
  w.Key("by");
  w.String("location");
  w.Key("flows");
  w.StartArray();
  for (const auto& f : list) {
    w.StartObject();
    w.Key("from");
    if (f.from_location) write_string(w, *f.from_location); else w.Null();
    w.Key("to");
    if (f.to_location) write_string(w, *f.to_location); else w.Null();
    w.Key("weight");
    w.Uint64(f.weight);
    w.Key("edges");
    w.Uint64(f.edges);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return json_response(200, finish(sb));
}

} // namespace

void register_store_gauges(metrics_registry& m, graph_store& store) {
  m.callback_gauge("tlflow_store_vertices", "Vertices in the graph store", [&store] {
    auto n = store.count_vertices();
    return n.ok() ? static_cast<double>(*n) : -1.0;
  });
  m.callback_gauge("tlflow_store_edges", "Edges in the graph store", [&store] {
    auto n = store.count_edges();
    return n.ok() ? static_cast<double>(*n) : -1.0;
  });
  m.callback_gauge("tlflow_store_up", "1 when the graph store answers", [&store] {
    return store.health().ok ? 1.0 : 0.0;
  });
}

void add_core_routes(router& r, api_context& ctx) {
  api_context* c = &ctx;
  const route_options write{true, access::write};
  // Graph walks and scans: on the server's worker pool, off the I/O threads.
  route_options heavy;
  heavy.heavy = true;
  // A write handler that also counts itself in ctx.writes when it succeeds
  // (a failure throws past the count).
  auto counted = [c](handler h) {
    return [c, h = std::move(h)](const request& q) {
      response res = h(q);
      c->writes.fetch_add(1, std::memory_order_relaxed);
      return res;
    };
  };

  // /status stays open even with auth_reads: health checks call it.
  r.add_route("GET", "/status", [c](const request&) { return get_status(*c); },
              route_options{false, access::open});
  // A backup reads the whole data directory: worker pool, admin only.
  route_options admin_heavy{false, access::admin};
  admin_heavy.heavy = true;
  r.add_route("GET", "/backup", [c](const request&) { return get_backup(*c); }, admin_heavy);
  r.add_route("GET", "/metrics", [c](const request&) {
    response res;
    res.body = c->metrics.render();
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return res;
  });

  r.add_route("GET", "/vertices", [c](const request& q) { return list_vertices(*c, q); });
  r.add_route("GET", "/vertices/count",
              [c](const request&) { return count_response(unwrap(c->store.count_vertices())); });
  r.add_route("GET", "/vertices/{id}", [c](const request& q) {
    return vertex_response(200, unwrap(c->store.get_vertex(checked_id(q.param("id"), "vertex id"))));
  });
  r.add_route("PUT", "/vertices/{id}",
              counted([c](const request& q) { return put_vertex(*c, q.param("id"), q); }), write);
  r.add_route("DELETE", "/vertices/{id}", counted([c](const request& q) {
    return deleted_response(*c, unwrap(c->store.remove_vertex(checked_id(q.param("id"), "vertex id"))));
  }), write);
  r.add_route("GET", "/vertices/{id}/neighbors", [c](const request& q) { return get_neighbors(*c, q); },
              heavy);

  r.add_route("GET", "/edges", [c](const request& q) { return list_edges(*c, q); }, heavy);
  r.add_route("GET", "/edges/count",
              [c](const request&) { return count_response(unwrap(c->store.count_edges())); });
  r.add_route("POST", "/edges", counted([c](const request& q) { return post_edge(*c, q); }), write);
  r.add_route("DELETE", "/edges/{from}/{to}", counted([c](const request& q) {
    return delete_edges(*c, q.param("from"), q.param("to"), kind_param(q));
  }), write);

  route_options path = heavy;
  path.quick = [c](const request& q) { return quick_shortest_path(*c, q, q.param("from"), q.param("to")); };
  r.add_route("GET", "/paths/{from}/{to}",
              [c](const request& q) { return shortest_path(*c, q, q.param("from"), q.param("to")); },
              path);
  r.add_route("POST", "/undo/{ticket}", counted([c](const request& q) { return undo(*c, q); }), write);
  r.add_route("GET", "/flows", [c](const request& q) { return flows(*c, q); }, heavy);

  // Legacy routes of TwitterLocationFlow, original methods, new shapes.
  r.add_route("POST", "/vertices/add/{v}",
              counted([c](const request& q) { return put_vertex(*c, q.param("v"), q); }), write);
  r.add_route("POST", "/aristas/add/{v1},{v2}", counted([c](const request& q) {
    add_edge_request req;
    req.key = edge_key{q.param("v1"), q.param("v2"), edge_kind::link};
    return add_edge(*c, std::move(req));
  }), write);
  r.add_route("DELETE", "/vertices/remove/{v}", counted([c](const request& q) {
    return deleted_response(*c, unwrap(c->store.remove_vertex(checked_id(q.param("v"), "vertex id"))));
  }), write);
  r.add_route("DELETE", "/aristas/remove/{v1}/{v2}", counted([c](const request& q) {
    return delete_edges(*c, q.param("v1"), q.param("v2"), std::nullopt);
  }), write);
  r.add_route("POST", "/vertices/cuenta_vertices",
              [c](const request&) { return count_response(unwrap(c->store.count_vertices())); });
  route_options legacy_path = heavy;
  legacy_path.quick = [c](const request& q) {
    return quick_shortest_path(*c, q, q.param("v1"), q.param("v2"));
  };
  r.add_route("GET", "/vertices/find_path/{v1}/{v2}",
              [c](const request& q) { return shortest_path(*c, q, q.param("v1"), q.param("v2")); },
              legacy_path);
}

} // namespace tlflow::api
