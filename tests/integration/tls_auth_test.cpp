// TLS and authentication on loopback: the X stream over https, Jetstream and
// the Gremlin client over wss — each through a real TLS server with its own
// certificate (support/tls_proxy), trusted through --ca-file, with SNI sent
// and the host name verified (an untrusted certificate or a name it does
// not hold is refused and retried, never accepted) — and the Twitter v1.1
// stream signed with OAuth 1.0a, the signature checked by the server.
#include <doctest/doctest.h>

#include <atomic>
#include <ctime>
#include <map>
#include <mutex>

#include "sources/http_client.hpp"
#include "sources/jetstream_source.hpp"
#include "sources/oauth1.hpp"
#include "sources/x_source.hpp"
#include "store/gremlin/gremlin_store.hpp"
#include "tlflow/config.hpp"
#include "tlflow/gremlin/client.hpp"
#include "support/gremlin_test_server.hpp"
#include "support/source_harness.hpp"
#include "support/stream_fixtures.hpp"
#include "support/stream_server.hpp"
#include "support/tls_proxy.hpp"

using namespace tlflow;
using namespace tlflow::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> x_lines(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back(x_v2_line(std::to_string(1790000000000000100LL + i), i % 5, {(i + 1) % 5},
                            {"graphs"}));
  return out;
}

// Serves `lines` once per connection, then keep-alives.
void serve_x(stream_server& server, const std::vector<std::string>& lines) {
  server.on("GET", "/2/tweets/search/stream", [lines](http_conn& c) {
    c.begin_chunked();
    for (const auto& l : lines) c.chunk(l + "\r\n");
    while (c.sleep(20ms) && c.chunk("\r\n")) {
    }
  });
}

} // namespace

TEST_CASE("x source over https: trusted CA and SNI; untrusted certificate refused and retried") {
  stream_server server;
  x_rules_emulator rules(server);
  auto lines = x_lines(6);
  serve_x(server, lines);
  tls_proxy proxy(server.port());

  SUBCASE("trusted through --ca-file") {
    harness h;
    auto ctx = h.context();
    ctx.ca_file = proxy.ca_file();
    x_source_options o;
    o.api_url = proxy.url("https");
    x_source src(ctx, o);
    tracking_set t;
    t.hashtags = {"graphs"};
    src.on_tracking_changed(t);
    src.start();
    REQUIRE(stream_server::wait_until([&] { return h.stats().posts >= 6; }));
    h.pipe->drain();
    CHECK(src.state().connected);
    src.stop();
    CHECK(h.store.dump() == expected_dump(extract_all(wire_format::x_v2, lines)));
    auto names = proxy.server_names();
    REQUIRE_FALSE(names.empty());
    CHECK(names.front() == "localhost");
    CHECK(proxy.handshakes_failed() == 0);
  }
  SUBCASE("the system's CAs only: refused, retried, nothing ingested") {
    harness h;
    x_source_options o;
    o.api_url = proxy.url("https");
    x_source src(h.context(), o);
    src.start();
    REQUIRE(stream_server::wait_until([&] { return proxy.handshakes_failed() >= 2; }));
    src.stop();
    CHECK(proxy.handshakes_ok() == 0);
    CHECK(src.state().errors >= 2);
    CHECK_FALSE(src.state().last_error.empty());
    CHECK(h.stats().posts == 0);
  }
}

