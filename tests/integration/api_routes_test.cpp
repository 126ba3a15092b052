// Every REST route (docs/architecture.md, "REST API"; except /tracking*) against the real binary
// on loopback: happy paths and their errors.
#include <set>
#include <string>

#include <doctest/doctest.h>

#include "support/api_client.hpp"
#include "support/service_process.hpp"

using namespace tlflow::test;

namespace {

service_process& svc() {
  static service_process s({{"--ephemeral"}, {}, {}});
  static const bool started = s.start();
  if (!started) FAIL("tlflow did not start: " << s.stderr_text());
  return s;
}

void put(const std::string& id, const std::string& body = {}) {
  auto r = svc().request("PUT", "/vertices/" + pct(id), body);
  REQUIRE((r.status == 201 || r.status == 200));
}

void link(const std::string& from, const std::string& to, const std::string& kind = "link") {
  auto r = svc().request("POST", "/edges",
                         R"({"from":")" + from + R"(","to":")" + to + R"(","kind":")" + kind + "\"}");
  REQUIRE((r.status == 201 || r.status == 200));
}

} // namespace

TEST_CASE("GET /status") {
  auto r = svc().get("/status");
  CHECK(r.status == 200);
  CHECK(r.header("content-type").value_or("") == "application/json; charset=utf-8");
  auto d = json_of(r);
  REQUIRE(d.IsObject());
  CHECK(str(d, "status") == "OK");
  CHECK(!str(d, "version").empty());
  CHECK(str(d, "store") == "memory");
  CHECK(d["store_ok"].GetBool());
  CHECK(d["vertices"].IsUint64());
  CHECK(d["edges"].IsUint64());
  CHECK(d["uptime_s"].IsInt64());
  CHECK(d["ingest"].IsObject());
}

TEST_CASE("vertex lifecycle: put, get, update, null removes, delete, undo") {
  auto r = svc().request("PUT", "/vertices/life:alice",
                         R"({"properties":{"handle":"alice","age":30,"score":1.5,"bot":false}})");
  CHECK(r.status == 201);
  auto d = json_of(r);
  CHECK(str(d, "id") == "life:alice");
  CHECK(str(d["properties"], "handle") == "alice");
  CHECK(d["properties"]["age"].GetInt64() == 30);
  CHECK(d["properties"]["score"].GetDouble() == 1.5);
  CHECK(d["properties"]["bot"].IsFalse());
  CHECK(d["in_degree"].GetUint64() == 0);

  r = svc().request("PUT", "/vertices/life:alice", R"({"properties":{"age":null,"name":"Alice"}})");
  CHECK(r.status == 200);
  d = json_of(r);
  CHECK_FALSE(d["properties"].HasMember("age"));
  CHECK(str(d["properties"], "name") == "Alice");

  CHECK(svc().request("PUT", "/vertices/life:alice").status == 200);  // body optional
  r = svc().get("/vertices/life:alice");
  CHECK(r.status == 200);
  CHECK(str(json_of(r)["properties"], "handle") == "alice");

  link("life:alice", "life:bob");
  r = svc().request("DELETE", "/vertices/life:alice");
  CHECK(r.status == 200);
  d = json_of(r);
  CHECK(d["deleted"]["vertices"].GetUint64() == 1);
  CHECK(d["deleted"]["edges"].GetUint64() == 1);
  const std::string ticket = str(d, "undo_ticket");
  CHECK(ticket.size() == 32);
  CHECK(r.header("x-undo-ticket").value_or("") == ticket);

  r = svc().get("/vertices/life:alice");
  CHECK(r.status == 404);
  CHECK(error_code(r) == "vertex_not_found");
  CHECK(is_error_object(r));
  CHECK(error_code(svc().request("DELETE", "/vertices/life:alice")) == "vertex_not_found");

  r = svc().request("POST", "/undo/" + ticket);
  CHECK(r.status == 200);
  CHECK(json_of(r)["restored"]["edges"].GetUint64() == 1);
  r = svc().get("/vertices/life:alice");
  CHECK(r.status == 200);
  CHECK(str(json_of(r)["properties"], "name") == "Alice");
  CHECK(json_of(r)["out_degree"].GetUint64() == 1);

  r = svc().request("POST", "/undo/" + ticket);  // one use only
  CHECK(r.status == 404);
  CHECK(error_code(r) == "ticket_not_found");
  CHECK(error_code(svc().request("POST", "/undo/0123456789abcdef0123456789abcdef")) ==
        "ticket_not_found");
}

