// The export writers (api/export_format.hpp): escaping of hostile strings,
// RFC 4180 fields, and the shape of each format for a tiny graph.
#include <doctest/doctest.h>

#include "api/export_format.hpp"
#include "api/router.hpp"

using namespace tlflow;
using namespace tlflow::api;

namespace {

std::string xml(std::string_view s) {
  std::string out;
  append_xml_escaped(out, s);
  return out;
}
std::string csv(std::string_view s) {
  std::string out;
  append_csv_field(out, s);
  return out;
}
std::string json(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

const std::string fffd = "\xEF\xBF\xBD";

vertex_view hostile_vertex() {
  vertex_view v;
  v.v.id = "x:<a href=\"]]>\">&'";
  v.v.props["name"] = std::string("Bad\x01Name\x7F]]>\xFF\xC0\xAF");
  v.v.props["handle"] = std::string("h\tl\r\n");
  v.v.props["platform"] = std::string("twitter");
  v.in_degree = 2;
  v.out_degree = 3;
  return v;
}

edge sample_edge() {
  edge e;
  e.key = {"a", "x:<a href=\"]]>\">&'", edge_kind::reply};
  e.weight = 7;
  e.hashtags = {"one", "two"};
  e.first_seen = "2026-11-22T06:55:14Z";
  e.last_seen = "2026-11-23T06:55:14Z";
  return e;
}

std::string whole(export_format f) {
  auto w = make_export_writer(f);
  std::string out;
  w->begin(out);
  w->vertices({hostile_vertex()}, out);
  w->edges({sample_edge()}, out);
  w->end(out);
  return out;
}

} // namespace

TEST_CASE("xml escaping: markup, quotes and CDATA ends are escaped") {
  CHECK(xml("a&b<c>d\"e'f") == "a&amp;b&lt;c&gt;d&quot;e&apos;f");
  CHECK(xml("]]>") == "]]&gt;");
  CHECK(xml("plain ascii and ü") == "plain ascii and ü");
}

TEST_CASE("xml escaping: whitespace controls become references, the rest U+FFFD") {
  CHECK(xml("a\tb\nc\rd") == "a&#9;b&#10;c&#13;d");
  CHECK(xml(std::string("a\x01" "b\x1F" "c", 5)) == "a" + fffd + "b" + fffd + "c");
  CHECK(xml(std::string("\0", 1)) == fffd);
  CHECK(xml("\x7F") == "\x7F");                 // DEL is allowed in XML 1.0
  CHECK(xml("\xEF\xBF\xBE") == fffd);           // U+FFFE
  CHECK(xml("\xEF\xBF\xBF") == fffd);           // U+FFFF
}

TEST_CASE("xml escaping: invalid UTF-8 is replaced byte by byte") {
  CHECK(xml("\xFF") == fffd);
  CHECK(xml("\xC0\xAF") == fffd + fffd);        // overlong '/'
  CHECK(xml("\xED\xA0\x80") == fffd + fffd + fffd); // a surrogate
  CHECK(xml("ab\xE2\x82") == "ab" + fffd + fffd);   // truncated
  CHECK(xml("\xF4\x90\x80\x80").find("\xF4") == std::string::npos); // past U+10FFFF
  CHECK(xml("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80"); // an emoji stays
}

TEST_CASE("csv fields follow RFC 4180") {
  CHECK(csv("plain") == "plain");
  CHECK(csv("") == "");
  CHECK(csv("a,b") == "\"a,b\"");
  CHECK(csv("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv("two\nlines") == "\"two\nlines\"");
  CHECK(csv("cr\r") == "\"cr\r\"");
  CHECK(csv("bad\xFF") == "bad" + fffd);
}

TEST_CASE("json strings are escaped and valid UTF-8") {
  CHECK(json("a\"b\\c\nd") == "\"a\\\"b\\\\c\\nd\"");
  CHECK(json("\xFF") == "\"" + fffd + "\"");
  CHECK(json("\xE2\x80\xA8") == "\"\\u2028\"");
}

TEST_CASE("graphml: typed keys, hostile strings escaped, one edge per kind") {
  const auto doc = whole(export_format::graphml);
  CHECK(doc.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<graphml ", 0) == 0);
  CHECK(doc.find("<key id=\"e_weight\" for=\"edge\" attr.name=\"weight\" attr.type=\"long\"/>") !=
        std::string::npos);
  CHECK(doc.find("<key id=\"v_in_degree\" for=\"node\" attr.name=\"in_degree\" attr.type=\"long\"/>") !=
        std::string::npos);
  CHECK(doc.find("<node id=\"x:&lt;a href=&quot;]]&gt;&quot;&gt;&amp;&apos;\">") != std::string::npos);
  CHECK(doc.find("<data key=\"v_name\">Bad" + fffd + "Name\x7F]]&gt;" + fffd + fffd + fffd + "</data>") !=
        std::string::npos);
  CHECK(doc.find("<data key=\"v_handle\">h&#9;l&#13;&#10;</data>") != std::string::npos);
  CHECK(doc.find("<data key=\"e_kind\">reply</data><data key=\"e_weight\">7</data>"
                 "<data key=\"e_hashtags\">one,two</data>") != std::string::npos);
  CHECK(doc.find("]]>") == std::string::npos);
  CHECK(doc.size() >= 20);
  CHECK(doc.substr(doc.size() - 20) == "</graph>\n</graphml>\n");
}

TEST_CASE("gexf: 1.2 draft namespace, dynamic, weight and spell on the edge") {
  const auto doc = whole(export_format::gexf);
  CHECK(doc.find("<gexf xmlns=\"http://www.gexf.net/1.2draft\" version=\"1.2\">") != std::string::npos);
  CHECK(doc.find("<graph mode=\"dynamic\" defaultedgetype=\"directed\" timeformat=\"date\">") !=
        std::string::npos);
  CHECK(doc.find("<edge id=\"0\" source=\"a\" target=\"x:&lt;a href=&quot;]]&gt;&quot;&gt;&amp;&apos;\" "
                 "weight=\"7\" start=\"2026-11-22T06:55:14Z\" end=\"2026-11-23T06:55:14Z\">") !=
        std::string::npos);
  CHECK(doc.find("</nodes>\n<edges>\n") != std::string::npos);
  CHECK(doc.find("]]>") == std::string::npos);
}

TEST_CASE("gexf and json without edges are still complete documents") {
  for (auto f : {export_format::gexf, export_format::json}) {
    auto w = make_export_writer(f);
    std::string out;
    w->begin(out);
    w->vertices({hostile_vertex()}, out);
    w->end(out);
    if (f == export_format::gexf) CHECK(out.find("</nodes>\n<edges>\n</edges>\n</graph>\n</gexf>\n") != std::string::npos);
    else CHECK(out.find("],\n\"links\":[]}\n") != std::string::npos);
  }
}

TEST_CASE("csv: nodes and edges with their header rows") {
  const auto nodes = whole(export_format::csv_nodes);
  CHECK(nodes.rfind("id,handle,name,platform,location,first_seen,last_seen,in_degree,out_degree\r\n", 0) == 0);
  CHECK(nodes.find("\"x:<a href=\"\"]]>\"\">&'\",\"h\tl\r\n\",") != std::string::npos);
  CHECK(nodes.find(",twitter,,,,2,3\r\n") != std::string::npos);
  const auto edges = whole(export_format::csv_edges);
  CHECK(edges == "source,target,kind,weight,hashtags,first_seen,last_seen\r\n"
                 "a,\"x:<a href=\"\"]]>\"\">&'\",reply,7,\"one,two\",2026-11-22T06:55:14Z,2026-11-23T06:55:14Z\r\n");
}

TEST_CASE("json: node-link as networkx reads it, the kind as the multigraph key") {
  const auto doc = whole(export_format::json);
  CHECK(doc.rfind("{\"directed\":true,\"multigraph\":true,\"graph\":{\"name\":\"tlflow\"},\"nodes\":[{\"id\":", 0) == 0);
  CHECK(doc.find("{\"source\":\"a\",\"target\":\"x:<a href=\\\"]]>\\\">&'\",\"key\":\"reply\",\"kind\":\"reply\","
                 "\"weight\":7,\"hashtags\":[\"one\",\"two\"]") != std::string::npos);
  CHECK(doc.find("\"in_degree\":2,\"out_degree\":3}") != std::string::npos);
}

TEST_CASE("format and part are checked") {
  CHECK(parse_export_format("graphml", "") == export_format::graphml);
  CHECK(parse_export_format("csv", "edges") == export_format::csv_edges);
  CHECK_THROWS_AS(parse_export_format("csv", ""), api_error);
  CHECK_THROWS_AS(parse_export_format("json", "nodes"), api_error);
  CHECK_THROWS_AS(parse_export_format("xml", ""), api_error);
}

TEST_CASE("include: analytics attributes per vertex, left out where unknown") {
  vertex_extras x;
  x.pagerank = true;
  x.community = true;
  x.pagerank_of = [](const std::string& id) -> std::optional<double> {
    if (id == "a") return 0.25;
    return std::nullopt;
  };
  x.community_of = [](const std::string& id) -> std::optional<std::int64_t> {
    if (id == "a") return 3;
    return std::nullopt;
  };
  vertex_view a;
  a.v.id = "a";
  vertex_view b;
  b.v.id = "b";
  auto run = [&](export_format f) {
    auto w = make_export_writer(f, &x);
    std::string out;
    w->begin(out);
    w->vertices({a, b}, out);
    w->end(out);
    return out;
  };
  const auto graphml = run(export_format::graphml);
  CHECK(graphml.find("<key id=\"v_pagerank\" for=\"node\" attr.name=\"pagerank\" attr.type=\"double\"/>") !=
        std::string::npos);
  CHECK(graphml.find("<key id=\"v_community\" for=\"node\" attr.name=\"community\" attr.type=\"long\"/>") !=
        std::string::npos);
  CHECK(graphml.find("<data key=\"v_pagerank\">0.25</data><data key=\"v_community\">3</data></node>") !=
        std::string::npos);
  CHECK(graphml.find("<node id=\"b\"><data key=\"v_in_degree\">0</data><data key=\"v_out_degree\">0</data></node>") !=
        std::string::npos);
  const auto gexf = run(export_format::gexf);
  CHECK(gexf.find("<attribute id=\"pagerank\" title=\"pagerank\" type=\"double\"/>") != std::string::npos);
  CHECK(gexf.find("<attvalue for=\"community\" value=\"3\"/>") != std::string::npos);
  const auto csv_nodes = run(export_format::csv_nodes);
  CHECK(csv_nodes.find(",in_degree,out_degree,pagerank,community\r\n") != std::string::npos);
  CHECK(csv_nodes.find("a,,,,,,,0,0,0.25,3\r\n") != std::string::npos);
  CHECK(csv_nodes.find("b,,,,,,,0,0,,\r\n") != std::string::npos);
  const auto json = run(export_format::json);
  CHECK(json.find("\"out_degree\":0,\"pagerank\":0.25,\"community\":3}") != std::string::npos);
  // Without extras nothing changes.
  auto w = make_export_writer(export_format::csv_nodes);
  std::string plain;
  w->begin(plain);
  CHECK(plain.find("pagerank") == std::string::npos);
}
