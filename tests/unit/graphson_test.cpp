// GraphSON reader/writer against TinkerPop's own sample messages
// (tests/data/graphson/, see its README): every sample reads and writes back
// to the same canonical JSON, and the request writer produces the request
// samples byte for byte.
#include <doctest/doctest.h>

#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "tlflow/gremlin/graphson.hpp"

namespace gs = tlflow::gremlin::graphson;
using gs::value;

namespace {

std::string data_dir() { return std::string(TLFLOW_SOURCE_DIR) + "/tests/data/graphson/"; }

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

// Compact, member order preserved, numbers as RapidJSON writes them.
std::string canonical(const std::string& text) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseFullPrecisionFlag>(text.c_str(), text.size());
  REQUIRE_FALSE(d.HasParseError());
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  d.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

std::vector<std::string> files(const std::string& sub, const std::string& suffix) {
  std::vector<std::string> out;
  DIR* d = opendir((data_dir() + sub).c_str());
  REQUIRE(d != nullptr);
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.push_back(data_dir() + sub + "/" + n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

void round_trip_all(const std::string& sub, const std::string& suffix, gs::version v,
                    std::size_t at_least) {
  auto list = files(sub, suffix);
  CHECK(list.size() >= at_least);
  for (const auto& f : list) {
    CAPTURE(f);
    std::string text = slurp(f);
    auto parsed = gs::read(text, v);
    REQUIRE(parsed.ok());
    CHECK(gs::write(*parsed, v) == canonical(text));
  }
}

value bindings_x1() { return value::object({{"x", value::int32(1)}}); }

} // namespace

TEST_CASE("every GraphSON 3.0 sample reads and writes back unchanged") {
  round_trip_all("v3", "-v3.json", gs::version::v3, 68);
}

TEST_CASE("every GraphSON 2.0 sample reads and writes back unchanged") {
  round_trip_all("v2", "-v2.json", gs::version::v2, 60);
}

TEST_CASE("every untyped sample (1.0, 2.0 and 3.0 no-types) reads and writes back unchanged") {
  round_trip_all("v1", "-no-types.json", gs::version::v1, 13);
  round_trip_all("v2", "-no-types.json", gs::version::v1, 10);
  round_trip_all("v3", "-no-types.json", gs::version::v1, 10);
}

TEST_CASE("typed samples decode to the right kinds and values") {
  auto v = gs::read(slurp(data_dir() + "v3/standardresult-v3.json"), gs::version::v3);
  REQUIRE(v.ok());
  auto r = gs::read_response(slurp(data_dir() + "v3/standardresult-v3.json"), gs::version::v3);
  REQUIRE(r.ok());
  CHECK(r->code == 200);
  CHECK(*r->request_id == "41d2e28a-20a4-4ab0-b379-d810dede3786");
  REQUIRE(r->data.k() == gs::kind::list);
  const value& vx = r->data.items().at(0);
  CHECK(vx.k() == gs::kind::vertex);
  CHECK(vx.get("id")->k() == gs::kind::int32);
  CHECK(vx.get("id")->as_int() == 1);
  CHECK(vx.get("label")->as_string() == "person");
  const value* loc = vx.get("properties")->get("location");
  REQUIRE(loc);
  CHECK(loc->items().size() == 4);
  CHECK(loc->items()[0].k() == gs::kind::vertex_property);
  CHECK(loc->items()[0].get("value")->as_string() == "san diego");
  // The response writer gives the sample back.
  std::string text = slurp(data_dir() + "v3/standardresult-v3.json");
  CHECK(gs::write_response(*r, gs::version::v3) == canonical(text));
  // Into a reused buffer: replaced, not appended.
  std::string buf = "left over from an earlier message";
  gs::write_response(*r, gs::version::v3, buf);
  CHECK(buf == canonical(text));
  gs::write_response(*r, gs::version::v3, buf);
  CHECK(buf == canonical(text));

  auto m = gs::read(slurp(data_dir() + "v3/map-v3.json"), gs::version::v3);
  REQUIRE(m.ok());
  CHECK(m->k() == gs::kind::map);
  CHECK(m->entries().size() == 3);
  CHECK(m->entries()[0].first.k() == gs::kind::date);

  auto d = gs::read(R"({"@type":"g:Double","@value":"NaN"})", gs::version::v3);
  REQUIRE(d.ok());
  CHECK(d->k() == gs::kind::float64);
  CHECK(gs::write(*d, gs::version::v3) == R"({"@type":"g:Double","@value":"NaN"})");
  auto inf = gs::read(R"({"@type":"g:Double","@value":"-INF"})", gs::version::v2);
  REQUIRE(inf.ok());
  CHECK(inf->as_double() < -1e308);
}

TEST_CASE("values built with the model write as TinkerPop writes them") {
  // vertex-v3.json / vertex-v1-no-types.json, built by hand.
  auto vp = [](std::int64_t id, const char* v, const char* label, value meta = {}) {
    return value::vertex_property(value::int64(id), value::string(v), label, std::move(meta));
  };
  auto when = [](int a, int b) {
    std::vector<std::pair<std::string, value>> m{{"startTime", value::int32(a)}};
    if (b) m.emplace_back("endTime", value::int32(b));
    return value::object(std::move(m));
  };
  value props = value::object(
      {{"name", value::array({vp(0, "marko", "name")})},
       {"location", value::array({vp(6, "san diego", "location", when(1997, 2001)),
                                  vp(7, "santa cruz", "location", when(2001, 2004)),
                                  vp(8, "brussels", "location", when(2004, 2005)),
                                  vp(9, "santa fe", "location", when(2005, 0))})}});
  value vx = value::vertex(value::int32(1), "person", props);
  CHECK(gs::write(vx, gs::version::v3) == canonical(slurp(data_dir() + "v3/vertex-v3.json")));
  CHECK(gs::write(vx, gs::version::v2) == canonical(slurp(data_dir() + "v2/vertex-v2.json")));
  CHECK(gs::write(vx, gs::version::v1) == canonical(slurp(data_dir() + "v1/vertex-v1-no-types.json")));

  value e = value::edge(value::int32(13), "develops", "software", "person", value::int32(10),
                        value::int32(1),
                        value::object({{"since", value::property("since", value::int32(2009))}}));
  CHECK(gs::write(e, gs::version::v3) == canonical(slurp(data_dir() + "v3/edge-v3.json")));
  CHECK(gs::write(e, gs::version::v1) == canonical(slurp(data_dir() + "v1/edge-v1-no-types.json")));

  value bs = value::bulkset({{value::string("marko"), 1}, {value::string("josh"), 2}});
  CHECK(gs::write(bs, gs::version::v3) == canonical(slurp(data_dir() + "v3/bulkset-v3.json")));
  CHECK(gs::write(bs, gs::version::v2) == canonical(slurp(data_dir() + "v2/bulkset-v2.json")));

  value m = value::map({{value::date(1481750076295), value::string("red")},
                        {value::list({value::int32(1), value::int32(2), value::int32(3)}),
                         value::date(1481750076295)},
                        {value::string("test"), value::int32(123)}});
  CHECK(gs::write(m, gs::version::v3) == canonical(slurp(data_dir() + "v3/map-v3.json")));
  CHECK(gs::write(value::float32(100.0f), gs::version::v3) ==
        canonical(slurp(data_dir() + "v3/float-v3.json")));
  CHECK(gs::write(value::float32(0.1f), gs::version::v3) == R"({"@type":"g:Float","@value":0.1})");
  CHECK(gs::write(value::t("label"), gs::version::v3) == canonical(slurp(data_dir() + "v3/t-v3.json")));
  CHECK(gs::write(value::direction("OUT"), gs::version::v3) ==
        canonical(slurp(data_dir() + "v3/direction-v3.json")));
}

TEST_CASE("the request writer produces TinkerPop's request samples") {
  const std::string id = "cb682578-9d92-4499-9ebc-5c6aa73c5397";
  struct sample_set { gs::version ver; std::string dir, suffix; };
  for (const auto& [ver, dir, suffix] : {sample_set{gs::version::v3, "v3/", "-v3.json"},
                                         sample_set{gs::version::v2, "v2/", "-v2.json"},
                                         sample_set{gs::version::v1, "v1/", "-v1-no-types.json"}}) {
    CAPTURE(suffix);
    value b = ver == gs::version::v1 ? value::object({{"x", value::integer(1)}}) : bindings_x1();
    gs::request r;
    r.request_id = id;
    r.args = value::object({{"gremlin", value::string("g.V(x)")},
                            {"language", value::string("gremlin-groovy")},
                            {"bindings", b}});
    CHECK(gs::write_request(r, ver) ==
          canonical(slurp(data_dir() + dir + "sessionlesseval" + suffix)));

    r.args = value::object({{"gremlin", value::string("social.V(x)")},
                            {"language", value::string("gremlin-groovy")},
                            {"aliases", value::object({{"g", value::string("social")}})},
                            {"bindings", b}});
    CHECK(gs::write_request(r, ver) ==
          canonical(slurp(data_dir() + dir + "sessionlessevalaliased" + suffix)));

    r.processor = "session";
    r.args = value::object({{"gremlin", value::string("g.V(x)")},
                            {"language", value::string("gremlin-groovy")},
                            {"session", value::string("unique-session-identifier")},
                            {"bindings", b}});
    CHECK(gs::write_request(r, ver) == canonical(slurp(data_dir() + dir + "sessioneval" + suffix)));

    r.processor = "";
    r.op = "authentication";
    r.args = value::object({{"saslMechanism", value::string("PLAIN")},
                            {"sasl", value::string("AHN0ZXBocGhlbgBwYXNzd29yZA==")}});
    CHECK(gs::write_request(r, ver) ==
          canonical(slurp(data_dir() + dir + "authenticationresponse" + suffix)));

    // And the reader gets the fields back from the sample.
    auto back = gs::read_request(slurp(data_dir() + dir + "sessionlesseval" + suffix), ver);
    REQUIRE(back.ok());
    CHECK(back->request_id == id);
    CHECK(back->op == "eval");
    CHECK(back->args.get("gremlin")->as_string() == "g.V(x)");
    CHECK(back->args.get("bindings")->get("x")->as_int() == 1);
  }
}

TEST_CASE("malformed GraphSON is an error value, never a crash") {
  CHECK_FALSE(gs::read("{", gs::version::v3).ok());
  CHECK_FALSE(gs::read(R"({"@type":"g:Int32","@value":"x"})", gs::version::v3).ok());
  // A number too big for an integer type saturates (found by graphson_fuzz).
  auto huge = gs::read(R"({"@type":"g:Int64","@value":1e300})", gs::version::v3);
  REQUIRE(huge.ok());
  CHECK(huge->as_int() == INT64_MAX);
  CHECK(value::number(-1e300).as_int() == INT64_MIN);
  CHECK_FALSE(gs::read(R"({"@type":"g:Map","@value":[1]})", gs::version::v3).ok());
  // A bulk set's counts are bounded, as the client expands them (found by
  // graphson_fuzz: a bulk of 44,444,444,444,422 ran out of memory).
  CHECK_FALSE(gs::read(R"({"@type":"g:BulkSet","@value":["a",{"@type":"g:Int64","@value":44444444444422}]})",
                       gs::version::v3).ok());
  CHECK_FALSE(gs::read(R"({"@type":"g:BulkSet","@value":["a",{"@type":"g:Int64","@value":-1}]})",
                       gs::version::v3).ok());
  CHECK_FALSE(gs::read(R"({"@type":"g:BulkSet","@value":["a",{"@type":"g:Float","@value":2}]})",
                       gs::version::v3).ok());
  // Bounded by the message's size: all its bulk sets expand to at most 16
  // bytes of values per byte of text plus 64 KiB (a 32-byte value each
  // copy of "a"): 2,048 copies of "a" fit a short message, 2^20 (the old
  // fixed cap) do not.
  auto bulk = [](std::int64_t a, std::int64_t b) {
    return R"({"@type":"g:BulkSet","@value":["a",{"@type":"g:Int64","@value":)" + std::to_string(a) +
           R"(},"b",{"@type":"g:Int64","@value":)" + std::to_string(b) + "}]}";
  };
  auto small = gs::read(bulk(2047, 1), gs::version::v3);
  REQUIRE(small.ok());
  CHECK(small->items()[1].as_int() == 2047);
  CHECK_FALSE(gs::read(bulk(1048575, 1), gs::version::v3).ok());
  auto past = gs::read(bulk(2048, 2048), gs::version::v3);
  REQUIRE_FALSE(past.ok());
  CHECK(past.err().message.find("expands past what its message can carry") != std::string::npos);
  // A large item costs its size per copy: 1,000 copies of a 10,000-byte
  // string (10 MB from a 10 KB message) are refused; so are many bulk sets
  // in one message that each fit alone.
  const std::string big(10000, 'x');
  CHECK_FALSE(gs::read(R"({"@type":"g:BulkSet","@value":[")" + big + R"(",{"@type":"g:Int64","@value":1000}]})",
                       gs::version::v3).ok());
  CHECK(gs::read(R"({"@type":"g:BulkSet","@value":[")" + big + R"(",{"@type":"g:Int64","@value":10}]})",
                 gs::version::v3).ok());
  std::string many = "[";
  for (int i = 0; i < 64; ++i) many += (i ? "," : "") + bulk(1000, 0);
  many += "]";
  CHECK_FALSE(gs::read(many, gs::version::v3).ok());
  // A status code beyond any status is refused, not truncated to an int.
  CHECK_FALSE(gs::read_response(R"({"requestId":"x","status":{"code":4294967725},"result":{"data":null}})",
                                gs::version::v3).ok());
  // Nesting is bounded (found by graphson_fuzz: 10,000 brackets overflowed
  // the stack): 256 levels read, 257 are an error.
  CHECK(gs::read(std::string(256, '[') + std::string(256, ']'), gs::version::v3).ok());
  auto deep = gs::read(std::string(10000, '[') + std::string(10000, ']'), gs::version::v3);
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.err().message.find("nested deeper") != std::string::npos);
  CHECK_FALSE(gs::read(std::string(257, '[') + std::string(257, ']'), gs::version::v3).ok());
  CHECK_FALSE(gs::read_response(R"({"requestId":null})", gs::version::v3).ok());
  auto r = gs::read_response(R"({"requestId":null,"status":{"code":498,"message":"bad"},"result":{"data":null}})",
                             gs::version::v3);
  REQUIRE(r.ok());
  CHECK_FALSE(r->request_id.has_value());
  CHECK(r->code == 498);
}

TEST_CASE("mime types and uuids") {
  CHECK(gs::mime_type(gs::version::v3).size() == 33);
  CHECK(gs::mime_type(gs::version::v2).size() == 33);
  CHECK(gs::version_from_mime("application/vnd.gremlin-v2.0+json") == gs::version::v2);
  CHECK(gs::version_from_mime("application/vnd.gremlin-v3.0+json;types=false") == gs::version::v1);
  CHECK_FALSE(gs::version_from_mime("application/vnd.graphbinary-v1.0").has_value());
  std::string u = gs::random_uuid();
  CHECK(u.size() == 36);
  CHECK(u[14] == '4');
  CHECK(u != gs::random_uuid());
}

TEST_CASE("objects that only look like {\"@type\", \"@value\"} stay objects, in order") {
  // The reader recognises a wrapper as its keys arrive; each of these turns
  // out to be something else half-way and must come back as written.
  for (const char* json : {
           R"({"@type":"g:Int64"})",                                        // no @value
           R"({"@type":5,"@value":1})",                                     // tag not a string
           R"({"@type":{"a":[1]},"@value":1})",                             // tag an object
           R"({"@type":"g:Int64","@value":1,"x":2})",                       // a third member
           R"({"@type":"g:List","@value":[1,{"@type":"g:Int32","@value":2}],"more":[]})",
           R"({"@value":1,"@type":"g:Int64"})",                             // other order
           R"({"a":1,"@type":"g:Int64","@value":2})",                       // not first
           R"({"@type":"g:Int64","@type":"g:Int32","@value":1})",           // repeated key
           R"({"@type":"g:Int64","x":1})",
       }) {
    CAPTURE(json);
    auto v = gs::read(json, gs::version::v3);
    REQUIRE(v.ok());
    CHECK(v->k() == gs::kind::object);
    CHECK(gs::write(*v, gs::version::v3) == json);
  }
  auto nested = gs::read(R"({"@type":"g:Int64","@value":1,"x":2})", gs::version::v3);
  REQUIRE(nested.ok());
  CHECK(nested->get("@type")->as_string() == "g:Int64");
  CHECK(nested->get("@value")->k() == gs::kind::integer);
  CHECK(nested->get("x")->as_int() == 2);
  // GraphSON 1.0 has no wrappers at all.
  auto v1 = gs::read(R"({"@type":"g:Int64","@value":1})", gs::version::v1);
  REQUIRE(v1.ok());
  CHECK(v1->k() == gs::kind::object);
}

TEST_CASE("text of every length, inline or not, survives copy, move, growth and reading") {
  CHECK(sizeof(value) == 32);
  std::vector<std::string> texts;
  for (std::size_t n : {0, 1, 15, 16, 23, 24, 25, 26, 100, 5000}) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<char>('a' + (i * 7 + n) % 26);
    texts.push_back(s);
  }
  for (const std::string& s : texts) {
    CAPTURE(s.size());
    value v = value::string(s);
    CHECK(v.as_string() == s);
    value c = v;
    CHECK(c == v);
    value m = std::move(c);
    CHECK(c.is_null()); // NOLINT(bugprone-use-after-move): moved-from is null
    CHECK(m.as_string() == s);
    m = value::uuid(s + "!");
    CHECK(m.as_string() == s + "!");
    CHECK(m != v);
  }
  // A list grown one item at a time moves its items' bytes on each growth.
  value l = value::list();
  std::vector<value> expect;
  for (std::size_t i = 0; i < 300; ++i) {
    value x = i % 3 == 0 ? value::string(texts[i % texts.size()])
              : i % 3 == 1 ? value::list({value::string(texts[(i + 1) % texts.size()]), value::int64(i)})
                           : value::map({{value::string("k"), value::string(texts.back())}});
    expect.push_back(x);
    l.push(std::move(x));
  }
  REQUIRE(l.items().size() == expect.size());
  CHECK(std::equal(expect.begin(), expect.end(), l.items().begin()));
  CHECK(l == value::list(expect));
  value scalar = value::int64(1);
  scalar.push(value::string("dropped"));
  CHECK(scalar.items().empty());
  CHECK(scalar == value::int64(1));
  // Read back: each text alone (ending the message, where the reader's
  // fixed-size copy of a short text reads past it), in a list, and escaped.
  for (const std::string& s : texts) {
    CAPTURE(s.size());
    const std::string alone = "\"" + s + "\"";
    auto r = gs::read(alone, gs::version::v3);
    REQUIRE(r.ok());
    CHECK(r->as_string() == s);
    auto listed = gs::read(gs::write(value::list({value::string(s), value::string(s + "\n\"")}), gs::version::v3),
                           gs::version::v3);
    REQUIRE(listed.ok());
    REQUIRE(listed->items().size() == 2);
    CHECK(listed->items()[0].as_string() == s);
    CHECK(listed->items()[1].as_string() == s + "\n\"");
  }
}

