// Pure protocol pieces: endpoints, frames, SASL, TimeSpan, status mapping,
// Neptune literals and script templates. No sockets.
#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gremlin/escape.hpp"
#include "gremlin/protocol.hpp"
#include "store/gremlin/scripts.hpp"

using namespace tlflow;
using namespace tlflow::gremlin;
using graphson::value;

TEST_CASE("endpoints") {
  auto a = parse_endpoint("ws://localhost:8182/gremlin");
  REQUIRE(a.ok());
  CHECK_FALSE(a->tls);
  CHECK(a->host == "localhost");
  CHECK(a->port == "8182");
  CHECK(a->path == "/gremlin");
  auto b = parse_endpoint("wss://acct.gremlin.cosmos.azure.com");
  REQUIRE(b.ok());
  CHECK(b->tls);
  CHECK(b->port == "443");
  CHECK(b->path == "/");
  auto c = parse_endpoint("ws://[::1]:9/g");
  REQUIRE(c.ok());
  CHECK(c->host == "::1");
  CHECK(c->port == "9");
  CHECK_FALSE(parse_endpoint("http://x").ok());
  CHECK_FALSE(parse_endpoint("ws://:80").ok());
  CHECK_FALSE(parse_endpoint("ws://h:8x").ok());
}

TEST_CASE("binary frame: length byte, mime, body") {
  std::string f = binary_frame(graphson::version::v3, "{}");
  CHECK(f[0] == '\x21');
  CHECK(f.substr(1, 33) == "application/vnd.gremlin-v3.0+json");
  CHECK(f.substr(34) == "{}");
  auto s = parse_binary_frame(f);
  REQUIRE(s);
  CHECK(s->mime == "application/vnd.gremlin-v3.0+json");
  CHECK(s->body == "{}");
  CHECK_FALSE(parse_binary_frame(std::string("\x05" "ab", 3)));
  CHECK_FALSE(parse_binary_frame(std::string("\x00", 1)));
  CHECK_FALSE(parse_binary_frame(std::string("\x80" "x", 2)));
}

TEST_CASE("SASL PLAIN as in TinkerPop's sample") {
  CHECK(sasl_plain("stephphen", "password") == "AHN0ZXBocGhlbgBwYXNzd29yZA==");
  CHECK(sasl_plain("svc", "s3cr3t") == "AHN2YwBzM2NyM3Q=");
  CHECK(base64_decode("AHN2YwBzM2NyM3Q=") == std::string("\0svc\0s3cr3t", 11));
  CHECK(base64_encode("a") == "YQ==");
  CHECK(base64_encode("ab") == "YWI=");
  CHECK_FALSE(base64_decode("YQ=").has_value());
  CHECK_FALSE(base64_decode("Y=Q=").has_value());
}

TEST_CASE("TimeSpan of x-ms-retry-after-ms") {
  CHECK(parse_timespan("00:00:00.0150000") == std::chrono::milliseconds(15));
  CHECK(parse_timespan("00:00:03.9500000") == std::chrono::milliseconds(3950));
  CHECK(parse_timespan("00:01:01") == std::chrono::milliseconds(61000));
  CHECK(parse_timespan("1.00:00:00") == std::chrono::milliseconds(86400000));
  CHECK(parse_timespan("00:00:00.0001000") == std::chrono::milliseconds(1)); // rounds up
  CHECK_FALSE(parse_timespan("soon").has_value());
  CHECK_FALSE(parse_timespan("00:0x:00").has_value());
  // Counts from the wire: no overflow (stoll threw on 20 digits, and days
  // times 86,400,000 overflowed), no negative wait.
  CHECK_FALSE(parse_timespan("99999999999999999999.00:00:00").has_value());
  CHECK_FALSE(parse_timespan("00:00:99999999999999999999").has_value());
  CHECK_FALSE(parse_timespan("-1.00:00:00").has_value());
  CHECK(parse_timespan("999999999.00:00:00") == std::chrono::milliseconds(999999999LL * 86400000LL));
}