TEST_CASE("PUT /vertices/{id} rejects bad bodies") {
  auto code = [](const std::string& body) {
    auto r = svc().request("PUT", "/vertices/bad:body", body);
    CHECK(r.status == 400);
    CHECK(is_error_object(r));
    return error_code(r);
  };
  CHECK(code(R"({"properties":{"a":[1]}})") == "invalid_argument");
  CHECK(code(R"({"properties":{"a":{"b":1}}})") == "invalid_argument");
  CHECK(code(R"({"properties":[1]})") == "invalid_argument");
  CHECK(code(R"({"other":1})") == "invalid_argument");
  CHECK(code(R"([1,2])") == "invalid_argument");
  CHECK(code(R"({"properties":)") == "malformed_json");
}

TEST_CASE("GET /vertices pages with opaque cursors and a prefix") {
  std::set<std::string> expected;
  for (int i = 0; i < 25; ++i) {
    const std::string id = "page:" + std::to_string(100 + i);
    put(id);
    expected.insert(id);
  }
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto r = svc().get("/vertices?prefix=page%3A&limit=10" + (cursor.empty() ? "" : "&cursor=" + cursor));
    REQUIRE(r.status == 200);
    auto d = json_of(r);
    REQUIRE(d["vertices"].IsArray());
    CHECK(d["vertices"].Size() <= 10);
    for (const auto& v : d["vertices"].GetArray()) seen.insert(str(v, "id"));
    cursor = d["next_cursor"].IsString() ? d["next_cursor"].GetString() : "";
    ++pages;
  } while (!cursor.empty() && pages < 10);
  CHECK(seen == expected);
  CHECK(pages >= 3);

  auto r = svc().get("/vertices?cursor=not*base64");
  CHECK(r.status == 400);
  CHECK(error_code(r) == "invalid_argument");
  CHECK(svc().get("/vertices?limit=0").status == 400);
  CHECK(svc().get("/vertices?limit=1001").status == 400);
  CHECK(svc().get("/vertices?limit=1000").status == 200);
}

TEST_CASE("counts") {
  put("count:a");
  auto r = svc().get("/vertices/count");
  CHECK(r.status == 200);
  CHECK(json_of(r)["count"].GetUint64() >= 1);
  r = svc().get("/edges/count");
  CHECK(r.status == 200);
  CHECK(json_of(r)["count"].IsUint64());
  r = svc().request("POST", "/vertices/count");
  CHECK(r.status == 405);
  CHECK(r.header("allow").value_or("") == "GET, HEAD, OPTIONS");
}

