// X API v2 filtered stream and Twitter v1.1 statuses/filter against a real
// HTTP/1.1 server on loopback: chunked NDJSON, keep-alives, faults (503 and
// 429 on connect, a connection dropped mid-message, a stall, malformed,
// truncated and non-UTF-8 lines), backoff sequences, backfill on reconnect,
// rules sync, live tracking changes. The store must end up with exactly the
// interactions of the distinct posts.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>

#include "sources/x_source.hpp"
#include "support/source_harness.hpp"
#include "support/stream_fixtures.hpp"
#include "support/stream_server.hpp"

using namespace tlflow;
using namespace tlflow::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> x_lines(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back(x_v2_line(std::to_string(1790000000000000000LL + i), i % 7,
                            {(i + 1) % 7, (i + 3) % 7}, {"graphs", i % 2 ? "rust" : "other"}));
  return out;
}

const std::string stream_path = "/2/tweets/search/stream";

} // namespace

TEST_CASE("x source: faults survived; backoff sequence; nothing lost, nothing doubled") {
  stream_server server;
  x_rules_emulator rules(server);
  const auto lines = x_lines(25);
  std::atomic<int> conn{0};
  server.on("GET", stream_path, [&](http_conn& c) {
    int n = ++conn;
    if (n == 1) {
      c.respond(503, R"({"title":"Service Unavailable"})");
    } else if (n == 2) {
      c.respond(429, R"({"title":"Too Many Requests","connection_issue":"TooManyConnections"})");
    } else if (n == 3) {
      c.begin_chunked();
      for (int i = 0; i < 10; ++i) {
        if (i == 4) {  // one line split across two chunks
          c.chunk(lines[i].substr(0, 30));
          c.sleep(5ms);
          c.chunk(lines[i].substr(30) + "\r\n");
        } else {
          c.chunk(lines[i] + "\r\n");
        }
        c.chunk("\r\n");  // keep-alive
        c.sleep(10ms);
      }
      c.chunk("{\"data\":{\"id\":\"1\",\"text\":\"truncated\r\n");   // malformed
      c.chunk("{\"data\":{\"id\":\"17\",\"text\":\"\xff\xfe\",\"author_id\":\"5\"}}\r\n");  // bad UTF-8
      c.chunk(lines[10].substr(0, lines[10].size() / 2));  // dropped mid-message
      c.sleep(20ms);
      c.drop();
    } else if (n == 4) {
      c.begin_chunked();
      for (int i = 5; i < 20; ++i) c.chunk(lines[i] + "\r\n");  // backfill repeats 5..9
      c.sleep(10s);                                               // stall: no keep-alives
    } else {
      c.begin_chunked();
      for (int i = 20; i < 25; ++i) c.chunk(lines[i] + "\r\n");
      while (c.sleep(20ms) && c.chunk("\r\n")) {
      }
    }
  });

  harness h;
  x_source_options o;
  o.api_url = server.http_url() + "/";
  o.bearer_token = "secret-token";
  o.backfill_minutes = 2;
  x_source src(h.context(), o);
  tracking_set t;
  t.hashtags = {"graphs", "rust"};
  h.pipe->set_tracking(t);
  src.on_tracking_changed(t);
  src.start();

  REQUIRE(stream_server::wait_until([&] { return h.stats().posts >= 25 + 5; }, 10s));
  REQUIRE(stream_server::wait_until([&] { return conn.load() >= 5 && src.state().connected; }));
  h.pipe->drain();

  // Store contents: exactly the distinct posts' interactions, tracked tags only.
  auto expected = extract_all(wire_format::x_v2, lines);
  for (auto& i : expected)
    i.hashtags.erase(std::remove(i.hashtags.begin(), i.hashtags.end(), "other"), i.hashtags.end());
  CHECK(h.store.dump() == expected_dump(expected));
  auto s = h.stats();
  CHECK(s.duplicates == 5);
  CHECK(s.malformed_by_reason["malformed_json"] == 1);
  CHECK(s.malformed_by_reason["invalid_utf8"] == 1);

  // Delays: HTTP 503 -> 20 ms, 429 -> 50 ms, established drops -> at once.
  auto delays = src.delay_history();
  REQUIRE(delays.size() >= 4);
  CHECK(delays[0] == 20ms);
  CHECK(delays[1] == 50ms);
  CHECK(delays[2] == 0ms);
  CHECK(delays[3] == 0ms);
  auto reqs = server.requests(stream_path);
  REQUIRE(reqs.size() >= 5);
  CHECK(reqs[1].at - reqs[0].at >= 20ms);
  CHECK(reqs[2].at - reqs[1].at >= 50ms);
  // A stall is detected after the stall timeout (300 ms), not before.
  CHECK(reqs[4].at - reqs[3].at >= 300ms);
  CHECK(reqs[4].at - reqs[3].at < 3s);

  // Request shape: bearer token, fields and expansions, backfill on reconnect only.
  CHECK(reqs[0].headers["authorization"] == "Bearer secret-token");
  CHECK(reqs[0].param("user.fields").find("location") != std::string::npos);
  CHECK(reqs[0].param("expansions").find("entities.mentions.username") != std::string::npos);
  CHECK(reqs[0].param("backfill_minutes").empty());
  CHECK(reqs[1].param("backfill_minutes") == "2");

  auto st = src.state();
  CHECK(st.connected);
  CHECK(st.connections == 3);
  CHECK(st.reconnects == 4);
  CHECK(st.errors >= 4);
  CHECK(st.last_error.find("secret-token") == std::string::npos);
  CHECK(h.metrics.render().find("tlflow_source_reconnects_total{source=\"x\"} 4") != std::string::npos);

  auto t0 = std::chrono::steady_clock::now();
  src.stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  CHECK_FALSE(src.state().connected);
}