TEST_CASE("status codes map as the Gremlin Server, Cosmos DB and Neptune docs say") {
  using what = status_action::what;
  value none = value::object();
  CHECK(classify(200, none, true).act == what::done);
  CHECK(classify(204, none, true).act == what::done);
  CHECK(classify(401, none, true).code == errc::unauthorized);
  CHECK(classify(403, none, true).code == errc::forbidden);
  CHECK(classify(429, none, true).act == what::retry);
  CHECK(classify(596, none, true).act == what::retry);
  CHECK(classify(598, none, true).act == what::retry);
  CHECK(classify(598, none, false).act == what::fail);
  for (int c : {497, 498, 499, 500, 595, 597, 599}) {
    CAPTURE(c);
    CHECK(classify(c, none, true).act == what::fail);
    CHECK(classify(c, none, true).code == errc::internal);
  }
  // Cosmos: throttled behind a top-level 500.
  value cosmos = value::object({{"x-ms-status-code", value::integer(429)},
                                {"x-ms-substatus-code", value::integer(3200)},
                                {"x-ms-retry-after-ms", value::string("00:00:01.2500000")},
                                {"x-ms-total-request-charge", value::number(3.5)}});
  auto a = classify(500, cosmos, false);
  CHECK(a.act == what::retry);
  CHECK(a.code == errc::throttled);
  CHECK(a.retry_after == std::chrono::milliseconds(1250));
  CHECK(a.effective_status == 429);
  CHECK(request_charge(cosmos) == 3.5);
  value busy = value::object({{"x-ms-status-code", value::integer(1008)}});
  CHECK(classify(500, busy, true).act == what::retry_new_connection);
  value bad = value::object({{"x-ms-status-code", value::integer(1004)}});
  CHECK(classify(500, bad, true).act == what::fail);
  // Retry-after from the wire is clamped to [0, 24 h]: a huge one must not
  // overflow the client's sum of waits, a negative one is no wait.
  for (auto [v, want] : std::vector<std::pair<value, std::chrono::milliseconds>>{
           {value::integer(INT64_MAX), max_retry_after},
           {value::integer(-5), std::chrono::milliseconds(0)},
           {value::string("999999999.00:00:00"), max_retry_after}}) {
    value attrs = value::object({{"x-ms-status-code", value::integer(429)}, {"x-ms-retry-after-ms", v}});
    CHECK(classify(500, attrs, true).retry_after == want);
  }
  // A status that only truncation to int would make 429 is ignored.
  value wrapped = value::object({{"x-ms-status-code", value::integer((std::int64_t{1} << 32) + 429)}});
  CHECK(classify(500, wrapped, true).effective_status == 500);
}

TEST_CASE("Neptune literals: hostile strings stay inside their quotes") {
  for (std::string s : {std::string("x').drop();g.V().drop();//"), std::string("\\'"), std::string("${x}"),
                        std::string("a\0b", 3), std::string("\xF0\x9F\x98\x80"), std::string("\n\r\t"),
                        std::string("\\"), std::string("'"), std::string("\"")}) {
    CAPTURE(s);
    std::string lit = gremlin_string_literal(s);
    for (char c : lit) CHECK((c >= 0x20 && c <= 0x7E));
    CHECK(parse_gremlin_string_literal(lit) == s);
  }
  CHECK(gremlin_string_literal("it's") == "'it\\'s'");
  CHECK(gremlin_string_literal("\xF0\x9F\x98\x80") == "'\\ud83d\\ude00'");
  CHECK(gremlin_string_literal("\xC3") == "'\\ufffd'"); // invalid UTF-8
  CHECK_FALSE(parse_gremlin_string_literal("'a'b'").has_value());
  CHECK_FALSE(parse_gremlin_string_literal("'a\\'").has_value());
}