TEST_CASE("values are freed on any thread, also while a thread ends") {
  // Children blocks are kept for reuse per thread; values built on one
  // thread and freed on another, or freed after a thread's kept blocks were
  // given back at its end, must neither leak nor be reused twice (the
  // sanitizer build of this test is the judge of the first two).
  const std::string json = gs::write(value::list({value::vertex(value::int64(1), "account",
                                                                value::object({{"vid", value::string("x:1")}}))}),
                                     gs::version::v3);
  std::vector<value> made;
  for (int i = 0; i < 2000; ++i) made.push_back(*gs::read(json, gs::version::v3));
  std::thread([&] {
    made.clear(); // freed here, built on the main thread
    thread_local value ends_late = *gs::read(json, gs::version::v3); // built before this thread keeps blocks
    for (int i = 0; i < 2000; ++i) {
      value v = *gs::read(json, gs::version::v3); // keeps and reuses blocks
      REQUIRE(gs::write(v, gs::version::v3) == json);
    }
    CHECK(gs::write(ends_late, gs::version::v3) == json);
  }).join(); // ends_late is freed after the thread's kept blocks are gone
  CHECK(made.empty());
  for (int i = 0; i < 100; ++i) CHECK(gs::write(*gs::read(json, gs::version::v3), gs::version::v3) == json);
}
