// Framing (NDJSON lines, Server-Sent Events) and the backoff sequences of
// the sources, without sockets.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sources/backoff.hpp"
#include "sources/framing.hpp"
#include "sources/jetstream_source.hpp"
#include "sources/mastodon_source.hpp"
#include "sources/x_source.hpp"

using namespace tlflow;
using namespace std::chrono_literals;

TEST_CASE("line_splitter: objects spanning chunks, several per chunk, keep-alives, CRLF") {
  line_splitter s;
  std::vector<std::string> lines;
  int oversize = 0;
  auto feed = [&](std::string_view b) {
    s.feed(b, [&](std::string_view l) { lines.emplace_back(l); }, [&] { ++oversize; });
  };
  feed("{\"a\":");
  feed("1}\r\n\r\n{\"b\":2}\n{\"c\"");
  feed(":3}\r\n\r\n");
  feed("  \r\n");
  feed("{\"d\":4}");
  CHECK(lines == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"});
  CHECK(s.pending() == 7);
  CHECK(oversize == 0);
}

TEST_CASE("line_splitter: an over-long line is discarded and reported, the next one survives") {
  line_splitter s(8);
  std::vector<std::string> lines;
  int oversize = 0;
  s.feed("0123456789abc\nok\n", [&](std::string_view l) { lines.emplace_back(l); }, [&] { ++oversize; });
  s.feed("01234", [&](std::string_view l) { lines.emplace_back(l); }, [&] { ++oversize; });
  s.feed("56789\nfine\n", [&](std::string_view l) { lines.emplace_back(l); }, [&] { ++oversize; });
  CHECK(lines == std::vector<std::string>{"ok", "fine"});
  CHECK(oversize == 2);
}

TEST_CASE("sse_parser: Mastodon events, heartbeats, multi-line data, split anywhere") {
  const std::string stream =
      ":)\n"
      "event: update\n"
      "data: {\"id\":\"1\"}\n"
      "\n"
      ":thump\n"
      "event: delete\n"
      "data: 112345678901234500\n"
      "\n"
      "event: update\r\n"
      "data: {\"id\":\r\n"
      "data: \"2\"}\r\n"
      "\r\n"
      "data:no-space\n\n";
  for (std::size_t step : {1u, 3u, 7u, 1000u}) {
    sse_parser p;
    std::vector<std::string> events;
    int comments = 0;
    for (std::size_t i = 0; i < stream.size(); i += step)
      p.feed(std::string_view(stream).substr(i, step),
             [&](std::string_view e, std::string_view d) { events.push_back(std::string(e) + "|" + std::string(d)); },
             [&](std::string_view) { ++comments; });
    CHECK(events == std::vector<std::string>{"update|{\"id\":\"1\"}", "delete|112345678901234500",
                                             "update|{\"id\":\n\"2\"}", "message|no-space"});
    CHECK(comments == 2);
  }
}

TEST_CASE("backoff: X's documented sequences") {
  backoff b;
  // TCP/IP: linear +250 ms, cap 16 s
  std::vector<long> net;
  for (int i = 0; i < 66; ++i) net.push_back(b.next(failure_kind::network).count());
  CHECK(net[0] == 250);
  CHECK(net[1] == 500);
  CHECK(net[2] == 750);
  CHECK(net[63] == 16000);
  CHECK(net[65] == 16000);
  b.reset();
  // HTTP: exponential from 5 s, cap 320 s
  std::vector<long> http;
  for (int i = 0; i < 9; ++i) http.push_back(b.next(failure_kind::http).count());
  CHECK(http == std::vector<long>{5000, 10000, 20000, 40000, 80000, 160000, 320000, 320000, 320000});
  // 429: exponential from 1 minute
  std::vector<long> thr;
  for (int i = 0; i < 6; ++i) thr.push_back(b.next(failure_kind::throttled).count());
  CHECK(thr == std::vector<long>{60000, 120000, 240000, 480000, 960000, 960000});
  // an established connection that drops: at once, and everything starts over
  CHECK(b.next(failure_kind::dropped).count() == 0);
  CHECK(b.next(failure_kind::http).count() == 5000);
  CHECK(b.next(failure_kind::network).count() == 250);
}

TEST_CASE("backoff: scaled down for tests keeps the shape") {
  backoff b(backoff_policy{}.scaled_down(50));
  CHECK(b.next(failure_kind::network) == 5ms);
  CHECK(b.next(failure_kind::network) == 10ms);
  CHECK(b.next(failure_kind::http) == 100ms);
  CHECK(b.next(failure_kind::http) == 200ms);
  CHECK(b.next(failure_kind::throttled) == 1200ms);
}

TEST_CASE("sources: request shapes") {
  tracking_set t;
  t.hashtags = {"graphs", "ñandú"};
  t.keywords = {"graph database"};
  CHECK(twitter_v1_source::track_param(t) == "#graphs,#ñandú,graph database");
  CHECK(x_source::stream_query().find("user.fields=id,location,name,username") != std::string::npos);
  CHECK(mastodon_source::host_of("https://Example.social:443/x") == "Example.social");
  CHECK(mastodon_source::host_of("http://127.0.0.1:8080") == "127.0.0.1");
  CHECK(jetstream_source::time_us_of(R"({"did":"did:plc:a","time_us":1715594400123456,"kind":"commit"})") ==
        1715594400123456);
  CHECK(jetstream_source::time_us_of(R"({"kind":"commit"})") == 0);
  source_context ctx;
  jetstream_source js(ctx, jetstream_options{"ws://127.0.0.1:9/subscribe?compress=false", {}, {}});
  CHECK(js.target_for(0) ==
        "/subscribe?compress=false&wantedCollections=app.bsky.feed.post&wantedCollections=app.bsky.feed.repost");
  CHECK(js.target_for(42) ==
        "/subscribe?compress=false&wantedCollections=app.bsky.feed.post&wantedCollections=app.bsky.feed.repost&cursor=42");
}

// Each network source treats a connection as dead after its platform's own
// silence figure unless the context sets one (tests do).
TEST_CASE("stall timeouts: the platform's figure per source, overridable") {
  source_context ctx;  // stall_timeout 0: each source's default
  jetstream_options jo;
  jo.url = "ws://127.0.0.1:9";
  mastodon_options mo;
  mo.url = "http://127.0.0.1:9";
  CHECK(x_source(ctx, {}).stall_timeout() == 20s);
  CHECK(twitter_v1_source(ctx, {}).stall_timeout() == 90s);
  CHECK(mastodon_source(ctx, mo).stall_timeout() == 30s);
  CHECK(jetstream_source(ctx, jo).stall_timeout() == 60s);
  ctx.stall_timeout = 300ms;
  CHECK(x_source(ctx, {}).stall_timeout() == 300ms);
  CHECK(twitter_v1_source(ctx, {}).stall_timeout() == 300ms);
  CHECK(mastodon_source(ctx, mo).stall_timeout() == 300ms);
  CHECK(jetstream_source(ctx, jo).stall_timeout() == 300ms);
}
