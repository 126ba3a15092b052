// Mastodon over one WebSocket per instance against a loopback Beast server:
// one connection and one subscribe per tag; tracking changes subscribe and
// unsubscribe on the same connection; envelopes (payload: the Status as a
// JSON string) arrive as posts, a status on two subscriptions counts once;
// server pings keep a quiet connection alive; every tag is subscribed again
// after a reconnect; a refused upgrade falls back to SSE, capped; over
// https the WebSocket is wss, the certificate checked against the host name.
#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "sources/mastodon_source.hpp"
#include "support/source_harness.hpp"
#include "support/stream_fixtures.hpp"
#include "support/stream_server.hpp"
#include "support/tls_proxy.hpp"

using namespace tlflow;
using namespace tlflow::test;
using namespace std::chrono_literals;

namespace {
const std::string ws_path = "/api/v1/streaming";
const std::string sse_path = "/api/v1/streaming/hashtag";
const std::string host = "example.social";

std::string status_for(int i, const std::vector<std::string>& tags) {
  return mastodon_status("1123456789012345" + std::to_string(10 + i), host, "user" + std::to_string(i % 4),
                         {"user" + std::to_string((i + 1) % 4)}, tags);
}

// {"stream":["hashtag","<tag>"],"event":"<event>","payload":"<payload as a string>"}
std::string envelope(const std::string& tag, const std::string& event, const std::string& payload) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("stream");
  w.StartArray();
  w.String("hashtag");
  w.String(tag.c_str());
  w.EndArray();
  w.Key("event");
  w.String(event.c_str());
  w.Key("payload");
  w.String(payload.c_str(), static_cast<rapidjson::SizeType>(payload.size()));
  w.EndObject();
  return buf.GetString();
}

int base_of(const std::string& tag) { return tag == "graphs" ? 0 : tag == "rust" ? 10 : 20; }

std::string sub_msg(const std::string& type, const std::string& tag) {
  return R"({"type":")" + type + R"(","stream":"hashtag","tag":")" + tag + "\"}";
}

// The streaming server: answers each subscribe with three statuses of the
// tag plus one status carrying graphs and rust, and a delete; pings while
// quiet; records what every connection sent.
struct fake_streaming {
  stream_server server;
  std::mutex m;
  std::vector<std::vector<std::string>> received;  // per connection
  std::atomic<int> drop_first_after{0};            // drop connection 1 after N messages

  fake_streaming() {
    server.on("WS", ws_path, [this](http_conn& c) {
      std::size_t n;
      {
        std::lock_guard<std::mutex> lock(m);
        received.emplace_back();
        n = received.size() - 1;
      }
      int seen = 0;
      for (;;) {
        std::string msg;
        if (!c.ws_read(msg, 30ms)) {
          if (c.peer_closed() || c.stopping()) return;
          if (!c.ws_ping()) return;
          continue;
        }
        {
          std::lock_guard<std::mutex> lock(m);
          received[n].push_back(msg);
        }
        ++seen;
        for (const char* tag : {"graphs", "rust", "cats"}) {
          if (msg != sub_msg("subscribe", tag)) continue;
          int base = base_of(tag);
          for (int i = 0; i < 3; ++i) c.ws_send(envelope(tag, "update", status_for(base + i, {tag})));
          c.ws_send(envelope(tag, "delete", "112345678901234500"));
          if (std::string(tag) != "cats")
            c.ws_send(envelope(tag, "update", status_for(100, {"graphs", "rust"})));
        }
        if (n == 0 && drop_first_after.load() > 0 && seen >= drop_first_after.load()) {
          c.drop();
          return;
        }
      }
    });
  }
  std::vector<std::string> messages(std::size_t conn) {
    std::lock_guard<std::mutex> lock(m);
    return conn < received.size() ? received[conn] : std::vector<std::string>{};
  }
  std::size_t connections() {
    std::lock_guard<std::mutex> lock(m);
    return received.size();
  }
};
} // namespace