// X's rule, measured with the real default: a stream that goes silent
// without closing is reopened after 20 s without data or keep-alive — not
// after v1.1's 90 s.
TEST_CASE("x source: a silent stream is reopened after X's 20 s, with no override") {
  stream_server server;
  x_rules_emulator rules(server);
  const auto lines = x_lines(3);
  std::atomic<int> conn{0};
  std::mutex m;
  std::chrono::steady_clock::time_point last_byte;
  server.on("GET", stream_path, [&](http_conn& c) {
    int n = ++conn;
    c.begin_chunked();
    if (n == 1) {
      for (const auto& l : lines) c.chunk(l + "\r\n");
      {
        std::lock_guard<std::mutex> lock(m);
        last_byte = std::chrono::steady_clock::now();
      }
      c.sleep(120s);  // silent, the connection left open: returns when the client hangs up
    } else {
      while (c.sleep(50ms) && c.chunk("\r\n")) {
      }
    }
  });

  harness h;
  source_context ctx = h.context();
  ctx.stall_timeout = millis(0);  // the source's own figure
  x_source_options o;
  o.api_url = server.http_url();
  x_source src(ctx, o);
  REQUIRE(src.stall_timeout() == 20s);
  src.start();
  REQUIRE(stream_server::wait_until([&] { return h.stats().posts >= 3; }, 10s));
  REQUIRE(stream_server::wait_until([&] { return conn.load() >= 2; }, 40s));
  auto reqs = server.requests(stream_path);
  REQUIRE(reqs.size() >= 2);
  std::chrono::steady_clock::time_point silent_since;
  {
    std::lock_guard<std::mutex> lock(m);
    silent_since = last_byte;
  }
  const auto waited = reqs[1].at - silent_since;
  MESSAGE("reconnected after "
          << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count() << " ms of silence");
  CHECK(waited >= 19s);
  CHECK(waited < 30s);
  CHECK(src.delay_history().at(0) == 0ms);  // an established stream that stalled: at once
  CHECK(src.state().last_error.find("no data for 20000 ms") != std::string::npos);
  src.stop();
}

TEST_CASE("x source: TCP-level failures back off linearly up to the cap") {
  // A port with nothing listening: connection refused every time.
  std::uint16_t port;
  {
    stream_server s;
    port = s.port();
  }
  harness h;
  x_source_options o;
  o.api_url = "http://127.0.0.1:" + std::to_string(port);
  x_source src(h.context(), o);
  src.start();
  REQUIRE(stream_server::wait_until([&] { return src.delay_history().size() >= 6; }));
  src.stop();
  auto d = src.delay_history();
  CHECK(std::vector<millis>(d.begin(), d.begin() + 6) ==
        std::vector<millis>{10ms, 20ms, 30ms, 40ms, 40ms, 40ms});
  CHECK_FALSE(src.state().connected);
  CHECK(src.state().connections == 0);
}

