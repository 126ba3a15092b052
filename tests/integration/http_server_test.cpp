// The HTTP server core in this process, with a test-only router on
// loopback: heavy routes off the I/O threads, graceful stop, streamed
// (chunked, Server-Sent Events) responses with backpressure and client-left
// detection, and WebSocket upgrade.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <doctest/doctest.h>

#include "api/json.hpp"
#include "api/server.hpp"
#include "support/api_client.hpp"
#include "support/service_process.hpp"

using namespace tlflow;
using namespace tlflow::test;
using clock_type = std::chrono::steady_clock;

namespace {

long ms_since(clock_type::time_point t0) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count());
}

api::response text(std::string body) {
  api::response r;
  r.body = std::move(body);
  r.content_type = "text/plain";
  return r;
}

// Delivers `count` events, each from a thread of its own after 20 ms, and
// checks that next() is never called while a piece is still being written.
class counting_producer : public api::body_producer {
public:
  explicit counting_producer(int count) : count_(count) {}
  void next(deliver_fn deliver) override {
    if (outstanding_.exchange(true)) overlapped_ = true;
    const int n = calls_++;
    std::thread([this, n, d = std::move(deliver)] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      outstanding_ = false;
      if (n < count_) {
        d("data: event " + std::to_string(n) + "\n\n");
      } else {
        d(std::nullopt);
      }
    }).detach();
  }
  std::atomic<int> calls_{0};
  std::atomic<bool> overlapped_{false};

private:
  int count_;
  std::atomic<bool> outstanding_{false};
};

// One event, then silence until cancelled.
class silent_producer : public api::body_producer {
public:
  void next(deliver_fn deliver) override {
    if (first_.exchange(false)) deliver(std::string("data: hello\n\n"));
    // else: keep quiet (the deliver function is dropped: holds no connection)
  }
  void cancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  bool wait_cancelled(int ms) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return cancelled_; });
  }

private:
  std::atomic<bool> first_{true};
  std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
};

class echo_handler : public api::websocket_handler {
public:
  void on_open(std::shared_ptr<api::websocket_connection> c) override {
    conn_ = std::move(c);
    conn_->send("welcome");
  }
  void on_message(std::string text) override { conn_->send("echo: " + text); }
  void on_close() override {
    closed_ = true;
    conn_.reset();
  }
  std::atomic<bool> closed_{false};

private:
  std::shared_ptr<api::websocket_connection> conn_;
};

struct fixture {
  api::router routes;
  metrics_registry metrics;
  std::shared_ptr<counting_producer> counting = std::make_shared<counting_producer>(3);
  std::shared_ptr<silent_producer> silent = std::make_shared<silent_producer>();
  std::shared_ptr<echo_handler> echo = std::make_shared<echo_handler>();
  std::unique_ptr<api::http_server> server;

  fixture() {
    api::route_options heavy;
    heavy.heavy = true;
    routes.add_route("GET", "/fast", [](const api::request&) { return text("fast"); });
    routes.add_route("GET", "/slow", [](const api::request&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      return text("slow");
    }, heavy);
    routes.add_route("GET", "/events", [this](const api::request&) {
      api::response r;
      r.content_type = "text/event-stream";
      r.stream = counting;
      return r;
    });
    routes.add_route("GET", "/quiet", [this](const api::request&) {
      api::response r;
      r.content_type = "text/event-stream";
      r.stream = silent;
      return r;
    });
    // Heavy with a quick attempt: answered inline for ?inline=yes, thrown
    // for ?inline=throw, else declined to the worker pool.
    api::route_options quick = heavy;
    quick.quick = [](const api::request& q) -> std::optional<api::response> {
      const auto how = q.query_value("inline");
      if (how && *how == "throw") throw api::api_error(errc::invalid_argument, "quick refused it");
      if (how && *how == "yes") return text("quick");
      return std::nullopt;
    };
    routes.add_route("GET", "/maybe", [](const api::request&) { return text("pool"); }, quick);
    routes.add_route("GET", "/ws", [this](const api::request&) {
      api::response r;
      r.websocket = echo;
      return r;
    });
    api::server_options o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.threads = 1;  // one I/O thread: anything blocking it would show
    o.worker_threads = 2;
    server = std::make_unique<api::http_server>(routes, metrics, o);
    REQUIRE(server->start().ok());
  }
  std::uint16_t port() const { return server->port(); }
};

std::string read_all(std::uint16_t port, const std::string& raw, int timeout_ms) {
  namespace net = boost::asio;
  net::io_context ioc;
  net::ip::tcp::socket s(ioc);
  s.connect({net::ip::make_address("127.0.0.1"), port});
  net::write(s, net::buffer(raw));
  std::string out;
  const auto t0 = clock_type::now();
  char buf[4096];
  while (ms_since(t0) < timeout_ms) {
    boost::system::error_code ec;
    const std::size_t n = s.read_some(net::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  return out;
}

} // namespace

TEST_CASE("heavy routes run off the I/O threads: cheap routes answer meanwhile") {
  fixture f;
  std::atomic<int> slow_ok{0};
  std::thread a([&] { slow_ok += http_request(f.port(), "GET", "/slow").status == 200; });
  std::thread b([&] { slow_ok += http_request(f.port(), "GET", "/slow").status == 200; });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  long worst = 0;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = clock_type::now();
    CHECK(http_request(f.port(), "GET", "/fast").status == 200);
    worst = std::max(worst, ms_since(t0));
  }
  a.join();
  b.join();
  CHECK(slow_ok == 2);
  INFO("slowest /fast while two heavy requests ran: " << worst << " ms");
  CHECK(worst < 100);
}