TEST_CASE("templates carry no data; Neptune inlines literals") {
  templates t(dialect::tinkerpop, "pk");
  CHECK(t.get_vertex() == "g.V().has('account','vid',b_vid).project('v','i','o').by(valueMap())"
                          ".by(inE().count()).by(outE().count())");
  auto s = inline_bindings(t.get_vertex(), value::object({{"b_vid", value::string("x').drop();//")}}));
  REQUIRE(s.ok());
  CHECK(s->find("has('account','vid','x\\').drop();//')") != std::string::npos);
  auto n = inline_bindings("g.V().limit(b_limit).has('x',b_d).has('y',b_t)",
                           value::object({{"b_limit", value::int64(5)}, {"b_d", value::float64(1.5)},
                                          {"b_t", value::boolean(true)}}));
  REQUIRE(n.ok());
  CHECK(*n == "g.V().limit(5L).has('x',1.5d).has('y',true)");
  CHECK_FALSE(inline_bindings("g.V(b_missing)", value::object()).ok());
  templates c(dialect::cosmos, "pk");
  CHECK(c.put_vertex(0, 0).find(".property('id',b_vid).property('pk',b_vid)") != std::string::npos);
  CHECK(c.put_vertex(1, 0).find("single") == std::string::npos);
  CHECK(t.put_vertex(1, 0).find(".property(single,b_k0,b_v0)") != std::string::npos);
}

TEST_CASE("many bindings travel as one map, and back") {
  // Gremlin Server's default maxParameters is 16: more go in one map.
  templates t(dialect::tinkerpop, "pk");
  std::string script = t.add_edge(1) + ".has('note','b_not_a_name')";
  value b = value::object({{"b_from", value::string("a")}, {"b_to", value::string("bb.b_to")}});
  script_request p = pack_bindings(script, b);
  CHECK(p.script.find("has('account','vid',bb.b_from)") != std::string::npos);
  CHECK(p.script.find("outE(bb.b_kind)") != std::string::npos);
  CHECK(p.script.find("'b_not_a_name'") != std::string::npos); // quoted text untouched
  CHECK(p.script.find("b_from") == p.script.find("bb.b_from") + 3);
  REQUIRE(p.bindings.get("bb") != nullptr);
  CHECK(p.bindings.items().size() == 2); // one binding: key, value
  CHECK(p.bindings.get("bb")->get("b_to")->as_string() == "bb.b_to");
  script_request u = unpack_bindings(p.script, p.bindings);
  CHECK(u.script == script);
  CHECK(u.bindings.get("b_from")->as_string() == "a");
  // Not packed: unchanged.
  script_request same = unpack_bindings(script, b);
  CHECK(same.script == script);
  CHECK(same.bindings.items().size() == 4);
}

namespace {
std::vector<batch_item> sample_items() {
  batch_item acct;
  acct.id = "x:1";
  acct.handle = "hx";
  acct.first = "2026-01-01";
  acct.last = "2026-01-02";
  batch_item bare;
  bare.id = "x:2')//";
  batch_item edge;
  edge.is_edge = true;
  edge.from = "x:1";
  edge.to = "x:2')//";
  edge.kind = "mention";
  edge.rank = 1;
  edge.increment = 3;
  edge.first = "2026-01-01";
  edge.last = "2026-01-02";
  edge.hashtag_keys = {"ht_a')//", "ht_b"};
  return {acct, bare, edge};
}
write_batch sample_batch() { return {"5a2c7a0e-5f0b-4bd4-9d43-0ef7f2b4a6a1", sample_items(), {}}; }
} // namespace

TEST_CASE("a batch request reads back as the same items, in every dialect") {
  const write_batch batch = sample_batch();
  for (auto d : {dialect::tinkerpop, dialect::janusgraph, dialect::cosmos, dialect::neptune}) {
    CAPTURE(to_string(d));
    templates t(d, "pk");
    script_request r = t.batch(batch);
    bool groovy = d == dialect::tinkerpop || d == dialect::janusgraph;
    // Groovy engines: one constant script and two bindings, whatever the
    // items; otherwise a traversal whose text follows the items' shapes.
    CHECK((r.script == templates::groovy_batch()) == groovy);
    if (groovy) {
      REQUIRE(r.bindings.items().size() == 6);
      CHECK(r.bindings.items()[0].as_string() == "b_id");
      CHECK(r.bindings.items()[2].as_string() == "b_mark");
      CHECK(r.bindings.items()[4].as_string() == "b_items");
    }
    for (const auto& it : batch.items) { // values only ever in bindings
      CHECK(r.script.find(it.is_edge ? it.from : it.id) == std::string::npos);
    }
    CHECK(r.script.find(batch.id) == std::string::npos);
    auto back = t.read_batch(r.script, r.bindings);
    REQUIRE(back.ok());
    CHECK(*back == batch);
    // The same shapes with other values: the same text.
    auto other = batch;
    other.id = graphson::random_uuid();
    other.items[0].handle = "someone else";
    other.items[2].increment = 9;
    CHECK(t.batch(other).script == r.script);
    CHECK(back->marker == t.marker_vid(batch.id));
    // Without its marker or its batch id, a batch is refused.
    for (const char* name : {"b_id", "b_mark"}) {
      CAPTURE(name);
      graphson::value no_id = graphson::value::object();
      for (std::size_t i = 0; i + 1 < r.bindings.items().size(); i += 2) {
        const auto& k = r.bindings.items()[i];
        no_id.put(std::string(k.as_string()), k.as_string() == name ? graphson::value::string("") : r.bindings.items()[i + 1]);
      }
      CHECK_FALSE(t.read_batch(r.script, no_id).ok());
    }
    // A text that is not a batch is refused.
    CHECK_FALSE(t.read_batch(r.script + " ", r.bindings).ok());
  }
}

