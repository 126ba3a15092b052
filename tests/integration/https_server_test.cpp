// HTTPS served by the service itself (--tls-cert / --tls-key), on loopback
// with certificates this test makes (support/test_tls): verification with
// the test CA, protocol floor, plain HTTP and silent clients on the TLS
// port, the limits and authentication unchanged, certificate reload on
// SIGHUP (a good file is taken, a broken one leaves the old in place), and
// — in this process, on a test router — a streamed response and a
// WebSocket over TLS.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <openssl/ssl.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <doctest/doctest.h>

#include "api/server.hpp"
#include "support/api_client.hpp"
#include "support/service_process.hpp"
#include "support/test_tls.hpp"

using namespace tlflow;
using namespace tlflow::test;
using clock_type = std::chrono::steady_clock;

namespace {

void copy_file(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

// The value of one series in a /metrics body ("name{labels}"), or -1.
double metric(const std::string& body, const std::string& series) {
  const auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + 1 + series.size() + 1));
}

// The service on HTTPS with the certificate `first` (serial 1001), served
// from copies the tests may overwrite before a SIGHUP.
struct tls_service {
  test_ca ca;
  test_ca::issued first = ca.issue("first", 0x1001, "first");
  std::string cert_file = ca.file("live.crt");
  std::string key_file = ca.file("live.key");
  tls_client_options trusting{ca.ca_file()};
  std::unique_ptr<service_process> svc;

  explicit tls_service(std::vector<std::string> args = {}, header_pairs env = {}) {
    copy_file(first.cert_file, cert_file);
    copy_file(first.key_file, key_file);
    service_process::options o;
    o.args = {"--ephemeral", "--tls-cert", cert_file, "--tls-key", key_file};
    o.args.insert(o.args.end(), args.begin(), args.end());
    o.env = std::move(env);
    svc = std::make_unique<service_process>(o);
    svc->expect_tls(ca.ca_file());
    REQUIRE_MESSAGE(svc->start(), svc->stderr_text());
  }
  std::uint16_t port() const { return svc->port(); }
  https_reply get(const std::string& target) const { return https_request(port(), trusting, "GET", target); }
  std::string metrics() const { return get("/metrics").body; }
  // Sends SIGHUP and waits until /metrics counts one more reload outcome.
  void reload(const std::string& outcome) const {
    const std::string series = "tlflow_tls_reloads_total{outcome=\"" + outcome + "\"}";
    const double before = metric(metrics(), series);
    REQUIRE(::kill(svc->pid(), SIGHUP) == 0);
    const auto t0 = clock_type::now();
    while (metric(metrics(), series) <= before && clock_type::now() - t0 < std::chrono::seconds(10)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    REQUIRE(metric(metrics(), series) == before + 1);
  }
};

} // namespace

TEST_CASE("HTTPS: GET /status verifies with the test CA; TLS 1.3 preferred, 1.2 ECDHE, 1.1 refused") {
  tls_service s;
  auto r = s.get("/status");
  INFO(r.tls_error);
  REQUIRE(r.handshake_ok);
  CHECK(r.status == 200);
  CHECK(r.version == "TLSv1.3");
  CHECK(r.alpn == "http/1.1");
  CHECK(r.peer_subject == "CN=first");
  CHECK(r.peer_serial == s.first.serial);
  CHECK(s.svc->stderr_text().find("listening on https://") != std::string::npos);

  SUBCASE("a client without the CA, or asking for another name, is refused by its own check") {
    test_ca other("another CA");
    auto untrusted = https_request(s.port(), {other.ca_file()}, "GET", "/status");
    CHECK_FALSE(untrusted.handshake_ok);
    tls_client_options wrong_name{s.ca.ca_file()};
    wrong_name.host = "tlflow.example.org";
    CHECK_FALSE(https_request(s.port(), wrong_name, "GET", "/status").handshake_ok);
    CHECK(s.get("/status").status == 200);
    // The server saw both clients abort their handshakes.
    CHECK(metric(s.metrics(), "tlflow_http_tls_handshake_failures_total{reason=\"error\"}") >= 2);
  }
  SUBCASE("TLS 1.2: an ECDHE AEAD suite") {
    tls_client_options o = s.trusting;
    o.max_version = TLS1_2_VERSION;
    auto r12 = https_request(s.port(), o, "GET", "/status");
    INFO(r12.tls_error);
    REQUIRE(r12.handshake_ok);
    CHECK(r12.status == 200);
    CHECK(r12.version == "TLSv1.2");
    CHECK(r12.cipher.rfind("ECDHE-ECDSA-", 0) == 0);
    CHECK((r12.cipher.find("GCM") != std::string::npos || r12.cipher.find("CHACHA20") != std::string::npos));
    // Without ECDHE nothing is left to agree on.
    o.cipher_list = "AES128-GCM-SHA256:AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256";
    CHECK_FALSE(https_request(s.port(), o, "GET", "/status").handshake_ok);
  }
  SUBCASE("TLS 1.1 (and 1.0) refused by the server") {
    tls_client_options o = s.trusting;
    o.min_version = TLS1_VERSION;
    o.max_version = TLS1_1_VERSION;
    o.cipher_list = "DEFAULT@SECLEVEL=0";  // so that this client offers TLS 1.1 at all
    auto old = https_request(s.port(), o, "GET", "/status");
    INFO(old.tls_error);
    CHECK_FALSE(old.handshake_ok);
    CHECK(old.status == 0);
    // The server's answer: a protocol_version alert.
    CHECK(old.tls_error.find("protocol version") != std::string::npos);
    CHECK(s.get("/status").status == 200);
  }
}