TEST_CASE("a heavy route's quick attempt answers inline, or declines to the worker pool") {
  fixture f;
  CHECK(http_request(f.port(), "GET", "/maybe?inline=yes").body == "quick");
  CHECK(http_request(f.port(), "GET", "/maybe").body == "pool");
  CHECK(http_request(f.port(), "GET", "/maybe?inline=no").body == "pool");
  // An exception in the attempt is the error object, as from a handler.
  auto r = http_request(f.port(), "GET", "/maybe?inline=throw");
  CHECK(r.status == 400);
  CHECK(error_code(r) == "invalid_argument");
}

TEST_CASE("stop() lets an in-flight request finish, then refuses") {
  fixture f;
  const std::uint16_t port = f.port();
  std::atomic<int> status{0};
  std::thread a([&] { status = http_request(port, "GET", "/slow").status; });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto t0 = clock_type::now();
  f.server->stop();
  const long took = ms_since(t0);
  a.join();
  CHECK(status == 200);
  CHECK(took >= 1000);
  CHECK(took < 5000);
  CHECK(http_request(port, "GET", "/fast").status == 0);
}

TEST_CASE("a streamed response: chunked Server-Sent Events, one piece at a time") {
  fixture f;
  const std::string out = read_all(f.port(), "GET /events HTTP/1.1\r\nHost: x\r\n\r\n", 3000);
  INFO(out);
  CHECK(out.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(out.find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(out.find("Content-Type: text/event-stream") != std::string::npos);
  const auto e0 = out.find("data: event 0\n\n");
  const auto e1 = out.find("data: event 1\n\n");
  const auto e2 = out.find("data: event 2\n\n");
  CHECK(e0 != std::string::npos);
  CHECK(e1 > e0);
  CHECK(e2 > e1);
  CHECK(e2 != std::string::npos);
  CHECK(out.find("\r\n0\r\n\r\n") != std::string::npos);  // the last chunk
  CHECK(f.counting->calls_ == 4);
  CHECK_FALSE(f.counting->overlapped_);
}

TEST_CASE("a streamed response notices the client leaving") {
  fixture f;
  {
    namespace net = boost::asio;
    net::io_context ioc;
    net::ip::tcp::socket s(ioc);
    s.connect({net::ip::make_address("127.0.0.1"), f.port()});
    const std::string req = "GET /quiet HTTP/1.1\r\nHost: x\r\n\r\n";
    net::write(s, net::buffer(req));
    std::string got;
    char buf[1024];
    while (got.find("data: hello") == std::string::npos) {
      got.append(buf, s.read_some(net::buffer(buf)));
    }
  }  // the client leaves here
  CHECK(f.silent->wait_cancelled(2000));
}

TEST_CASE("a route accepts a WebSocket upgrade and talks through a handler") {
  fixture f;
  namespace net = boost::asio;
  namespace ws = boost::beast::websocket;
  net::io_context ioc;
  ws::stream<boost::beast::tcp_stream> client(ioc);
  boost::beast::get_lowest_layer(client).connect({net::ip::make_address("127.0.0.1"), f.port()});
  client.handshake("127.0.0.1", "/ws");
  boost::beast::flat_buffer buf;
  client.read(buf);
  CHECK(boost::beast::buffers_to_string(buf.data()) == "welcome");
  buf.consume(buf.size());
  client.write(net::buffer(std::string("hi")));
  client.read(buf);
  CHECK(boost::beast::buffers_to_string(buf.data()) == "echo: hi");
  client.close(ws::close_code::normal);
  const auto t0 = clock_type::now();
  while (!f.echo->closed_ && ms_since(t0) < 2000) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(f.echo->closed_);
  // The same route without an upgrade is a JSON 400.
  auto r = http_request(f.port(), "GET", "/ws");
  CHECK(r.status == 400);
  CHECK(is_error_object(r));
}

TEST_CASE("stop() closes idle and half-sent connections at once") {
  fixture f;
  namespace net = boost::asio;
  net::io_context ioc;
  net::ip::tcp::socket idle(ioc), keep(ioc), partial(ioc);
  const net::ip::tcp::endpoint ep{net::ip::make_address("127.0.0.1"), f.port()};
  idle.connect(ep);
  keep.connect(ep);
  partial.connect(ep);
  const std::string req = "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n";
  net::write(keep, net::buffer(req));
  char buf[512];
  keep.read_some(net::buffer(buf));
  const std::string half = "GET /fast HTTP/1.1\r\n";
  net::write(partial, net::buffer(half));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto t0 = clock_type::now();
  f.server->stop();
  INFO("stop took " << ms_since(t0) << " ms");
  CHECK(ms_since(t0) < 500);
}
