// Bluesky Jetstream over a WebSocket on loopback: wantedCollections, the
// local hashtag filter, reconnect after a drop with the cursor rewound, the
// cursor persisted and resumed a few seconds back after a restart, and
// exact store contents (replayed events counted once).
#include <doctest/doctest.h>

#include <atomic>
#include <fstream>

#include "sources/jetstream_source.hpp"
#include "support/source_harness.hpp"
#include "support/stream_fixtures.hpp"
#include "support/stream_server.hpp"
#include "support/temp_dir.hpp"

using namespace tlflow;
using namespace tlflow::test;
using namespace std::chrono_literals;

namespace {
const std::string path = "/subscribe";
constexpr std::int64_t t0 = 1715594400000000;  // µs

// Event i at t0 + i seconds; even events carry #graphs, odd ones #cats.
std::string event(int i) {
  return jetstream_post(t0 + std::int64_t(i) * 1000000, "author" + std::to_string(i % 5),
                        "3kseq" + std::to_string(1000 + i), {"friend" + std::to_string(i % 3)},
                        {i % 2 == 0 ? "graphs" : "cats"});
}

// Serves events from the requested cursor on (like Jetstream's replay).
int first_event_for(const http_req& r) {
  std::string c = r.param("cursor");
  if (c.empty()) return 0;
  std::int64_t cur = std::stoll(c);
  if (cur <= t0) return 0;
  return static_cast<int>((cur - t0 + 999999) / 1000000);
}
} // namespace

TEST_CASE("jetstream source: filter, drop + cursor resume, restart resumes from the saved cursor") {
  temp_dir dir;
  stream_server server;
  std::atomic<int> conn{0};
  std::atomic<int> upto{10};  // serve events [first, upto)
  server.on("WS", path, [&](http_conn& c) {
    int n = ++conn;
    int first = first_event_for(c.req());
    int last = upto.load();
    for (int i = first; i < last; ++i) {
      if (!c.ws_send(event(i))) return;
      if (n == 1 && i == 6) {  // drop the first connection mid-stream
        c.sleep(60ms);
        c.drop();
        return;
      }
    }
    c.ws_send(R"({"did":"did:plc:x","time_us":1,"kind":"identity","identity":{"did":"did:plc:x"}})");
    while (c.sleep(20ms)) {
    }
  });

  tracking_set t;
  t.hashtags = {"graphs"};
  std::vector<std::string> kept;
  for (int i = 0; i < 20; i += 2) kept.push_back(event(i));

  {
    harness h(dir.file("seen_posts.bin"));
    h.pipe->set_tracking(t);
    jetstream_options o;
    o.url = server.ws_url() + path;
    o.rewind = 3000ms;
    o.cursor_save_interval = 10ms;
    jetstream_source src(h.context(dir.path()), o);
    src.start();
    REQUIRE(stream_server::wait_until([&] { return conn.load() >= 2 && src.cursor() == t0 + 9000000; }));
    src.stop();
    h.pipe->stop();

    auto reqs = server.requests(path);
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[0].params("wantedCollections") ==
          std::vector<std::string>{"app.bsky.feed.post", "app.bsky.feed.repost"});
    CHECK(reqs[0].param("cursor").empty());
    // After the drop at event 6: resumed 3 s earlier.
    CHECK(reqs[1].param("cursor") == std::to_string(t0 + 6000000 - 3000000));
    CHECK(src.delay_history().front() == 0ms);

    std::vector<std::string> first_ten(kept.begin(), kept.begin() + 5);
    CHECK(h.store.dump() == expected_dump(extract_all(wire_format::jetstream, first_ten)));
    CHECK(h.stats().filtered > 0);
    CHECK(h.stats().duplicates == 2);  // events 4 and 6 (graphs) replayed by the rewind
  }
  std::ifstream in(dir.file("jetstream.cursor"));
  std::int64_t saved = 0;
  in >> saved;
  CHECK(saved == t0 + 9000000);

  // Restart: a new process resumes from the saved cursor minus the rewind.
  upto = 20;
  {
    harness h(dir.file("seen_posts.bin"));
    h.pipe->set_tracking(t);
    jetstream_options o;
    o.url = server.ws_url() + path;
    o.rewind = 3000ms;
    jetstream_source src(h.context(dir.path()), o);
    src.start();
    REQUIRE(stream_server::wait_until([&] { return src.cursor() == t0 + 19000000; }));
    src.stop();
    h.pipe->stop();
    auto reqs = server.requests(path);
    REQUIRE(reqs.size() == 3);
    CHECK(reqs[2].param("cursor") == std::to_string(t0 + 9000000 - 3000000));
    // Events 6 and 8 come again and are known from the persisted seen-set.
    CHECK(h.stats().duplicates == 2);
    std::vector<std::string> rest(kept.begin() + 5, kept.end());
    CHECK(h.store.dump() == expected_dump(extract_all(wire_format::jetstream, rest)));
  }
}

TEST_CASE("jetstream source: refused upgrade backs off; unreachable host backs off linearly; stop is prompt") {
  stream_server server;
  // No WS handler: the upgrade is answered 404.
  harness h;
  jetstream_options o;
  o.url = server.ws_url() + "/nope";
  jetstream_source src(h.context(), o);
  src.start();
  REQUIRE(stream_server::wait_until([&] { return src.delay_history().size() >= 3; }));
  auto t_stop = std::chrono::steady_clock::now();
  src.stop();
  CHECK(std::chrono::steady_clock::now() - t_stop < 1s);
  auto d = src.delay_history();
  CHECK(std::vector<millis>(d.begin(), d.begin() + 3) == std::vector<millis>{20ms, 40ms, 80ms});
  CHECK(src.state().last_error.find("404") != std::string::npos);

  std::uint16_t port;
  {
    stream_server s2;
    port = s2.port();
  }
  o.url = "ws://127.0.0.1:" + std::to_string(port) + "/subscribe";
  jetstream_source dead(h.context(), o);
  dead.start();
  REQUIRE(stream_server::wait_until([&] { return dead.delay_history().size() >= 3; }));
  dead.stop();
  auto d2 = dead.delay_history();
  CHECK(std::vector<millis>(d2.begin(), d2.begin() + 3) == std::vector<millis>{10ms, 20ms, 30ms});
}

TEST_CASE("jetstream source: a silent server is a stall") {
  stream_server server;
  std::atomic<int> conn{0};
  server.on("WS", path, [&](http_conn& c) {
    ++conn;
    c.ws_send(event(0));
    while (c.sleep(20ms)) {
    }
  });
  harness h;
  jetstream_options o;
  o.url = server.ws_url() + path;
  jetstream_source src(h.context(), o);
  src.start();
  REQUIRE(stream_server::wait_until([&] { return conn.load() >= 2; }));
  src.stop();
  auto reqs = server.requests(path);
  CHECK(reqs[1].at - reqs[0].at >= 300ms);
  CHECK(src.state().last_error.find("no event") != std::string::npos);
}
