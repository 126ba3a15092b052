// The REST parity check: the same service on the memory store and on a
// Gremlin store, after the same ingestion of the shipped sample, must answer
// every read the same — counts, every vertex and edge, flows, neighbours,
// path lengths, every analytics route and every export format — and stay
// the same after the same writes through the API. Used against the Gremlin
// test server (integration.store_parity) and a real Gremlin Server
// (integration.gremlin_real_server).
#pragma once

#include <doctest/doctest.h>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/api_client.hpp"
#include "support/service_process.hpp"
#include "support/stream_server.hpp"

namespace tlflow::test::parity {

inline const std::string sample = std::string(TLFLOW_SOURCE_DIR) + "/samples/x-v2-sample.ndjson";
inline constexpr int sample_posts = 3000;

inline std::string to_text(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  v.Accept(w);
  return sb.GetString();
}

inline rapidjson::Document parse(const http_reply& r) {
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  return d;
}

// Every element of a paged listing (`key` array, `next_cursor`), as JSON text.
inline std::vector<std::string> all_pages(const service_process& s, const std::string& path,
                                   const std::string& key) {
  std::vector<std::string> out;
  std::string cursor;
  for (int page = 0; page < 1000; ++page) {
    auto r = s.get(path + "?limit=100" + (cursor.empty() ? "" : "&cursor=" + cursor));
    REQUIRE(r.status == 200);
    auto d = parse(r);
    REQUIRE(d.IsObject());
    for (const auto& e : d[key.c_str()].GetArray()) out.push_back(to_text(e));
    if (!d["next_cursor"].IsString()) break;
    cursor = d["next_cursor"].GetString();
  }
  return out;
}

inline bool ingested(const service_process& s, int posts) {
  auto r = s.get("/status");
  if (r.status != 200) return false;
  auto d = parse(r);
  return d.IsObject() && d.HasMember("ingest") && d["ingest"]["posts"].GetInt() == posts &&
         d["ingest"]["queue"]["depth"].GetInt() == 0 && d["queued_writes"].GetInt() == 0 &&
         d["ingest"]["sources"][0]["finished"].GetBool();
}

// A reply without the fields that say when it was computed.
inline std::string without_time(const http_reply& r) {
  auto d = parse(r);
  if (!d.IsObject()) return r.body;
  d.RemoveMember("computed_at");
  d.RemoveMember("age_seconds");
  d.RemoveMember("age_ms");
  if (d.HasMember("pagerank") && d["pagerank"].IsObject()) { // when the vector last moved
    d["pagerank"].RemoveMember("updated_at");
    d["pagerank"].RemoveMember("updated_age_seconds");
  }
  return to_text(d);
}

inline std::size_t path_length(const http_reply& r) {
  auto d = parse(r);
  if (r.status != 200 || !d.IsObject() || !d.HasMember("path")) return 0;
  return d["path"].GetArray().Size();
}

// Where two long replies part: the line of each (exports are many lines).
inline std::string first_difference(const std::string& a, const std::string& b) {
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  auto line = [i](const std::string& s) {
    const std::size_t from = s.rfind('\n', i == 0 ? 0 : i - 1);
    const std::size_t start = from == std::string::npos ? 0 : from + 1;
    return s.substr(start, std::min<std::size_t>(s.find('\n', i) - start, 400));
  };
  return "byte " + std::to_string(i) + " of " + std::to_string(a.size()) + " / " +
         std::to_string(b.size()) + "\n  memory:  " + line(a) + "\n  gremlin: " + line(b);
}

// An export as a sorted list of its elements: JSON node-link as its nodes
// and links (each as text), the line-oriented formats (GraphML, GEXF, CSV:
// one element per line) as their lines, GEXF's edges without their ordinal
// ids.
inline std::vector<std::string> export_elements(const std::string& body) {
  std::vector<std::string> out;
  if (!body.empty() && body[0] == '{') {
    rapidjson::Document d;
    d.Parse(body.c_str());
    if (!d.IsObject()) return {body};
    for (const char* key : {"nodes", "links"})
      if (d.HasMember(key))
        for (const auto& e : d[key].GetArray()) out.push_back(std::string(key) + to_text(e));
    d.RemoveMember("nodes");
    d.RemoveMember("links");
    out.push_back(to_text(d));
  } else {
    std::size_t at = 0;
    while (at < body.size()) {
      std::size_t nl = body.find('\n', at);
      if (nl == std::string::npos) nl = body.size();
      std::string line = body.substr(at, nl - at);
      // GEXF numbers its edges in the order written: not compared.
      if (line.rfind("<edge id=\"", 0) == 0) line.erase(6, line.find('"', 10) - 5);
      out.push_back(std::move(line));
      at = nl + 1;
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The flags of both services: the sample once, analytics computed per
// request (a background snapshot would be taken at different moments of
// the two ingestions).
inline std::vector<std::string> service_args() {
  return {"--ephemeral", "--source", "file:" + sample, "--analytics-refresh", "0"};
}

// Waits for both ingestions, then compares.
inline void check_same_answers(const service_process& mem, const service_process& grem) {
  REQUIRE(stream_server::wait_until([&] { return ingested(mem, sample_posts); }, std::chrono::seconds(60)));
  REQUIRE(stream_server::wait_until([&] { return ingested(grem, sample_posts); }, std::chrono::seconds(300)));

  auto same = [&](const std::string& target) {
    CAPTURE(target);
    auto a = mem.get(target), b = grem.get(target);
    CHECK(a.status == b.status);
    CHECK_MESSAGE(a.body == b.body, first_difference(a.body, b.body));
  };
  same("/vertices/count");
  same("/edges/count");
  CHECK(mem.get("/edges/count").body == "{\"count\":4169}");
  same("/flows?by=location&limit=25");

  const auto vertices = all_pages(mem, "/vertices", "vertices");
  CHECK(vertices.size() == 597);
  CHECK(all_pages(grem, "/vertices", "vertices") == vertices);
  const auto edges = all_pages(mem, "/edges", "edges");
  CHECK(edges.size() == 4169);
  CHECK(all_pages(grem, "/edges", "edges") == edges);

  // Neighbours and paths between a spread of accounts.
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < vertices.size(); i += 37) {
    rapidjson::Document d;
    d.Parse(vertices[i].c_str());
    ids.push_back(d["id"].GetString());
  }
  for (const auto& id : ids) {
    same("/vertices/" + pct(id));
    same("/vertices/" + pct(id) + "/neighbors?direction=both");
  }
  int found = 0;
  for (std::size_t i = 0; i + 1 < ids.size(); ++i) {
    const std::string target = "/paths/" + pct(ids[i]) + "/" + pct(ids[i + 1]) + "?max_depth=6";
    CAPTURE(target);
    auto a = mem.get(target), b = grem.get(target);
    CHECK(a.status == b.status);
    // Several shortest paths may exist; their length may not differ.
    CHECK(path_length(a) == path_length(b));
    if (a.status == 200) ++found;
  }
  CHECK(found > 0);

  // The analytics routes: the same slice from either store, the same figures
  // (to the last digit: the same graph in the same order), but for when.
  auto same_analytics = [&](const std::string& target) {
    CAPTURE(target);
    auto a = mem.get(target), b = grem.get(target);
    CHECK(a.status == 200);
    CHECK(a.status == b.status);
    CHECK(without_time(a) == without_time(b));
  };
  for (const char* by : {"pagerank", "in_weight", "out_weight", "in_degree", "out_degree", "betweenness"})
    same_analytics(std::string("/rankings?limit=50&by=") + by);
  same_analytics("/rankings?by=pagerank&kind=mention&hashtag=climate");
  same_analytics("/rankings?by=in_weight&since=2024-11-15T10:00:00Z&until=2024-11-15T11:00:00Z");
  same_analytics("/communities?algorithm=louvain&seed=3&limit=1000");
  same_analytics("/communities?algorithm=label_propagation&limit=1000&platform=twitter");
  same_analytics("/summary");
  same_analytics("/summary?min_weight=2");
  same_analytics("/search?q=a&limit=50");
  same_analytics("/graph?limit=200");
  same_analytics("/graph?by=in_weight&limit=50&kind=mention,reply&platform=twitter");
  same_analytics("/graph?by=betweenness&limit=100&since=2024-11-15T10:00:00Z&until=2024-11-15T11:00:00Z");
  for (std::size_t i = 0; i < ids.size(); i += 4) {
    same_analytics("/vertices/" + pct(ids[i]) + "/community");
    same_analytics("/vertices/" + pct(ids[i]) + "/ego?radius=2&limit=50");
    // Every slice filter, read from each store's adjacency.
    same_analytics("/vertices/" + pct(ids[i]) + "/ego?radius=2&limit=50&hashtag=climate,football");
    same_analytics("/vertices/" + pct(ids[i]) +
                   "/ego?radius=2&limit=50&since=2024-11-15T10:00:00Z&until=2024-11-15T11:00:00Z");
    same_analytics("/vertices/" + pct(ids[i]) + "/ego?radius=2&limit=50&platform=twitter&kind=mention,reply");
  }

  // Every export format, whole and sliced, with the analytics' attributes:
  // the same elements with the same attributes. Their order is each store's
  // scan order (documented as unspecified), so elements are compared sorted.
  for (const char* q : {"format=graphml", "format=gexf", "format=json", "format=csv&part=nodes",
                        "format=csv&part=edges", "format=graphml&include=pagerank,community",
                        "format=gexf&kind=mention&hashtag=climate&include=pagerank,community",
                        "format=json&since=2024-11-15T10:00:00Z&until=2024-11-15T11:00:00Z&min_weight=2"}) {
    const std::string target = std::string("/export?") + q;
    CAPTURE(target);
    auto a = mem.get(target), b = grem.get(target);
    CHECK(a.status == 200);
    CHECK(a.status == b.status);
    CHECK(a.body.size() > 100);
    const auto ea = export_elements(a.body), eb = export_elements(b.body);
    CHECK(ea.size() > 10);
    std::size_t i = 0;
    while (i < ea.size() && i < eb.size() && ea[i] == eb[i]) ++i;
    CHECK_MESSAGE(ea == eb, "element " << i << " of " << ea.size() << " / " << eb.size()
                                       << "\n  memory:  " << (i < ea.size() ? ea[i].substr(0, 400) : "")
                                       << "\n  gremlin: " << (i < eb.size() ? eb[i].substr(0, 400) : ""));
  }

  // An export job (POST /exports) on each store: done, and the same file.
  auto job_file = [](const service_process& s, const std::string& body) {
    auto r = s.request("POST", "/exports", body);
    REQUIRE(r.status == 202);
    auto d = parse(r);
    REQUIRE(d.IsObject());
    const std::string id = d["id"].GetString();
    REQUIRE(str(wait_for_export(s, id), "state") == "done");
    auto file = s.get("/exports/" + id + "/file");
    REQUIRE(file.status == 200);
    return export_elements(file.body);
  };
  for (const char* body : {R"({"format":"gexf","include":["pagerank","community"]})",
                           R"({"format":"json","hashtag":["climate"],"kind":["reply","mention"]})"}) {
    CAPTURE(body);
    const auto a = job_file(mem, body);
    CHECK(a.size() > 10);
    CHECK(a == job_file(grem, body));
  }

  // The same writes through the API, then the same answers.
  for (auto* s : {&mem, &grem}) {
    CHECK(s->request("PUT", "/vertices/" + pct("x').drop();//"), R"({"properties":{"location":"Quito"}})")
              .status / 100 == 2);
    CHECK(s->request("POST", "/edges",
                     R"({"from":"x').drop();//","to":")" + ids[0] + R"(","kind":"mention"})")
              .status == 201);
    CHECK(s->request("DELETE", "/edges/" + pct(ids[1]) + "/" + pct(ids[2])).status / 100 != 5);
  }
  same("/vertices/count");
  same("/edges/count");
  same("/vertices/" + pct("x').drop();//"));
  same("/vertices/" + pct(ids[0]) + "/neighbors?direction=in");
  same("/flows?by=location&limit=25");
}

} // namespace tlflow::test::parity