TEST_CASE("edges: post, weight, list, filter, neighbours, delete, undo") {
  auto r = svc().request("POST", "/edges", R"({"from":"e:a","to":"e:b"})");
  CHECK(r.status == 201);
  auto d = json_of(r);
  CHECK(str(d, "kind") == "link");
  CHECK(d["weight"].GetUint64() == 1);
  r = svc().request("POST", "/edges", R"({"from":"e:a","to":"e:b"})");
  CHECK(r.status == 200);
  CHECK(json_of(r)["weight"].GetUint64() == 2);
  r = svc().request("POST", "/edges", R"({"from":"e:a","to":"e:c","kind":"mention","properties":{"note":"x"}})");
  CHECK(r.status == 201);
  CHECK(str(json_of(r)["properties"], "note") == "x");
  link("e:c", "e:a", "reply");

  r = svc().get("/vertices/e:a");
  CHECK(json_of(r)["out_degree"].GetUint64() == 2);
  CHECK(json_of(r)["in_degree"].GetUint64() == 1);

  r = svc().get("/edges?from=e%3Aa");
  REQUIRE(r.status == 200);
  CHECK(json_of(r)["edges"].Size() == 2);
  r = svc().get("/edges?from=e%3Aa&kind=mention");
  CHECK(json_of(r)["edges"].Size() == 1);
  r = svc().get("/edges?from=e%3Aa&limit=1");
  d = json_of(r);
  CHECK(d["edges"].Size() == 1);
  REQUIRE(d["next_cursor"].IsString());
  r = svc().get(std::string("/edges?from=e%3Aa&limit=1&cursor=") + d["next_cursor"].GetString());
  CHECK(json_of(r)["edges"].Size() == 1);
  CHECK(svc().get("/edges?kind=hug").status == 400);
  auto vertex_page = json_of(svc().get("/vertices?limit=1"));
  REQUIRE(vertex_page["next_cursor"].IsString());
  CHECK(svc().get(std::string("/edges?cursor=") + vertex_page["next_cursor"].GetString()).status == 400);

  r = svc().get("/vertices/e:a/neighbors?direction=out");
  REQUIRE(r.status == 200);
  d = json_of(r);
  CHECK(str(d, "id") == "e:a");
  CHECK(d["neighbors"].Size() == 2);
  CHECK(str(d["neighbors"][0], "id") == "e:b");  // heaviest first
  CHECK(d["neighbors"][0]["weight"].GetUint64() == 2);
  CHECK(str(d["neighbors"][0], "direction") == "out");
  r = svc().get("/vertices/e:a/neighbors?direction=in&kind=reply");
  CHECK(json_of(r)["neighbors"].Size() == 1);
  CHECK(svc().get("/vertices/e:a/neighbors?direction=sideways").status == 400);
  CHECK(error_code(svc().get("/vertices/e:none/neighbors")) == "vertex_not_found");

  CHECK(svc().request("POST", "/edges", R"({"from":"e:a"})").status == 400);
  CHECK(svc().request("POST", "/edges", R"({"from":"e:a","to":5})").status == 400);
  CHECK(svc().request("POST", "/edges", R"({"from":"e:a","to":"e:b","kind":"hug"})").status == 400);
  CHECK(error_code(svc().request("POST", "/edges", R"({"from":"","to":"e:b"})")) == "invalid_id");
  CHECK(svc().request("POST", "/edges").status == 400);

  r = svc().request("DELETE", "/edges/e:a/e:b?kind=link");
  CHECK(r.status == 200);
  const std::string ticket = r.header("x-undo-ticket").value_or("");
  CHECK(json_of(r)["deleted"]["edges"].GetUint64() == 1);
  r = svc().request("DELETE", "/edges/e:a/e:b");
  CHECK(r.status == 404);
  CHECK(error_code(r) == "edge_not_found");
  CHECK(svc().request("POST", "/undo/" + ticket).status == 200);
  r = svc().get("/edges?from=e%3Aa&to=e%3Ab");
  CHECK(json_of(r)["edges"][0]["weight"].GetUint64() == 2);
}

TEST_CASE("GET /paths") {
  link("p:a", "p:b");
  link("p:b", "p:c");
  link("p:c", "p:d", "mention");
  put("p:island");
  auto r = svc().get("/paths/p:a/p:c");
  REQUIRE(r.status == 200);
  auto d = json_of(r);
  CHECK(d["length"].GetUint64() == 2);
  REQUIRE(d["path"].Size() == 3);
  CHECK(std::string(d["path"][1].GetString()) == "p:b");

  CHECK(svc().get("/paths/p:c/p:a").status == 200);  // undirected by default
  r = svc().get("/paths/p:c/p:a?directed=true");
  CHECK(r.status == 404);
  CHECK(error_code(r) == "no_path");
  CHECK(error_code(svc().get("/paths/p:a/p:c?max_depth=1")) == "no_path");
  CHECK(error_code(svc().get("/paths/p:a/p:d?kind=link")) == "no_path");
  CHECK(svc().get("/paths/p:a/p:d?kind=link,mention").status == 400);
  CHECK(error_code(svc().get("/paths/p:a/p:island")) == "no_path");
  CHECK(error_code(svc().get("/paths/p:a/p:nowhere")) == "vertex_not_found");
  CHECK(svc().get("/paths/p:a/p:c?max_depth=abc").status == 400);
  CHECK(svc().get("/paths/p:a/p:c?max_depth=0").status == 400);
  CHECK(svc().get("/paths/p:a/p:c?max_depth=33").status == 400);
  CHECK(svc().get("/paths/p:a/p:c?directed=maybe").status == 400);
}