TEST_CASE("batch markers are a ring: at most marker_slots distinct vertices, whatever the ids") {
  templates t(dialect::tinkerpop, "pk", 16);
  std::set<std::string> vids;
  for (int i = 0; i < 2000; ++i) vids.insert(t.marker_vid(graphson::random_uuid()));
  CHECK(vids.size() == 16); // 2,000 random ids fill every slot, none beyond
  for (const auto& v : vids) {
    CHECK(v.rfind("tlflow-batch:", 0) == 0);
    CHECK(std::stoi(v.substr(13)) < 16);
  }
  CHECK(t.marker_vid("same") == t.marker_vid("same"));
  templates dflt(dialect::cosmos, "pk");
  CHECK(std::stoul(dflt.marker_vid(graphson::random_uuid()).substr(13)) < templates::default_marker_slots);
}

TEST_CASE("a batch's size stays under the sum of its items' request_bytes") {
  for (std::size_t n : {1, 200}) {
    write_batch b{graphson::random_uuid(), {}, {}};
    for (std::size_t i = 0; i < n; ++i) {
      batch_item x = sample_items()[i % 3];
      x.name = std::string((i % 7) * 10, '\x01'); // escapes to \u0001
      b.items.push_back(x);
    }
    for (auto d : {dialect::tinkerpop, dialect::cosmos, dialect::neptune}) {
      CAPTURE(to_string(d));
      CAPTURE(n);
      templates t(d, "pk");
      std::size_t bound = t.request_bytes_base();
      for (const auto& x : b.items) bound += t.request_bytes(x);
      script_request r = t.batch(b);
      graphson::request req;
      req.request_id = graphson::random_uuid();
      if (t.uses_bindings()) {
        req.args.put("gremlin", graphson::value::string(r.script));
        req.bindings = &r.bindings;
      } else {
        auto text = inline_bindings(r.script, r.bindings);
        REQUIRE(text.ok());
        req.args.put("gremlin", graphson::value::string(*text));
      }
      req.args.put("language", graphson::value::string("gremlin-groovy"));
      CHECK(graphson::write_request(req, d == dialect::cosmos ? graphson::version::v2 : graphson::version::v3).size() <=
            bound);
    }
  }
}

TEST_CASE("stored property keys never collide with the layout") {
  CHECK(encode_vertex_key("handle", "pk") == "handle");
  CHECK(encode_vertex_key("vid", "pk") == "u_vid");
  CHECK(encode_vertex_key("pk", "pk") == "u_pk");
  CHECK(encode_vertex_key("u_x", "pk") == "u_u_x");
  CHECK(decode_vertex_key("u_u_x", "pk") == std::optional<std::string>("u_x"));
  CHECK_FALSE(decode_vertex_key("vid", "pk").has_value());
  CHECK(encode_edge_key("weight") == "u_weight");
  CHECK(encode_edge_key("ht_x") == "u_ht_x");
  CHECK(encode_edge_key("note") == "note");
  CHECK_FALSE(decode_edge_key("ht_climate").has_value());
  CHECK(decode_edge_key("u_weight") == std::optional<std::string>("weight"));
}