TEST_CASE("jetstream source over wss: verified by name; a name the certificate lacks is refused") {
  stream_server server;
  std::vector<std::string> events;
  for (int i = 0; i < 4; ++i)
    events.push_back(jetstream_post(1715594400000000 + i * 1000000LL, "author" + std::to_string(i),
                                    "3ktls" + std::to_string(i), {"friend" + std::to_string(i)},
                                    {"graphs"}));
  server.on("WS", "/subscribe", [&](http_conn& c) {
    for (const auto& e : events)
      if (!c.ws_send(e)) return;
    while (c.sleep(20ms)) {
    }
  });
  tls_proxy proxy(server.port());
  tracking_set t;
  t.hashtags = {"graphs"};

  SUBCASE("wss://localhost with the CA") {
    harness h;
    h.pipe->set_tracking(t);
    auto ctx = h.context();
    ctx.ca_file = proxy.ca_file();
    jetstream_options o;
    o.url = proxy.url("wss") + "/subscribe";
    jetstream_source src(ctx, o);
    src.start();
    REQUIRE(stream_server::wait_until([&] { return h.stats().posts >= 4; }));
    h.pipe->drain();
    src.stop();
    CHECK(h.store.dump() == expected_dump(extract_all(wire_format::jetstream, events)));
    CHECK(proxy.server_names() == std::vector<std::string>{"localhost"});
    CHECK(server.requests("/subscribe").front().param("wantedCollections") != "");
  }
  SUBCASE("wss://127.0.0.1: the certificate names only localhost") {
    harness h;
    h.pipe->set_tracking(t);
    auto ctx = h.context();
    ctx.ca_file = proxy.ca_file();
    jetstream_options o;
    o.url = "wss://127.0.0.1:" + std::to_string(proxy.port()) + "/subscribe";
    jetstream_source src(ctx, o);
    src.start();
    REQUIRE(stream_server::wait_until([&] { return src.state().errors >= 2; }));
    src.stop();
    CHECK(proxy.handshakes_ok() == 0);
    CHECK(h.stats().posts == 0);
    CHECK(server.requests("/subscribe").empty());
  }
}

TEST_CASE("gremlin client over wss: trusted CA, SNI, host name verified") {
  gremlin_test_server srv;
  tls_proxy proxy(srv.port());
  gremlin::client_options o;
  o.url = proxy.url("wss") + "/gremlin";
  o.ca_file = proxy.ca_file();
  o.backoff_initial = 5ms;
  auto c = gremlin::client::create(o);
  REQUIRE(c.ok());
  auto r = (*c)->submit("g.inject(x)",
                        gremlin::graphson::value::object({{"x", gremlin::graphson::value::string("über 😀")}}));
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  CHECK((*r)[0].as_string() == "über 😀");
  CHECK(proxy.server_names().front() == "localhost");

  gremlin::client_options wrong = o;
  wrong.url = "wss://127.0.0.1:" + std::to_string(proxy.port()) + "/gremlin";
  wrong.request_timeout = 2s;
  auto bad = gremlin::client::create(wrong);
  REQUIRE(bad.ok());
  auto r2 = (*bad)->submit("g.inject(1)", gremlin::graphson::value::object({}));
  CHECK_FALSE(r2.ok());
  CHECK(proxy.handshakes_failed() >= 1);
}

TEST_CASE("gremlin credentials: never over plain ws:// unless allowed; over wss:// they are") {
  test::gremlin_test_server_options so;
  so.user = "svc";
  so.password = "s3cr3t";
  test::gremlin_test_server srv(so);
  gremlin::client_options o;
  o.url = srv.url(); // ws://
  o.user = "svc";
  o.password = "s3cr3t";
  o.backoff_initial = 5ms;
  const auto x = gremlin::graphson::value::object({{"x", gremlin::graphson::value::int32(7)}});

  auto refused = gremlin::client::create(o);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.err().code == errc::invalid_argument);
  CHECK(refused.err().message.find("--gremlin-allow-plaintext-auth") != std::string::npos);
  CHECK(refused.err().message.find("s3cr3t") == std::string::npos);
  CHECK(srv.connections_accepted() == 0);

  o.allow_plaintext_auth = true;
  auto allowed = gremlin::client::create(o);
  REQUIRE(allowed.ok());
  auto r = (*allowed)->submit("g.inject(x)", x);
  REQUIRE(r.ok());
  CHECK((*r)[0].as_int() == 7);
  CHECK(srv.auth_challenges() == 1);

  // Over wss:// no flag is needed.
  tls_proxy proxy(srv.port());
  gremlin::client_options t = o;
  t.allow_plaintext_auth = false;
  t.url = proxy.url("wss") + "/gremlin";
  t.ca_file = proxy.ca_file();
  auto secure = gremlin::client::create(t);
  REQUIRE(secure.ok());
  auto r2 = (*secure)->submit("g.inject(x)", x);
  REQUIRE(r2.ok());
  CHECK((*r2)[0].as_int() == 7);
  CHECK(srv.auth_challenges() == 2);

  // The service: the flag and its environment variable.
  config c;
  c.store = "gremlin";
  c.gremlin_url = srv.url();
  c.gremlin_user = "svc";
  c.gremlin_password = "s3cr3t";
  c.ephemeral = true;
  auto so1 = gremlin::options_from_config(c);
  CHECK_FALSE(so1.client.allow_plaintext_auth);
  CHECK_FALSE(gremlin::client::create(so1.client).ok());
  c.gremlin_allow_plaintext_auth = true;
  CHECK(gremlin::options_from_config(c).client.allow_plaintext_auth);
}

