// The same service on both stores: the real binary ingests the shipped
// sample once with the MemoryStore and once with --store gremlin against the
// Gremlin test server, and every read of the REST API must answer the same —
// counts, every vertex with its properties and degrees, every edge with its
// weight, hashtags and times, flows, neighbours, path lengths — and stay the
// same after the same writes through the API.
#include <doctest/doctest.h>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <string>
#include <tuple>
#include <vector>

#include "support/gremlin_test_server.hpp"
#include "support/service_process.hpp"
#include "support/stream_server.hpp"

using namespace tlflow::test;

namespace {

const std::string sample = std::string(TLFLOW_SOURCE_DIR) + "/samples/x-v2-sample.ndjson";

std::string to_text(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  v.Accept(w);
  return sb.GetString();
}

rapidjson::Document parse(const http_reply& r) {
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  return d;
}

// Every element of a paged listing (`key` array, `next_cursor`), as JSON text.
std::vector<std::string> all_pages(const service_process& s, const std::string& path,
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

bool ingested(const service_process& s, int posts) {
  auto r = s.get("/status");
  if (r.status != 200) return false;
  auto d = parse(r);
  return d.IsObject() && d.HasMember("ingest") && d["ingest"]["posts"].GetInt() == posts &&
         d["ingest"]["queue"]["depth"].GetInt() == 0 && d["queued_writes"].GetInt() == 0 &&
         d["ingest"]["sources"][0]["finished"].GetBool();
}

// A reply without the fields that say when it was computed.
std::string without_time(const http_reply& r) {
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

std::size_t path_length(const http_reply& r) {
  auto d = parse(r);
  if (r.status != 200 || !d.IsObject() || !d.HasMember("path")) return 0;
  return d["path"].GetArray().Size();
}

} // namespace

TEST_CASE("memory and gremlin stores answer the REST API the same after the same ingestion") {
  gremlin_test_server gremlin;
  service_process::options mo;
  // Analytics computed per request: a background snapshot would be taken
  // at different moments of the two ingestions.
  mo.args = {"--ephemeral", "--source", "file:" + sample, "--analytics-refresh", "0"};
  service_process mem(mo);
  service_process::options go;
  go.args = {"--ephemeral", "--source", "file:" + sample, "--store", "gremlin", "--gremlin-url",
             gremlin.url(), "--analytics-refresh", "0"};
  service_process grem(go);
  REQUIRE(mem.start());
  REQUIRE(grem.start());
  REQUIRE(stream_server::wait_until([&] { return ingested(mem, 3000); }, std::chrono::seconds(60)));
  REQUIRE(stream_server::wait_until([&] { return ingested(grem, 3000); }, std::chrono::seconds(120)));

  auto same = [&](const std::string& target) {
    CAPTURE(target);
    auto a = mem.get(target), b = grem.get(target);
    CHECK(a.status == b.status);
    CHECK(a.body == b.body);
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

// The Gremlin database goes away under a running service: reads and single
// API writes answer 503 with a JSON error (a write that cannot reach the
// database is not acknowledged, so nothing acknowledged is lost), /status
// says so, /metrics counts the 503s, and all comes back with the database.
TEST_CASE("--store gremlin with the database down: 503 JSON errors, then recovery") {
  gremlin_test_server gremlin;
  service_process::options o;
  o.args = {"--ephemeral", "--store", "gremlin", "--gremlin-url", gremlin.url()};
  service_process s(o);
  REQUIRE(s.start());
  REQUIRE(s.request("PUT", "/vertices/a", R"({"properties":{"handle":"before"}})").status / 100 == 2);

  gremlin.stop();
  auto t0 = std::chrono::steady_clock::now();
  auto status = parse(s.get("/status"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2)); // health checks time out
  REQUIRE(status.IsObject());
  CHECK_FALSE(status["store_ok"].GetBool());
  for (const auto& [method, target, body] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"GET", "/vertices/count", ""},
           {"GET", "/vertices/a", ""},
           {"PUT", "/vertices/b", R"({"properties":{"handle":"during"}})"},
           {"POST", "/edges", R"({"from":"a","to":"b","kind":"mention"})"}}) {
    CAPTURE(target);
    auto sent = std::chrono::steady_clock::now();
    auto r = s.request(method, target, body);
    // Fails within the client's retries (~1.5 s of backoff), not a hang.
    CHECK(std::chrono::steady_clock::now() - sent < std::chrono::seconds(8));
    CHECK(r.status == 503);
    auto d = parse(r);
    REQUIRE(d.IsObject());
    CHECK(std::string(d["error"]["code"].GetString()) == "store_unavailable");
  }
  CHECK(s.get("/metrics").body.find("status=\"503\"") != std::string::npos);

  gremlin.start();
  REQUIRE(stream_server::wait_until([&] { return s.get("/vertices/count").status == 200; },
                                    std::chrono::seconds(30)));
  CHECK(s.get("/vertices/count").body == "{\"count\":1}"); // the 503 write was not made
  CHECK(s.get("/vertices/a").body.find("before") != std::string::npos);
}