TEST_CASE("mastodon WebSocket: one connection, one subscribe per tag, live changes, posts once") {
  fake_streaming fs;
  harness h;
  mastodon_options o;
  o.url = fs.server.http_url();
  o.token = "user-token";
  mastodon_source src(h.context(), o);
  tracking_set t;
  t.hashtags = {"graphs", "rust"};
  src.on_tracking_changed(t);
  src.start();
  REQUIRE(stream_server::wait_until([&] { return fs.messages(0).size() == 2 && h.stats().posts >= 8; }));
  CHECK(fs.messages(0) == std::vector<std::string>{sub_msg("subscribe", "graphs"), sub_msg("subscribe", "rust")});
  CHECK(src.subscriptions() == std::vector<std::string>{"graphs", "rust"});
  CHECK(src.open_streams().empty());
  CHECK_FALSE(src.sse_fallback());

  // Quiet for several stall timeouts (300 ms): the server's pings keep it open.
  std::this_thread::sleep_for(1s);
  CHECK(fs.connections() == 1);

  // Added and removed live, on the same connection.
  t.hashtags = {"cats", "rust"};
  src.on_tracking_changed(t);
  REQUIRE(stream_server::wait_until([&] { return fs.messages(0).size() == 4 && h.stats().posts >= 11; }));
  auto msgs = fs.messages(0);
  CHECK(msgs[2] == sub_msg("unsubscribe", "graphs"));
  CHECK(msgs[3] == sub_msg("subscribe", "cats"));
  CHECK(src.subscriptions() == std::vector<std::string>{"cats", "rust"});
  CHECK(fs.connections() == 1);
  CHECK(src.state().connections == 1);
  CHECK(src.state().reconnects == 0);

  // posts counts the status carried by both subscriptions twice: 10 + 1.
  h.pipe->drain();
  std::vector<std::string> distinct;
  for (int i = 0; i < 3; ++i) distinct.push_back(status_for(i, {"graphs"}));
  for (int i = 10; i < 13; ++i) distinct.push_back(status_for(i, {"rust"}));
  for (int i = 20; i < 23; ++i) distinct.push_back(status_for(i, {"cats"}));
  distinct.push_back(status_for(100, {"graphs", "rust"}));
  auto got = h.store.dump();
  auto want = expected_dump(extract_all(wire_format::mastodon, distinct));
  if (got != want) {
    for (auto& l : got) MESSAGE("got  " << l);
    for (auto& l : want) MESSAGE("want " << l);
  }
  CHECK(got == want);
  CHECK(h.stats().duplicates == 1);
  CHECK(h.stats().malformed == 0);

  auto reqs = fs.server.requests(ws_path);
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].websocket);
  CHECK(reqs[0].target == ws_path);  // the token is not in the URL
  CHECK(reqs[0].headers["authorization"] == "Bearer user-token");
  CHECK(fs.server.requests(sse_path).empty());

  auto t0 = std::chrono::steady_clock::now();
  src.stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  CHECK_FALSE(src.state().connected);
}

TEST_CASE("mastodon WebSocket: after a drop every tag is subscribed again") {
  fake_streaming fs;
  fs.drop_first_after = 2;
  harness h;
  mastodon_options o;
  o.url = fs.server.http_url();
  mastodon_source src(h.context(), o);
  tracking_set t;
  t.hashtags = {"graphs", "rust"};
  src.on_tracking_changed(t);
  src.start();
  REQUIRE(stream_server::wait_until([&] { return fs.messages(1).size() == 2; }));
  CHECK(fs.messages(1) == std::vector<std::string>{sub_msg("subscribe", "graphs"), sub_msg("subscribe", "rust")});
  CHECK(src.state().reconnects >= 1);
  src.stop();
}