TEST_CASE("x source: HTTP errors back off exponentially; 429 from its own base") {
  stream_server server;
  x_rules_emulator rules(server);
  std::atomic<int> conn{0};
  server.on("GET", stream_path, [&](http_conn& c) {
    int n = ++conn;
    c.respond(n <= 4 ? 401 : 429, R"({"title":"Unauthorized"})");
  });
  harness h;
  x_source_options o;
  o.api_url = server.http_url();
  x_source src(h.context(), o);
  src.start();
  REQUIRE(stream_server::wait_until([&] { return src.delay_history().size() >= 7; }, 10s));
  src.stop();
  auto d = src.delay_history();
  CHECK(std::vector<millis>(d.begin(), d.begin() + 7) ==
        std::vector<millis>{20ms, 40ms, 80ms, 80ms, 50ms, 100ms, 200ms});
  CHECK(src.state().last_error.find("HTTP 429") != std::string::npos);
}

TEST_CASE("x source: rules synced with tracking, foreign rules untouched, re-synced live") {
  stream_server server;
  x_rules_emulator rules(server);
  rules.add("cats -is:retweet", "other-app");      // someone else's rule
  rules.add("dogs", "");                           // untagged
  rules.add("#old", "tlflow:old");                 // ours, no longer tracked
  rules.add("#graphs OR #x", "tlflow:graphs");     // ours, wrong value
  server.on("GET", stream_path, [&](http_conn& c) {
    c.begin_chunked();
    while (c.sleep(20ms) && c.chunk("\r\n")) {
    }
  });
  harness h;
  x_source_options o;
  o.api_url = server.http_url();
  x_source src(h.context(), o);
  tracking_set t;
  t.hashtags = {"graphs", "rust"};
  src.on_tracking_changed(t);
  src.start();
  REQUIRE(stream_server::wait_until([&] { return src.rules_in_sync() && src.rule_syncs() >= 1; }));
  CHECK(rules.summary() == std::vector<std::string>{"#graphs|tlflow:graphs", "#rust|tlflow:rust",
                                                     "cats -is:retweet|other-app", "dogs|"});
  int posts_before = rules.posts();

  // Tracking changes while streaming: re-synced without reconnecting. Rules are
  // synced before the stream is opened, so wait for the stream itself first.
  REQUIRE(stream_server::wait_until([&] {
    return src.state().connected && server.requests(stream_path).size() == 1;
  }));
  std::size_t stream_requests = server.requests(stream_path).size();
  t.hashtags = {"go", "rust"};
  t.keywords = {"graph database"};
  src.on_tracking_changed(t);
  REQUIRE(stream_server::wait_until([&] { return src.rules_in_sync() && src.rule_syncs() >= 2; }));
  CHECK(rules.summary() == std::vector<std::string>{"\"graph database\"|tlflow:kw:graph database",
                                                     "#go|tlflow:go", "#rust|tlflow:rust",
                                                     "cats -is:retweet|other-app", "dogs|"});
  CHECK(rules.posts() == posts_before + 2);  // one delete, one add
  CHECK(server.requests(stream_path).size() == stream_requests);

  // Same tracking again: nothing to change.
  src.on_tracking_changed(t);
  std::this_thread::sleep_for(50ms);
  CHECK(rules.posts() == posts_before + 2);
  src.stop();
}

TEST_CASE("x source: a rules endpoint failure is retried") {
  stream_server server;
  std::atomic<int> gets{0};
  x_rules_emulator rules(server);
  auto real = [&](http_conn& c) { c.respond(503, "{}"); };
  server.on("GET", "/2/tweets/search/stream/rules", [&](http_conn& c) {
    if (++gets <= 2) return real(c);
    // third time: behave (re-register the emulator's handler for later calls)
    c.respond(200, R"({"meta":{"result_count":0}})");
  });
  server.on("GET", stream_path, [&](http_conn& c) {
    c.begin_chunked();
    while (c.sleep(20ms) && c.chunk("\r\n")) {
    }
  });
  harness h;
  x_source_options o;
  o.api_url = server.http_url();
  o.rules_retry = 10ms;
  x_source src(h.context(), o);
  tracking_set t;
  t.hashtags = {"graphs"};
  src.on_tracking_changed(t);
  src.start();
  REQUIRE(stream_server::wait_until([&] { return src.rules_in_sync(); }));
  CHECK(gets.load() == 3);
  CHECK(rules.summary() == std::vector<std::string>{"#graphs|tlflow:graphs"});
  src.stop();
}