TEST_CASE("GET /flows") {
  put("f:a", R"({"properties":{"location":"Madrid"}})");
  put("f:b", R"({"properties":{"location":" madrid "}})");
  put("f:c", R"({"properties":{"location":"Lima"}})");
  link("f:a", "f:c");
  auto r = svc().get("/flows?by=location&limit=10");
  REQUIRE(r.status == 200);
  auto d = json_of(r);
  CHECK(str(d, "by") == "location");
  REQUIRE(d["flows"].IsArray());
  bool found = false;
  for (const auto& f : d["flows"].GetArray()) {
    if (f["from"].IsString() && std::string(f["from"].GetString()) == "madrid" && f["to"].IsString() &&
        std::string(f["to"].GetString()) == "lima") {
      found = true;
    }
  }
  CHECK(found);
  CHECK(svc().get("/flows?by=hashtag").status == 400);
  CHECK(svc().get("/flows?limit=-1").status == 400);
}

TEST_CASE("GET /metrics") {
  svc().get("/vertices/count");
  svc().get("/vertices/metrics:absent");
  auto r = svc().get("/metrics");
  CHECK(r.status == 200);
  CHECK(r.header("content-type").value_or("").rfind("text/plain", 0) == 0);
  CHECK(r.body.find("tlflow_http_requests_total{method=\"GET\",route=\"/vertices/count\",status=\"200\"}") !=
        std::string::npos);
  CHECK(r.body.find("tlflow_http_requests_total{method=\"GET\",route=\"/vertices/{id}\",status=\"404\"}") !=
        std::string::npos);
  CHECK(r.body.find("tlflow_http_request_duration_seconds_bucket{method=\"GET\",route=\"/vertices/count\"") !=
        std::string::npos);
  CHECK(r.body.find("tlflow_store_vertices ") != std::string::npos);
  CHECK(r.body.find("tlflow_store_edges ") != std::string::npos);
}

TEST_CASE("legacy routes answer in the new shapes") {
  auto r = svc().request("POST", "/vertices/add/legacy:a");
  CHECK(r.status == 201);
  CHECK(str(json_of(r), "id") == "legacy:a");
  r = svc().request("POST", "/aristas/add/legacy:a,legacy:b");
  CHECK(r.status == 201);
  CHECK(str(json_of(r), "to") == "legacy:b");
  CHECK(str(json_of(r), "kind") == "link");
  r = svc().request("POST", "/vertices/cuenta_vertices");
  CHECK(r.status == 200);
  CHECK(json_of(r)["count"].GetUint64() >= 2);
  r = svc().get("/vertices/find_path/legacy:a/legacy:b");
  CHECK(r.status == 200);
  CHECK(json_of(r)["length"].GetUint64() == 1);
  r = svc().request("DELETE", "/aristas/remove/legacy:a/legacy:b");
  CHECK(r.status == 200);
  CHECK(r.header("x-undo-ticket"));
  r = svc().request("DELETE", "/vertices/remove/legacy:a");
  CHECK(r.status == 200);
  CHECK(svc().get("/vertices/legacy:a").status == 404);
  CHECK(svc().get("/vertices/add/legacy:a").status == 405);
  CHECK(svc().request("POST", "/aristas/add/legacy:a").status == 404);
}

TEST_CASE("unknown route is 404 JSON, wrong method 405 JSON with Allow") {
  auto r = svc().get("/nope");
  CHECK(r.status == 404);
  CHECK(error_code(r) == "not_found");
  CHECK(is_error_object(r));
  r = svc().request("PATCH", "/vertices/x");
  CHECK(r.status == 405);
  CHECK(error_code(r) == "method_not_allowed");
  CHECK(r.header("allow").value_or("") == "GET, HEAD, PUT, DELETE, OPTIONS");
  r = svc().request("DELETE", "/status");
  CHECK(r.status == 405);
  CHECK(is_error_object(r));
}
