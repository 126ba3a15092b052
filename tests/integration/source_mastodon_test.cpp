// Mastodon hashtag streaming (SSE) against a loopback server: one stream per
// tracked tag, opened and closed live; heartbeats; multi-line data; a stream
// dropped mid-event; a status carrying two tracked tags arrives twice and
// counts once.
#include <doctest/doctest.h>

#include <atomic>
#include <map>

#include "sources/mastodon_source.hpp"
#include "support/source_harness.hpp"
#include "support/stream_fixtures.hpp"
#include "support/stream_server.hpp"

using namespace tlflow;
using namespace tlflow::test;
using namespace std::chrono_literals;

namespace {
const std::string path = "/api/v1/streaming/hashtag";
const std::string host = "example.social";

std::string status_for(int i, const std::vector<std::string>& tags) {
  return mastodon_status("1123456789012345" + std::to_string(10 + i), host, "user" + std::to_string(i % 4),
                         {"user" + std::to_string((i + 1) % 4)}, tags);
}
} // namespace

TEST_CASE("mastodon source: one stream per tag, opened and closed live; nothing doubled") {
  stream_server server;
  std::mutex m;
  std::map<std::string, int> conns;
  // Per tag: statuses 0..5 carry that tag; status 100 carries both graphs and rust.
  server.on("GET", path, [&](http_conn& c) {
    const std::string tag = c.req().param("tag");
    int n;
    {
      std::lock_guard<std::mutex> lock(m);
      n = ++conns[tag];
    }
    c.begin_chunked(200, "text/event-stream");
    c.chunk(":)\n");
    int base = tag == "graphs" ? 0 : tag == "rust" ? 10 : 20;
    if (n == 1) {
      for (int i = 0; i < 3; ++i)
        c.chunk("event: update\ndata: " + status_for(base + i, {tag}) + "\n\n");
      c.chunk("event: delete\ndata: 112345678901234500\n\n");
      c.chunk(":thump\n");
      c.chunk("event: update\ndata: " + status_for(100, {"graphs", "rust"}) + "\n\n");
      if (tag == "graphs") {  // dropped in the middle of an event
        std::string ev = "event: update\ndata: " + status_for(base + 3, {tag});
        c.chunk(ev.substr(0, ev.size() / 2));
        c.sleep(60ms);
        c.drop();
        return;
      }
    } else {
      for (int i = 3; i < 6; ++i)  // after the reconnect
        c.chunk("event: update\ndata: " + status_for(base + i, {tag}) + "\n\n");
    }
    while (c.sleep(20ms) && c.chunk(":thump\n")) {
    }
  });

  harness h;
  mastodon_options o;
  o.url = server.http_url();
  o.token = "user-token";
  mastodon_source src(h.context(), o);
  tracking_set t;
  t.hashtags = {"graphs"};
  src.on_tracking_changed(t);
  src.start();
  REQUIRE(stream_server::wait_until([&] { return server.active(path, "graphs") == 1 && h.stats().posts >= 6; }));
  CHECK(src.open_streams() == std::vector<std::string>{"graphs"});

  // A tag added: a new stream opens.
  t.hashtags = {"graphs", "rust"};
  src.on_tracking_changed(t);
  REQUIRE(stream_server::wait_until([&] { return server.active(path, "rust") == 1; }));
  CHECK(src.open_streams() == std::vector<std::string>{"graphs", "rust"});
  REQUIRE(stream_server::wait_until([&] { return h.stats().posts >= 6 + 4; }));

  // A tag removed: its stream closes, the other stays.
  t.hashtags = {"rust"};
  src.on_tracking_changed(t);
  REQUIRE(stream_server::wait_until([&] { return server.active(path, "graphs") == 0; }));
  CHECK(server.active(path, "rust") == 1);
  CHECK(src.open_streams() == std::vector<std::string>{"rust"});
  int graphs_conns = conns["graphs"];
  std::this_thread::sleep_for(100ms);
  CHECK(conns["graphs"] == graphs_conns);  // not reopened

  h.pipe->drain();
  // Expected: graphs 0..5, rust 10..12, and status 100 once.
  std::vector<std::string> distinct;
  for (int i = 0; i < 6; ++i) distinct.push_back(status_for(i, {"graphs"}));
  for (int i = 10; i < 13; ++i) distinct.push_back(status_for(i, {"rust"}));
  distinct.push_back(status_for(100, {"graphs", "rust"}));
  CHECK(h.store.dump() == expected_dump(extract_all(wire_format::mastodon, distinct)));
  CHECK(h.stats().duplicates == 1);
  CHECK(h.stats().malformed == 0);

  auto reqs = server.requests(path);
  REQUIRE_FALSE(reqs.empty());
  CHECK(reqs[0].headers["authorization"] == "Bearer user-token");
  CHECK(reqs[0].headers["accept"] == "text/event-stream");
  CHECK(src.state().connected);
  auto t0 = std::chrono::steady_clock::now();
  src.stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  CHECK(stream_server::wait_until([&] { return server.active(path) == 0; }));
  CHECK_FALSE(src.state().connected);
}

TEST_CASE("mastodon source: refused token backs off exponentially; stall reconnects") {
  stream_server server;
  std::atomic<int> conn{0};
  server.on("GET", path, [&](http_conn& c) {
    int n = ++conn;
    if (n <= 2) {
      c.respond(401, R"({"error":"Error while fetching OAuth token"})");
      return;
    }
    c.begin_chunked(200, "text/event-stream");
    c.chunk(":)\n");
    c.sleep(5s);  // silent: no heartbeats
  });
  harness h;
  mastodon_options o;
  o.url = server.http_url();
  mastodon_source src(h.context(), o);
  tracking_set t;
  t.hashtags = {"graphs"};
  src.on_tracking_changed(t);
  src.start();
  REQUIRE(stream_server::wait_until([&] { return conn.load() >= 4; }));
  src.stop();
  auto d = src.delay_history();
  REQUIRE(d.size() >= 3);
  CHECK(d[0] == 20ms);
  CHECK(d[1] == 40ms);
  CHECK(d[2] == 0ms);  // stalled after being established for > 50 ms: at once
  auto reqs = server.requests(path);
  CHECK(reqs[3].at - reqs[2].at >= 300ms);
  CHECK(src.state().last_error.find("no data") != std::string::npos);
}
