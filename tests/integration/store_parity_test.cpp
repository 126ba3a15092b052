// The same service on both stores: the real binary ingests the shipped
// sample once with the MemoryStore and once with --store gremlin against the
// Gremlin test server, and every read of the REST API must answer the same —
// counts, every vertex with its properties and degrees, every edge with its
// weight, hashtags and times, flows, neighbours, path lengths — and stay the
// same after the same writes through the API.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <tuple>
#include <vector>

#include "support/gremlin_test_server.hpp"
#include "support/rest_parity.hpp"
#include "support/service_process.hpp"
#include "support/stream_server.hpp"

using namespace tlflow::test;
using parity::parse;

TEST_CASE("memory and gremlin stores answer the REST API the same after the same ingestion") {
  gremlin_test_server gremlin;
  service_process::options mo;
  mo.args = parity::service_args();
  service_process mem(mo);
  service_process::options go;
  go.args = parity::service_args();
  for (const char* a : {"--store", "gremlin", "--gremlin-url"}) go.args.push_back(a);
  go.args.push_back(gremlin.url());
  service_process grem(go);
  REQUIRE(mem.start());
  REQUIRE(grem.start());
  parity::check_same_answers(mem, grem);
  // A clean stop removes the export jobs' temporary directories.
  CHECK(mem.terminate() == 0);
  CHECK(grem.terminate() == 0);
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