TEST_CASE("mastodon WebSocket over wss: SNI and the host name checked; a name the certificate lacks is refused") {
  fake_streaming fs;
  tls_proxy proxy(fs.server.port());
  tracking_set t;
  t.hashtags = {"graphs"};

  SUBCASE("https://localhost with the CA") {
    harness h;
    auto ctx = h.context();
    ctx.ca_file = proxy.ca_file();
    mastodon_options o;
    o.url = proxy.url("https");
    o.token = "user-token";
    mastodon_source src(ctx, o);
    src.on_tracking_changed(t);
    src.start();
    REQUIRE(stream_server::wait_until([&] { return h.stats().posts >= 4; }));
    src.stop();
    CHECK(fs.messages(0) == std::vector<std::string>{sub_msg("subscribe", "graphs")});
    CHECK(proxy.server_names() == std::vector<std::string>{"localhost"});
    auto reqs = fs.server.requests(ws_path);
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].headers["authorization"] == "Bearer user-token");
    CHECK_FALSE(src.sse_fallback());
  }
  SUBCASE("https://127.0.0.1: the certificate names only localhost") {
    harness h;
    auto ctx = h.context();
    ctx.ca_file = proxy.ca_file();
    mastodon_options o;
    o.url = "https://127.0.0.1:" + std::to_string(proxy.port());
    mastodon_source src(ctx, o);
    src.on_tracking_changed(t);
    src.start();
    REQUIRE(stream_server::wait_until([&] { return src.state().errors >= 2; }));
    src.stop();
    CHECK(proxy.handshakes_ok() == 0);
    CHECK(h.stats().posts == 0);
    CHECK(fs.connections() == 0);
    CHECK_FALSE(src.sse_fallback());  // a refused certificate is retried, not a reason for SSE
  }
}

TEST_CASE("mastodon: a refused WebSocket upgrade falls back to SSE streams, at most max_sse_streams") {
  stream_server server;  // no WebSocket handler: the upgrade is answered 404
  std::atomic<int> sse_conns{0};
  server.on("GET", sse_path, [&](http_conn& c) {
    ++sse_conns;
    const std::string tag = c.req().param("tag");
    c.begin_chunked(200, "text/event-stream");
    c.chunk(":)\n");
    c.chunk("event: update\ndata: " + status_for(base_of(tag), {tag}) + "\n\n");
    while (c.sleep(20ms) && c.chunk(":thump\n")) {
    }
  });
  harness h;
  mastodon_options o;
  o.url = server.http_url();
  o.max_sse_streams = 2;
  mastodon_source src(h.context(), o);
  tracking_set t;
  t.hashtags = {"rust", "graphs", "cats"};
  src.on_tracking_changed(t);
  src.start();
  REQUIRE(stream_server::wait_until([&] { return server.active(sse_path) == 2 && h.stats().posts >= 2; }));
  CHECK(src.sse_fallback());
  CHECK(src.open_streams() == std::vector<std::string>{"cats", "graphs"});  // the first two, sorted
  std::this_thread::sleep_for(100ms);
  CHECK(server.active(sse_path) == 2);
  CHECK(server.requests(ws_path).size() == 1);  // tried once, not again

  // Live changes still work in fallback, within the cap.
  t.hashtags = {"rust"};
  src.on_tracking_changed(t);
  REQUIRE(stream_server::wait_until([&] { return server.active(sse_path, "rust") == 1 && server.active(sse_path) == 1; }));
  CHECK(src.open_streams() == std::vector<std::string>{"rust"});
  src.stop();
  CHECK(stream_server::wait_until([&] { return server.active(sse_path) == 0; }));
}

TEST_CASE("mastodon WebSocket: a connection without any frame (no ping either) is a stall") {
  stream_server server;
  std::atomic<int> conns{0};
  server.on("WS", ws_path, [&](http_conn& c) {
    ++conns;
    std::string msg;
    while (!c.peer_closed() && !c.stopping()) (void)c.ws_read(msg, 20ms);  // silent
  });
  harness h;
  mastodon_options o;
  o.url = server.http_url();
  mastodon_source src(h.context(), o);
  tracking_set t;
  t.hashtags = {"graphs"};
  src.on_tracking_changed(t);
  src.start();
  REQUIRE(stream_server::wait_until([&] { return conns.load() >= 2; }));
  src.stop();
  CHECK(src.state().last_error.find("no frame for 300 ms") != std::string::npos);
  CHECK_FALSE(src.sse_fallback());
}