TEST_CASE("twitter v1.1 source: track= from tracking, reconnect on change, 420 throttled") {
  stream_server server;
  const std::string path = "/1.1/statuses/filter.json";
  std::atomic<int> conn{0};
  std::vector<std::string> lines;
  for (int i = 0; i < 6; ++i)
    lines.push_back(twitter_v1_line(std::to_string(1127000000000000000LL + i), i, {i + 1}, {"graphs"}));
  server.on("POST", path, [&](http_conn& c) {
    int n = ++conn;
    if (n == 1) {
      c.respond(420, "Enhance Your Calm");
      return;
    }
    c.begin_chunked();
    if (n == 2) {
      for (int i = 0; i < 4; ++i) c.chunk(lines[i] + "\r\n");
      c.chunk(R"({"limit":{"track":12}})" "\r\n");
    } else {
      for (int i = 2; i < 6; ++i) c.chunk(lines[i] + "\r\n");  // 2, 3 again
    }
    while (c.sleep(20ms) && c.chunk("\r\n")) {
    }
  });
  harness h;
  twitter_v1_options o;
  o.url = server.http_url();
  twitter_v1_source src(h.context(), o);
  tracking_set t;
  t.hashtags = {"graphs"};
  src.on_tracking_changed(t);
  src.start();
  REQUIRE(stream_server::wait_until([&] { return h.stats().posts >= 4; }));
  t.keywords = {"graph db"};
  src.on_tracking_changed(t);
  REQUIRE(stream_server::wait_until([&] { return h.stats().posts >= 8; }));
  h.pipe->drain();
  src.stop();

  auto reqs = server.requests(path);
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[0].headers["content-type"] == "application/x-www-form-urlencoded");
  CHECK(reqs[0].body == "track=%23graphs&stall_warning=true");
  CHECK(reqs[2].body == "track=%23graphs%2Cgraph%20db&stall_warning=true");
  CHECK(reqs[1].at - reqs[0].at >= 50ms);  // 420 -> throttled base
  CHECK(src.delay_history().front() == 50ms);
  CHECK(h.store.dump() == expected_dump(extract_all(wire_format::twitter_v1, lines)));
  CHECK(h.stats().duplicates == 2);
  CHECK(h.stats().notices == 1);
}

// A rules reply of 1,000,000 nested brackets: parsed without recursion (the
// recursive DOM parser overflows the native stack on it and the process
// dies), read as "no rules", and the sync goes on.
TEST_CASE("x source: a deeply nested rules reply does not overflow the stack") {
  stream_server server;
  std::atomic<int> gets{0};
  x_rules_emulator rules(server);
  const std::size_t depth = 1000000;
  const std::string hostile = "{\"data\":[" + std::string(depth, '[') + std::string(depth, ']') + "]}";
  server.on("GET", "/2/tweets/search/stream/rules", [&](http_conn& c) {
    c.respond(200, ++gets == 1 ? hostile : std::string(R"({"meta":{"result_count":0}})"));
  });
  server.on("GET", stream_path, [&](http_conn& c) {
    c.begin_chunked();
    while (c.sleep(20ms) && c.chunk("\r\n")) {
    }
  });
  harness h;
  x_source_options o;
  o.api_url = server.http_url();
  o.rules_retry = 10ms;
  x_source src(h.context(), o);
  tracking_set t;
  t.hashtags = {"graphs"};
  src.on_tracking_changed(t);
  src.start();
  REQUIRE(stream_server::wait_until([&] { return src.rules_in_sync(); }));
  CHECK(gets.load() >= 1);
  CHECK(rules.summary() == std::vector<std::string>{"#graphs|tlflow:graphs"});
  src.stop();
}