TEST_CASE("HTTPS: plain HTTP to the TLS port gets a 400, a silent client the header timeout") {
  tls_service s({"--header-timeout", "1"});
  auto plain = http_request(s.port(), "GET", "/status");
  CHECK(plain.status == 400);
  CHECK(is_error_object(plain));
  CHECK(plain.body.find("HTTPS") != std::string::npos);

  // A TCP connection that never starts its handshake is closed.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(s.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto t0 = clock_type::now();
  char byte = 0;
  const ssize_t n = ::recv(fd, &byte, 1, 0);
  const auto waited = clock_type::now() - t0;
  ::close(fd);
  CHECK(n == 0);
  CHECK(waited >= std::chrono::milliseconds(800));
  CHECK(waited < std::chrono::seconds(4));

  const std::string m = s.metrics();
  CHECK(metric(m, "tlflow_http_tls_handshake_failures_total{reason=\"plain_http\"}") == 1);
  CHECK(metric(m, "tlflow_http_tls_handshake_failures_total{reason=\"timeout\"}") == 1);
  CHECK(s.get("/status").status == 200);
}

TEST_CASE("HTTPS: limits, keep-alive and authentication work as over plain HTTP") {
  tls_service s({"--max-body", "1024"}, {{"TLFLOW_API_TOKEN", "tls-test-token"}});
  const std::string edge = R"({"from":"a","to":"b"})";
  auto anonymous = https_request(s.port(), s.trusting, "POST", "/edges", edge);
  expect_error(anonymous, 401, "unauthorized");
  auto authorized = https_request(s.port(), s.trusting, "POST", "/edges", edge,
                                  {{"Authorization", "Bearer tls-test-token"}});
  CHECK(authorized.status == 201);

  // Over the limit: 413 and close, the response readable although the
  // body was never read.
  auto big = https_request(s.port(), s.trusting, "POST", "/edges", std::string(200000, ' '),
                           {{"Authorization", "Bearer tls-test-token"}});
  expect_error(big, 413, "payload_too_large");

  // Two requests on one connection, both answered.
  tls_client_options o = s.trusting;
  o.read_to_eof = true;
  auto both = https_exchange(s.port(),
                             "GET /vertices/count HTTP/1.1\r\nHost: localhost\r\n\r\n"
                             "GET /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                             o);
  CHECK(both.status == 200);
  std::size_t answers = 0;
  for (auto at = both.raw.find("HTTP/1.1 200"); at != std::string::npos; at = both.raw.find("HTTP/1.1 200", at + 1)) {
    ++answers;
  }
  CHECK(answers == 2);
}

TEST_CASE("HTTPS: SIGHUP re-reads the certificate; a broken file keeps the one served") {
  tls_service s;
  REQUIRE(s.get("/status").peer_serial == s.first.serial);

  auto second = s.ca.issue("second", 0x2002, "second");
  copy_file(second.cert_file, s.cert_file);
  copy_file(second.key_file, s.key_file);
  s.reload("ok");
  auto after = s.get("/status");
  CHECK(after.status == 200);
  CHECK(after.peer_serial == second.serial);
  CHECK(after.peer_subject == "CN=second");

  SUBCASE("a truncated certificate") {
    std::ofstream(s.cert_file, std::ios::trunc) << "-----BEGIN CERTIFICATE-----\nMIIB\n";
  }
  SUBCASE("a key of another certificate") {
    copy_file(s.first.key_file, s.key_file);
  }
  SUBCASE("a missing key file") {
    std::filesystem::remove(s.key_file);
  }
  s.reload("failed");
  auto kept = s.get("/status");
  CHECK(kept.status == 200);
  CHECK(kept.peer_serial == second.serial);
  CHECK(s.svc->stderr_text().find("TLS reload failed, the current certificate stays") != std::string::npos);
  CHECK(s.svc->running());
  CHECK(s.svc->terminate() == 0);
}

TEST_CASE("HTTPS: a bad certificate or key stops the start with a message naming the file") {
  test_ca ca;
  auto good = ca.issue("good", 7, "good");
  auto other = ca.issue("other", 8, "other");
  const std::string garbage = ca.file("garbage.pem");
  std::ofstream(garbage) << "not a certificate\n";
  struct attempt {
    std::vector<std::string> args;
    std::string says;
  };
  for (const attempt& a : {
           attempt{{"--tls-cert", good.cert_file, "--tls-key", other.key_file}, "does not belong"},
           attempt{{"--tls-cert", garbage, "--tls-key", good.key_file}, garbage},
           attempt{{"--tls-cert", ca.file("absent.crt"), "--tls-key", good.key_file}, "absent.crt"},
           attempt{{"--tls-cert", good.cert_file}, "--tls-cert needs --tls-key"},
       }) {
    std::vector<std::string> args = {"--ephemeral", "--host", "127.0.0.1", "--port", std::to_string(free_port())};
    args.insert(args.end(), a.args.begin(), a.args.end());
    auto [code, out] = run_tlflow(args);
    INFO(out);
    CHECK(code == 2);
    CHECK(out.find(a.says) != std::string::npos);
  }
}

// ---- in this process: streamed responses and WebSocket over TLS ----------

namespace {

class three_events : public api::body_producer {
public:
  void next(deliver_fn deliver) override {
    const int n = sent_++;
    if (n < 3) {
      deliver("data: event " + std::to_string(n) + "\n\n");
    } else {
      deliver(std::nullopt);
    }
  }

private:
  std::atomic<int> sent_{0};
};

class echo : public api::websocket_handler {
public:
  void on_open(std::shared_ptr<api::websocket_connection> c) override {
    conn_ = std::move(c);
    conn_->send("welcome");
  }
  void on_message(std::string text) override { conn_->send("echo: " + text); }
  void on_close() override { conn_.reset(); }

private:
  std::shared_ptr<api::websocket_connection> conn_;
};

struct tls_fixture {
  test_ca ca;
  test_ca::issued cert = ca.issue("server", 0x42, "in-process");
  api::router routes;
  metrics_registry metrics;
  std::unique_ptr<api::http_server> server;

  tls_fixture() {
    routes.add_route("GET", "/events", [](const api::request&) {
      api::response r;
      r.content_type = "text/event-stream";
      r.stream = std::make_shared<three_events>();
      return r;
    });
    routes.add_route("GET", "/ws", [](const api::request&) {
      api::response r;
      r.websocket = std::make_shared<echo>();
      return r;
    });
    api::server_options o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.threads = 1;
    o.worker_threads = 1;
    o.tls_cert_file = cert.cert_file;
    o.tls_key_file = cert.key_file;
    server = std::make_unique<api::http_server>(routes, metrics, o);
    REQUIRE(server->start().ok());
  }
};

} // namespace

TEST_CASE("HTTPS in process: a streamed response (Server-Sent Events) over TLS") {
  tls_fixture f;
  tls_client_options o{f.ca.ca_file()};
  o.read_to_eof = true;
  auto r = https_exchange(f.server->port(), "GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n", o);
  INFO(r.tls_error);
  INFO(r.raw);
  CHECK(r.status == 200);
  CHECK(r.raw.find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(r.body == "data: event 0\n\ndata: event 1\n\ndata: event 2\n\n");
  CHECK(r.raw.find("\r\n0\r\n\r\n") != std::string::npos);  // the last chunk, then the close
}

TEST_CASE("HTTPS in process: a WebSocket over TLS (wss), and stop() while it is open") {
  tls_fixture f;
  namespace net = boost::asio;
  namespace beast = boost::beast;
  net::io_context ioc;
  net::ssl::context ctx(net::ssl::context::tls_client);
  ctx.load_verify_file(f.ca.ca_file());
  ctx.set_verify_mode(net::ssl::verify_peer);
  beast::websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(ioc, ctx);
  SSL_set_tlsext_host_name(ws.next_layer().native_handle(), "localhost");
  SSL_set1_host(ws.next_layer().native_handle(), "localhost");
  beast::get_lowest_layer(ws).connect({net::ip::make_address("127.0.0.1"), f.server->port()});
  ws.next_layer().handshake(net::ssl::stream_base::client);
  ws.handshake("localhost", "/ws");
  beast::flat_buffer buf;
  ws.read(buf);
  CHECK(beast::buffers_to_string(buf.data()) == "welcome");
  buf.consume(buf.size());
  ws.write(net::buffer(std::string("over tls")));
  ws.read(buf);
  CHECK(beast::buffers_to_string(buf.data()) == "echo: over tls");
  // The server closes the WebSocket when it stops (the client answers the
  // close frame while stop() waits).
  const auto t0 = clock_type::now();
  std::thread stopper([&] { f.server->stop(); });
  beast::error_code ec;
  buf.consume(buf.size());
  ws.read(buf, ec);
  stopper.join();
  CHECK(ec == beast::websocket::error::closed);
  CHECK(clock_type::now() - t0 < std::chrono::seconds(3));
}