TEST_CASE("oauth 1.0a: the signature of Twitter's documented example") {
  // developer.twitter.com, "Creating a signature": same inputs, same result.
  oauth1_credentials c{"xvz1evFS4wEEPTGEFPHBog", "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
                       "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
                       "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"};
  std::string h = oauth1_header(
      c, "POST", "https://api.twitter.com/1.1/statuses/update.json?include_entities=true",
      {{"include_entities", "true"}, {"status", "Hello Ladies + Gentlemen, a signed OAuth request!"}},
      "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", 1318622958);
  CHECK(h.rfind("OAuth ", 0) == 0);
  CHECK(h.find("oauth_signature=\"hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D\"") != std::string::npos);
  CHECK(h.find("oauth_consumer_key=\"xvz1evFS4wEEPTGEFPHBog\"") != std::string::npos);
  CHECK(h.find("oauth_token=\"370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb\"") !=
        std::string::npos);
  CHECK(h.find("kAcSOqF") == std::string::npos);  // secrets never sent
}

TEST_CASE("twitter v1.1 source: OAuth 1.0a signed request, checked by the server") {
  stream_server server;
  const std::string path = "/1.1/statuses/filter.json";
  const oauth1_credentials cred{"ck", "cs&secret", "at-123", "ats+x"};
  std::mutex nonces_mutex;
  std::vector<std::string> nonces;
  std::atomic<int> accepted{0};
  std::string line = twitter_v1_line("1127000000000000901", 1, {2}, {"graphs"});
  server.on("POST", path, [&](http_conn& c) {
    // Parse the header, then sign the request as received and compare.
    std::map<std::string, std::string> p;
    std::string auth = c.req().headers.count("authorization") ? c.req().headers.at("authorization") : "";
    for (std::size_t i = auth.find("oauth_"); i != std::string::npos; i = auth.find("oauth_", i)) {
      auto eq = auth.find("=\"", i), end = auth.find('"', eq + 2);
      p[auth.substr(i, eq - i)] = auth.substr(eq + 2, end - eq - 2);
      i = end;
    }
    {
      std::lock_guard<std::mutex> lock(nonces_mutex);
      nonces.push_back(p["oauth_nonce"]);
    }
    const std::string expected = oauth1_header(
        cred, "POST", server.http_url() + path, {{"track", "#graphs"}, {"stall_warning", "true"}},
        p["oauth_nonce"], std::stoull(p["oauth_timestamp"].empty() ? "0" : p["oauth_timestamp"]));
    const auto now = static_cast<long long>(std::time(nullptr));
    if (auth != expected || std::llabs(now - std::stoll(p["oauth_timestamp"])) > 60) {
      c.respond(401, R"({"errors":[{"code":32,"message":"Could not authenticate you."}]})");
      return;
    }
    ++accepted;
    c.begin_chunked();
    c.chunk(line + "\r\n");
    if (accepted == 1) {
      c.sleep(60ms);
      c.drop();  // reconnect: a second signature, with a fresh nonce
      return;
    }
    while (c.sleep(20ms) && c.chunk("\r\n")) {
    }
  });
  harness h;
  twitter_v1_options o;
  o.url = server.http_url();
  o.bearer_token = "unused-when-oauth";
  o.oauth = cred;
  twitter_v1_source src(h.context(), o);
  tracking_set t;
  t.hashtags = {"graphs"};
  src.on_tracking_changed(t);
  src.start();
  // Both connections served their line (the second repeats the first).
  REQUIRE(stream_server::wait_until([&] { return accepted >= 2 && h.stats().posts >= 2; }));
  h.pipe->drain();
  src.stop();
  auto reqs = server.requests(path);
  REQUIRE(reqs.size() >= 2);
  CHECK(reqs[0].headers["authorization"].find("Bearer") == std::string::npos);
  CHECK(nonces[0] != nonces[1]);
  CHECK(h.stats().posts == 2);
  CHECK(h.stats().duplicates == 1);
  CHECK(h.store.total_weight() == 1);
}
