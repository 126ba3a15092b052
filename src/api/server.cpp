#include "api/server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <ctime>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "api/json.hpp"
#include "api/tls.hpp"
#include "util/log.hpp"
#include "util/thread.hpp"

namespace tlflow::api {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

namespace {

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_json_media_type(std::string_view content_type) {
  std::string t = lower(content_type.substr(0, content_type.find(';')));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.pop_back();
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.erase(0, 1);
  if (t == "application/json") return true;
  return t.rfind("application/", 0) == 0 && t.size() > 5 && t.compare(t.size() - 5, 5, "+json") == 0;
}

response error_response(errc code, std::string_view message) {
  return json_response(http_status(code), error_body(code, message));
}

// The one place where exceptions become HTTP statuses: `call` runs a route's
// handler or its quick attempt.
template <class Call>
auto run_guarded(const route& r, Call&& call) -> decltype(call()) {
  try {
    return call();
  } catch (const api_error& e) {
    return error_response(e.code(), e.what());
  } catch (const std::bad_alloc&) {
    log::error("api", r.method, " ", r.path_template, ": out of memory");
    return error_response(errc::internal, "out of memory");
  } catch (const std::exception& e) {
    log::error("api", r.method, " ", r.path_template, ": ", e.what());
    return error_response(errc::internal, "internal error");
  } catch (...) {
    log::error("api", r.method, " ", r.path_template, ": unknown exception");
    return error_response(errc::internal, "internal error");
  }
}

response run_handler(const route& r, const request& q) {
  return run_guarded(r, [&] { return r.fn(q); });
}

// The one authorization decision of the pipeline (api/auth.hpp). A server
// built without an authenticator (the transport's own tests) is open.
auth_outcome authorize(const server_options& o, const route_options& needs,
                       const std::optional<std::string_view>& authorization) {
  if (!o.auth) return {};
  return o.auth->check(needs.needed, authorization);
}

// Requests counted by route template and status, latency by route.
class route_metrics {
public:
  route_metrics(metrics_registry& m, std::string method, std::string route_label)
      : registry_(m), method_(std::move(method)), route_(std::move(route_label)),
        latency_(&m.histogram("tlflow_http_request_duration_seconds",
                              "HTTP request latency by route",
                              {{"method", method_}, {"route", route_}})) {
    for (auto& slot : by_status_) slot.store(nullptr, std::memory_order_relaxed);
  }

  void record(int status, double seconds) {
    latency_->observe(seconds);
    const int index = (status >= 100 && status < 600) ? status - 100 : 500 - 100;
    counter_metric* c = by_status_[static_cast<std::size_t>(index)].load(std::memory_order_acquire);
    if (c == nullptr) {
      // Racing threads get the same series from the registry.
      c = &registry_.counter("tlflow_http_requests_total", "HTTP requests by route and status",
                             {{"method", method_}, {"route", route_},
                              {"status", std::to_string(index + 100)}});
      by_status_[static_cast<std::size_t>(index)].store(c, std::memory_order_release);
    }
    c->inc();
  }

private:
  metrics_registry& registry_;
  std::string method_;
  std::string route_;
  histogram_metric* latency_;
  std::array<std::atomic<counter_metric*>, 500> by_status_;
};

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

unsigned thread_count(unsigned wanted) {
  return wanted != 0 ? wanted : std::max(2u, std::thread::hardware_concurrency());
}

// What the server needs of a connection, plain or TLS, to count it and to
// stop it.
class session_base {
public:
  virtual ~session_base() = default;
  virtual net::any_io_executor executor() const = 0;
  virtual tcp::socket& socket() = 0;
  virtual void start() = 0;
  virtual void begin_shutdown() = 0;
  virtual void force_close() = 0;
};

} // namespace

struct http_server::impl {
  const router& routes;
  metrics_registry& metrics;
  server_options options;
  std::vector<std::unique_ptr<route_metrics>> per_route;
  std::unique_ptr<route_metrics> unmatched;
  std::vector<std::string> methods;     // every method some route serves
  std::string all_allowed;              // Allow for `OPTIONS *` and unknown paths

  counter_metric& accept_pauses;
  counter_metric& refused_total;
  counter_metric& refused_per_client;
  counter_metric& timeouts;
  gauge_metric& open_gauge;

  // HTTPS (none of it when options.tls_cert_file is empty). New sessions
  // take the current context under tls_mu; reload_tls() replaces it.
  std::mutex tls_mu;
  std::shared_ptr<net::ssl::context> tls_context;
  counter_metric* handshake_timeouts = nullptr;
  counter_metric* handshake_errors = nullptr;
  counter_metric* handshake_plain_http = nullptr;
  counter_metric* reloads_ok = nullptr;
  counter_metric* reloads_failed = nullptr;
  gauge_metric* certificate_not_after = nullptr;

  // Sessions, for the connection caps and for stop(). Declared before the
  // io_context: sessions still queued in it unregister when it is destroyed.
  std::mutex conn_mu;
  std::condition_variable conn_cv;
  std::unordered_map<const session_base*, std::weak_ptr<session_base>> sessions;
  std::unordered_map<std::string, std::size_t> per_client;
  std::atomic<bool> stopping{false};

  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  net::strand<net::io_context::executor_type> accept_strand{net::make_strand(ioc)};
  tcp::acceptor acceptor{accept_strand};
  net::steady_timer accept_pause{accept_strand};
  std::vector<std::thread> threads;
  std::optional<net::thread_pool> workers;
  std::optional<net::thread_pool> writers;
  std::uint16_t bound_port = 0;
  bool started = false;

  impl(const router& r, metrics_registry& m, server_options o)
      : routes(r), metrics(m), options(std::move(o)),
        accept_pauses(m.counter("tlflow_http_accept_pauses_total",
                                "accept loop paused 100 ms for lack of descriptors (EMFILE/ENFILE)")),
        refused_total(m.counter("tlflow_http_connections_refused_total",
                                "connections answered 503 and closed by a cap",
                                {{"cap", "total"}})),
        refused_per_client(m.counter("tlflow_http_connections_refused_total",
                                     "connections answered 503 and closed by a cap",
                                     {{"cap", "per_client"}})),
        timeouts(m.counter("tlflow_http_timeouts_total",
                           "connections closed by the header, body or idle timeout")),
        open_gauge(m.gauge("tlflow_http_connections_open", "open HTTP connections")) {
    for (const auto& rt : routes.routes()) {
      per_route.push_back(std::make_unique<route_metrics>(metrics, rt.method, rt.path_template));
      if (std::find(methods.begin(), methods.end(), rt.method) == methods.end()) {
        methods.push_back(rt.method);
      }
    }
    unmatched = std::make_unique<route_metrics>(metrics, "any", "unmatched");
    all_allowed = allow_header(methods);
  }

  // Allow header for the methods routes serve: HEAD follows GET, OPTIONS
  // is always there.
  static std::string allow_header(const std::vector<std::string>& served) {
    std::string out;
    for (const auto& m : served) {
      out += (out.empty() ? "" : ", ") + m;
      if (m == "GET") out += ", HEAD";
    }
    return out + (out.empty() ? "" : ", ") + "OPTIONS";
  }

  bool admit(const std::shared_ptr<session_base>& s, const std::string& client);
  void forget(const session_base* s, const std::string& client);
  void do_accept();
  void on_accept(const beast::error_code& ec, tcp::socket socket);
  void refuse(tcp::socket& socket, const std::string& why);
  bool tls_on() const { return !options.tls_cert_file.empty(); }
  std::shared_ptr<net::ssl::context> current_tls_context() {
    std::lock_guard<std::mutex> lock(tls_mu);
    return tls_context;
  }
  status load_tls(bool reload);
};

namespace {

// A WebSocket handed over by an HTTP session (which it keeps alive, so the
// connection still counts against the caps). Runs on the same strand.
template <class Stream>
class ws_session : public websocket_connection, public std::enable_shared_from_this<ws_session<Stream>> {
public:
  using std::enable_shared_from_this<ws_session<Stream>>::shared_from_this;

  ws_session(Stream&& stream, std::shared_ptr<websocket_handler> handler,
             std::shared_ptr<void> owner, std::size_t max_message)
      : ws_(std::move(stream)), handler_(std::move(handler)), owner_(std::move(owner)) {
    ws_.read_message_max(max_message);
  }

  template <class Request>
  void run(Request&& req) {
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(beast::websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->finish();
      self->open_ = true;
      self->handler_->on_open(self);
      self->read();
    });
  }

  bool send(std::string text) override {
    if (closed_.load()) return false;
    net::post(ws_.get_executor(), [self = shared_from_this(), t = std::move(text)]() mutable {
      if (self->closed_.load()) return;
      if (self->out_.size() >= 1024) return self->close_now();
      self->out_.push_back(std::move(t));
      if (self->out_.size() == 1) self->write();
    });
    return true;
  }

  void close() override {
    net::post(ws_.get_executor(), [self = shared_from_this()] { self->close_now(); });
  }

private:
  void read() {
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->finish();
      std::string text = beast::buffers_to_string(self->in_.data());
      self->in_.consume(self->in_.size());
      self->handler_->on_message(std::move(text));
      self->read();
    });
  }
  void write() {
    ws_.text(true);
    ws_.async_write(net::buffer(out_.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->finish();
      self->out_.pop_front();
      if (!self->out_.empty()) self->write();
    });
  }
  void close_now() {
    if (closed_.exchange(true)) return;
    ws_.async_close(beast::websocket::close_code::normal,
                    [self = shared_from_this()](beast::error_code) { self->finish(); });
  }
  void finish() {
    closed_.store(true);
    if (open_) {
      open_ = false;
      handler_->on_close();
    }
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

  beast::websocket::stream<Stream> ws_;
  std::shared_ptr<websocket_handler> handler_;
  std::shared_ptr<void> owner_;
  beast::flat_buffer in_;
  std::deque<std::string> out_;
  std::atomic<bool> closed_{false};
  bool open_ = false;
};

// One connection, over plain TCP (Stream = beast::tcp_stream) or TLS
// (tls_stream). Every member runs on the connection's strand.
template <class Stream>
class session : public session_base, public std::enable_shared_from_this<session<Stream>> {
  static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

public:
  using std::enable_shared_from_this<session<Stream>>::shared_from_this;

  // `tls`: the context the handshake uses (kept alive by the session); null
  // for plain TCP.
  session(http_server::impl& srv, tcp::socket&& socket, std::string client,
          std::shared_ptr<net::ssl::context> tls)
      : srv_(srv), tls_(std::move(tls)), executor_(socket.get_executor()),
        stream_(make_stream(std::move(socket), tls_.get())), client_(std::move(client)) {}
  ~session() override { srv_.forget(this, client_); }

  // Kept apart from the stream: an upgraded session's stream has moved to
  // its ws_session.
  net::any_io_executor executor() const override { return executor_; }
  tcp::socket& socket() override { return layer().socket(); }

  void start() override {
    beast::error_code ec;
    layer().socket().set_option(tcp::no_delay(true), ec);
    if constexpr (is_tls) {
      detect_tls();
    } else {
      wait_request();
    }
  }

  // stop(): an idle connection (or one still sending its headers) closes
  // now; a request in progress finishes and its response says close.
  void begin_shutdown() override {
    draining_ = true;
    if (phase_ == phase::handshake || phase_ == phase::waiting || phase_ == phase::header) layer().cancel();
    if (phase_ == phase::streaming) client_gone();
    if (auto ws = ws_.lock()) ws->close();
  }
  void force_close() override {
    if (phase_ == phase::upgraded) {
      if (auto ws = ws_.lock()) ws->close();
      return;
    }
    beast::error_code ec;
    layer().socket().shutdown(tcp::socket::shutdown_both, ec);
    layer().close();
  }

private:
  enum class phase { handshake, waiting, header, body, handling, writing, streaming, upgraded, closing };
  using clock = std::chrono::steady_clock;

  static Stream make_stream(tcp::socket&& socket, net::ssl::context* tls) {
    if constexpr (is_tls) {
      return Stream(std::move(socket), *tls);
    } else {
      return Stream(std::move(socket));
    }
  }
  beast::tcp_stream& layer() { return beast::get_lowest_layer(stream_); }

  // TLS: the first bytes must be a handshake record; the header timeout
  // covers detection and handshake together.
  void detect_tls() {
    phase_ = phase::handshake;
    layer().expires_after(srv_.options.header_timeout);
    beast::async_detect_ssl(layer(), buffer_, [self = shared_from_this()](beast::error_code ec, bool tls) {
      if (ec) return self->handshake_failed(ec);
      if (!tls) return self->refuse_plain_http();
      self->handshake();
    });
  }
  void handshake() {
    if constexpr (is_tls) {
      stream_.async_handshake(net::ssl::stream_base::server, buffer_.data(),
                              [self = shared_from_this()](beast::error_code ec, std::size_t used) {
                                if (ec) return self->handshake_failed(ec);
                                self->buffer_.consume(used);
                                // The engine takes all it was given; bytes left
                                // here would be ciphertext read as plain text.
                                if (self->buffer_.size() != 0) return self->close();
                                self->wait_request();
                              });
    }
  }
  void handshake_failed(const beast::error_code& ec) {
    if (draining_) return close();
    if (ec == beast::error::timeout) {
      srv_.handshake_timeouts->inc();
    } else {
      srv_.handshake_errors->inc();
    }
    log::debug("api", "TLS handshake with ", client_, " failed: ", ec.message());
    close();
  }
  // Plain HTTP sent to the TLS port: a plain-text 400 saying so, then close.
  void refuse_plain_http() {
    static const std::string reply = [] {
      const std::string body = error_body(errc::invalid_argument, "this port speaks HTTPS only");
      return "HTTP/1.1 400 Bad Request\r\nServer: tlflow\r\n"
             "Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n"
             "Content-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    srv_.handshake_plain_http->inc();
    phase_ = phase::closing;
    layer().expires_after(srv_.options.body_timeout);
    net::async_write(layer(), net::buffer(reply), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->linger_tcp();
    });
  }

  // Waits for the first byte of the next request: the idle timeout applies
  // (the header timeout on a fresh connection); the header timeout counts
  // from there, so a slow header cannot borrow the idle allowance.
  void wait_request() {
    phase_ = phase::waiting;
    if (draining_) return close();
    if (buffer_.size() > 0) {
      header_deadline_ = clock::now() + srv_.options.header_timeout;
      return read_header();
    }
    const auto wait = fresh_ ? srv_.options.header_timeout : srv_.options.idle_timeout;
    header_deadline_ = clock::now() + srv_.options.header_timeout;
    layer().expires_after(wait);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->buffer_.commit(n);
                              if (ec) {
                                if (ec == beast::error::timeout) self->srv_.timeouts.inc();
                                return self->close();
                              }
                              if (!self->fresh_) {
                                self->header_deadline_ = clock::now() + self->srv_.options.header_timeout;
                              }
                              self->read_header();
                            });
  }

  void read_header() {
    phase_ = phase::header;
    header_parser_.emplace();
    header_parser_->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(srv_.options.max_header_bytes, UINT32_MAX)));
    // Checked against max_body_bytes below (boost::none would refuse every
    // Content-Length in this Beast version).
    header_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    layer().expires_at(header_deadline_);
    http::async_read_header(stream_, buffer_, *header_parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_header(ec);
                            });
  }

  void on_header(const beast::error_code& ec) {
    t0_ = clock::now();
    fresh_ = false;
    if (ec == http::error::header_limit) {
      return fail(errc::header_too_large,
                  "request line and headers exceed " +
                      std::to_string(srv_.options.max_header_bytes) + " bytes");
    }
    if (ec == beast::error::timeout) {
      srv_.timeouts.inc();
      return close();
    }
    if (ec && is_parse_error(ec)) return fail(errc::invalid_argument, "malformed request: " + ec.message());
    if (ec) return close();

    const auto& req = header_parser_->get();
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    head_ = false;
    close_after_ = false;
    rm_ = srv_.unmatched.get();
    rt_ = nullptr;

    q_ = std::make_shared<request>();
    q_->method = std::string(req.method_string());
    for (const auto& f : req) {
      std::string name = lower(sv(f.name_string()));
      if (name == "content-type") q_->content_type = std::string(f.value());
      q_->headers.emplace_back(std::move(name), std::string(f.value()));
    }
    const bool chunked = header_parser_->chunked();
    const std::uint64_t declared = header_parser_->content_length().value_or(0);
    const bool has_body = chunked || declared > 0;
    const bool expect_continue = beast::iequals(req[http::field::expect], "100-continue");

    std::optional<response> early = decide(sv(req.target()), has_body, declared);

    if (!has_body) return early ? respond(std::move(*early)) : run();
    if (declared > srv_.options.max_body_bytes) {
      close_after_ = true;
      return respond(early ? std::move(*early) : too_large());
    }
    if (early && expect_continue) {
      // The client waits before sending the body: no need to read it.
      close_after_ = true;
      return respond(std::move(*early));
    }
    early_ = std::move(early);
    body_parser_.emplace(std::move(*header_parser_));
    header_parser_.reset();
    body_parser_->body_limit(static_cast<std::uint64_t>(srv_.options.max_body_bytes));
    if (expect_continue) {
      continue_ = {http::status::continue_, version_};
      phase_ = phase::writing;
      layer().expires_after(srv_.options.body_timeout);
      return http::async_write(stream_, continue_,
                               [self = shared_from_this()](beast::error_code wec, std::size_t) {
                                 if (wec) return self->close();
                                 self->read_body();
                               });
    }
    read_body();
  }

  // Method, route, authorization, size, media type and query string:
  // the error to answer with, or nullopt when the request may proceed.
  std::optional<response> decide(std::string_view target, bool has_body, std::uint64_t declared) {
    const std::string& method = q_->method;
    if (target == "*" && method == "OPTIONS") return no_content(srv_.all_allowed);
    if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) {
      // absolute-form: only the path and query matter
      const auto slash = target.find('/', target.find("//") + 2);
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    if (target.empty() || target.front() != '/') {
      return error_response(errc::invalid_argument, "the request target must be a path");
    }
    const auto qmark = target.find('?');
    const std::string_view path = target.substr(0, qmark);
    const std::string_view query =
        qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);
    q_->path = std::string(path);

    const bool served = std::find(srv_.methods.begin(), srv_.methods.end(), method) != srv_.methods.end();
    head_ = method == "HEAD";
    match_result m = srv_.routes.match(head_ ? "GET" : method, path);
    if (m.outcome == match_result::kind::bad_path) return error_response(errc::invalid_argument, m.message);
    if (method == "OPTIONS" && m.outcome == match_result::kind::method_not_allowed) {
      return no_content(srv_.allow_header(m.allow));
    }
    if (!served && !head_ && method != "OPTIONS") {
      // TRACE, CONNECT and whatever else no route uses: never echoed.
      const std::string allow = m.outcome == match_result::kind::method_not_allowed
                                    ? srv_.allow_header(m.allow)
                                    : srv_.all_allowed;
      response r = error_response(errc::method_not_allowed, method + " is not supported");
      r.headers.emplace_back("Allow", allow);
      return r;
    }
    if (m.outcome == match_result::kind::not_found) {
      return error_response(errc::not_found, "no route for " + method + " " + q_->path);
    }
    if (m.outcome == match_result::kind::method_not_allowed) {
      const std::string allow = srv_.allow_header(m.allow);
      response r = error_response(errc::method_not_allowed,
                                  method + " is not allowed here; allowed: " + allow);
      r.headers.emplace_back("Allow", allow);
      return r;
    }
    rt_ = m.matched;
    rm_ = srv_.per_route[rt_->index].get();
    q_->params = std::move(m.params);

    std::optional<std::string_view> authorization;
    for (const auto& [k, v] : q_->headers) {
      if (k == "authorization") authorization = v;
    }
    if (auth_outcome a = authorize(srv_.options, rt_->options, authorization); !a.allowed) {
      response r = error_response(a.code, a.message);
      if (!a.www_authenticate.empty()) r.headers.emplace_back("WWW-Authenticate", a.www_authenticate);
      return r;
    }
    if (has_body && declared <= srv_.options.max_body_bytes && !is_json_media_type(q_->content_type)) {
      return error_response(errc::unsupported_media_type, "request bodies must be application/json");
    }
    auto parsed = parse_query(query);
    if (!parsed) return error_response(parsed.err().code, parsed.err().message);
    q_->query = std::move(parsed).value();
    return std::nullopt;
  }

  static response no_content(const std::string& allow) {
    response r;
    r.status = 204;
    r.headers.emplace_back("Allow", allow);
    return r;
  }

  response too_large() const {
    return error_response(errc::payload_too_large,
                          "body larger than " + std::to_string(srv_.options.max_body_bytes) + " bytes");
  }

  // The body, one read at a time: the body timeout is the longest silence
  // between two reads, and the limit counts the bytes received.
  void read_body() {
    phase_ = phase::body;
    layer().expires_after(srv_.options.body_timeout);
    http::async_read_some(stream_, buffer_, *body_parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            self->on_body(ec);
                          });
  }

  void on_body(const beast::error_code& ec) {
    if (ec == http::error::body_limit) {
      close_after_ = true;
      return respond(early_ ? std::move(*early_) : too_large());
    }
    if (ec == beast::error::timeout) {
      srv_.timeouts.inc();
      return close();
    }
    if (ec && is_parse_error(ec)) return fail(errc::invalid_argument, "malformed body: " + ec.message());
    if (ec) return close();
    if (!body_parser_->is_done()) return read_body();
    if (early_) {
      auto e = std::move(*early_);
      early_.reset();
      body_parser_.reset();
      return respond(std::move(e));
    }
    q_->body = std::move(body_parser_->get().body());
    body_parser_.reset();
    run();
  }

  void run() {
    phase_ = phase::handling;
    const route& rt = *rt_;
    // Heavy reads go to the worker pool; writes to the write pool, where they
    // wait for the log flush covering them (group commit groups the writers
    // waiting at once, so that pool is larger than the cores).
    net::thread_pool* pool = rt.options.heavy ? srv_.workers ? &*srv_.workers : nullptr
                             : rt.options.mutating && srv_.writers ? &*srv_.writers : nullptr;
    if (pool != nullptr && rt.options.heavy && rt.options.quick) {
      // A cheap answer here saves waking a worker and then this thread again.
      std::optional<response> r = run_guarded(rt, [&] { return rt.options.quick(*q_); });
      if (r) return respond(std::move(*r));
    }
    if (pool != nullptr) {
      net::post(*pool, [self = shared_from_this(), &rt, q = q_] {
        response r = run_handler(rt, *q);
        net::post(self->executor(), [self, r = std::move(r)]() mutable { self->respond(std::move(r)); });
      });
      return;
    }
    respond(run_handler(rt, *q_));
  }

  // WebSocket: the route accepted; the request must be an upgrade.
  void upgrade(response r) {
    if (!header_parser_ || !beast::websocket::is_upgrade(header_parser_->get())) {
      close_after_ = true;
      return respond(error_response(errc::invalid_argument, "this route needs a WebSocket upgrade"));
    }
    phase_ = phase::upgraded;
    if (rm_ != nullptr) rm_->record(101, std::chrono::duration<double>(clock::now() - t0_).count());
    auto ws = std::make_shared<ws_session<Stream>>(std::move(stream_), std::move(r.websocket), shared_from_this(),
                                           srv_.options.max_body_bytes);
    ws_ = ws;
    ws->run(header_parser_->release());
  }

  // Streamed body: headers, then one chunk per delivered piece; the
  // connection closes after the last chunk. A read watches for the client
  // leaving while the producer has nothing to say.
  void start_stream(response r) {
    phase_ = phase::streaming;
    producer_ = std::move(r.stream);
    sres_ = {};
    sres_.version(version_ == 10 ? 10 : 11);
    sres_.result(static_cast<unsigned>(r.status));
    sres_.set(http::field::server, "tlflow");
    for (auto& [k, v] : r.headers) sres_.insert(k, v);
    sres_.set(http::field::content_type, r.content_type);
    sres_.keep_alive(false);
    sres_.chunked(true);
    if (rm_ != nullptr) rm_->record(r.status, std::chrono::duration<double>(clock::now() - t0_).count());
    sser_.emplace(sres_);
    layer().expires_after(srv_.options.body_timeout);
    http::async_write_header(stream_, *sser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->client_gone();
      self->layer().expires_never();
      self->watch_client();
      self->pull_next();
    });
  }
  void watch_client() {
    // Also the lingering read after the last chunk: one read at a time.
    stream_.async_read_some(net::buffer(linger_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec && self->stream_done_) return is_tls ? self->linger_close() : self->close();
      if (ec) return self->client_gone();
      self->watch_client();  // whatever the client sends while streaming is ignored
    });
  }
  void pull_next() {
    std::weak_ptr<session> weak = shared_from_this();
    auto once = std::make_shared<std::atomic<bool>>(false);
    producer_->next([weak, once](std::optional<std::string> piece) {
      if (once->exchange(true)) return;
      if (auto self = weak.lock()) {
        net::post(self->executor(), [self, p = std::move(piece)]() mutable { self->on_piece(std::move(p)); });
      }
    });
  }
  void on_piece(std::optional<std::string> piece) {
    if (stream_done_) return;
    if (!piece) {
      stream_done_ = true;
      if (producer_->failed()) {
        producer_.reset();
        return close();
      }
      layer().expires_after(srv_.options.body_timeout);
      return net::async_write(stream_, http::make_chunk_last(),
                              [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                if (ec) return self->close();
                                self->producer_.reset();
                                if constexpr (is_tls) {
                                  // The watching read ends, then linger_close
                                  // sends the close_notify (one TLS read at a time).
                                  self->layer().cancel();
                                } else {
                                  // The watching read (still pending) lingers.
                                  beast::error_code sec;
                                  self->layer().socket().shutdown(tcp::socket::shutdown_send, sec);
                                  self->layer().expires_after(std::chrono::milliseconds(500));
                                }
                              });
    }
    if (piece->empty()) return pull_next();  // an empty chunk would end the body
    chunk_ = std::move(*piece);
    layer().expires_after(srv_.options.body_timeout);
    net::async_write(stream_, http::make_chunk(net::buffer(chunk_)),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->client_gone();
                       if (self->stream_done_) return;
                       self->layer().expires_never();
                       self->pull_next();
                     });
  }
  void client_gone() {
    if (!stream_done_) {
      stream_done_ = true;
      if (producer_) producer_->cancel();
    }
    producer_.reset();
    close();
  }

  // A request the server refuses before it is understood: error, then close.
  void fail(errc code, const std::string& message) {
    keep_alive_ = false;
    close_after_ = true;
    q_.reset();
    rm_ = srv_.unmatched.get();
    respond(error_response(code, message));
  }

  void respond(response r) {
    if (r.websocket) return upgrade(std::move(r));
    if (r.stream && !head_) return start_stream(std::move(r));
    if (r.stream) r.stream->cancel();  // HEAD: the body will never be pulled
    phase_ = phase::writing;
    const bool keep = keep_alive_ && !close_after_ && !draining_;
    res_ = {};
    res_.version(version_ == 10 ? 10 : 11);
    res_.result(static_cast<unsigned>(r.status));
    res_.set(http::field::server, "tlflow");
    for (auto& [k, v] : r.headers) res_.insert(k, v);
    res_.keep_alive(keep);
    if (r.status == 204 || r.status == 304) {
      // no body, no Content-Length
    } else {
      res_.set(http::field::content_type, r.content_type);
      if (head_) {
        res_.content_length(r.body.size());
      } else {
        res_.body() = std::move(r.body);
        res_.prepare_payload();
      }
    }
    const double seconds = std::chrono::duration<double>(clock::now() - t0_).count();
    if (rm_ != nullptr) rm_->record(r.status, seconds);
    if (log::current_level() <= log::level::debug) {
      log::debug("api", q_ ? q_->method : "-", " ", q_ ? q_->path : "-", " -> ", r.status);
    }
    layer().expires_after(srv_.options.body_timeout);
    http::async_write(stream_, res_, [self = shared_from_this(), keep](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->q_.reset();
      self->header_parser_.reset();
      if (!keep) return self->linger_close();
      self->wait_request();
    });
  }

  // Half-closes, then reads and discards for a moment before closing, so
  // that a client still sending (an oversized body) gets to read the
  // response instead of a reset. Over TLS the half-close is a close_notify,
  // after which OpenSSL discards what arrives until the client's own
  // close_notify, its FIN or the same moment has passed.
  void linger_close() {
    if constexpr (is_tls) {
      phase_ = phase::closing;
      buffer_.consume(buffer_.size());
      layer().expires_after(std::chrono::milliseconds(500));
      stream_.async_shutdown([self = shared_from_this()](beast::error_code) { self->close(); });
    } else {
      linger_tcp();
    }
  }
  void linger_tcp() {
    phase_ = phase::closing;
    beast::error_code ec;
    layer().socket().shutdown(tcp::socket::shutdown_send, ec);
    buffer_.consume(buffer_.size());
    layer().expires_after(std::chrono::milliseconds(500));
    linger_read();
  }
  void linger_read() {
    layer().async_read_some(net::buffer(linger_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->lingered_ += n;
                              if (ec || self->lingered_ > (1u << 20)) return self->close();
                              self->linger_read();
                            });
  }

  void close() {
    phase_ = phase::closing;
    beast::error_code ec;
    layer().socket().shutdown(tcp::socket::shutdown_both, ec);
    layer().close();
  }

  http_server::impl& srv_;
  std::shared_ptr<net::ssl::context> tls_;
  net::any_io_executor executor_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::string client_;
  phase phase_ = phase::waiting;
  bool fresh_ = true;
  bool draining_ = false;
  clock::time_point header_deadline_;
  clock::time_point t0_;

  std::optional<http::request_parser<http::empty_body>> header_parser_;
  std::optional<http::request_parser<http::string_body>> body_parser_;
  std::shared_ptr<request> q_;
  const route* rt_ = nullptr;
  route_metrics* rm_ = nullptr;
  std::optional<response> early_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_ = false;
  bool close_after_ = false;
  http::response<http::empty_body> continue_;
  http::response<http::string_body> res_;
  std::array<char, 16384> linger_{};
  std::size_t lingered_ = 0;
  // streaming
  std::shared_ptr<body_producer> producer_;
  http::response<http::empty_body> sres_;
  std::optional<http::response_serializer<http::empty_body>> sser_;
  std::string chunk_;
  bool stream_done_ = false;
  std::weak_ptr<ws_session<Stream>> ws_;
};

} // namespace

bool http_server::impl::admit(const std::shared_ptr<session_base>& s, const std::string& client) {
  std::lock_guard<std::mutex> lock(conn_mu);
  if (sessions.size() >= options.max_connections) {
    refused_total.inc();
    return false;
  }
  std::size_t& mine = per_client[client];
  if (mine >= options.max_connections_per_client) {
    if (mine == 0) per_client.erase(client);
    refused_per_client.inc();
    return false;
  }
  ++mine;
  sessions.emplace(s.get(), s);
  open_gauge.set(static_cast<double>(sessions.size()));
  return true;
}

void http_server::impl::forget(const session_base* s, const std::string& client) {
  std::lock_guard<std::mutex> lock(conn_mu);
  if (sessions.erase(s) == 0) return;
  auto it = per_client.find(client);
  if (it != per_client.end() && --it->second == 0) per_client.erase(it);
  open_gauge.set(static_cast<double>(sessions.size()));
  conn_cv.notify_all();
}

void http_server::impl::refuse(tcp::socket& socket, const std::string& why) {
  beast::error_code ec;
  if (tls_on()) {
    // Before any handshake: plain text would only confuse a TLS client.
    socket.close(ec);
    log::debug("api", "connection refused: ", why);
    return;
  }
  static const std::string reply = [] {
    const std::string body = error_body(errc::overloaded, "too many connections; retry later");
    return "HTTP/1.1 503 Service Unavailable\r\nServer: tlflow\r\n"
           "Content-Type: application/json; charset=utf-8\r\nRetry-After: 1\r\n"
           "Connection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  // Best effort and never blocking: the reply fits a fresh socket's buffer.
  socket.non_blocking(true, ec);
  socket.write_some(net::buffer(reply), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
  log::debug("api", "connection refused: ", why);
}

void http_server::impl::do_accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void http_server::impl::on_accept(const beast::error_code& ec, tcp::socket socket) {
  if (stopping.load() || ec == net::error::operation_aborted) return;
  if (ec) {
    if (ec == boost::system::errc::too_many_files_open ||
        ec == boost::system::errc::too_many_files_open_in_system ||
        ec == boost::system::errc::no_buffer_space ||
        ec == boost::system::errc::not_enough_memory) {
      // The pending connection stays in the backlog and would make accept
      // fail again at once: wait for descriptors to come back instead.
      if (accept_pauses.value() % 100 == 0) log::warn("api", "accept: ", ec.message(), "; pausing");
      accept_pauses.inc();
      accept_pause.expires_after(std::chrono::milliseconds(100));
      accept_pause.async_wait([this](beast::error_code wec) {
        if (!wec && !stopping.load()) do_accept();
      });
      return;
    }
    log::debug("api", "accept: ", ec.message());
    return do_accept();
  }
  beast::error_code rec;
  const auto peer = socket.remote_endpoint(rec);
  if (!rec) {
    std::string client = peer.address().to_string();
    std::shared_ptr<session_base> s;
    if (tls_on()) {
      s = std::make_shared<session<tls_stream>>(*this, std::move(socket), client, current_tls_context());
    } else {
      s = std::make_shared<session<beast::tcp_stream>>(*this, std::move(socket), client, nullptr);
    }
    if (admit(s, client)) {
      net::post(s->executor(), [s] { s->start(); });
    } else {
      refuse(s->socket(), "connection cap reached for " + client);
    }
  }
  do_accept();
}

http_server::http_server(const router& r, metrics_registry& metrics, server_options options)
    : impl_(std::make_unique<impl>(r, metrics, std::move(options))) {}

http_server::~http_server() { stop(); }

std::string http_server::listen_address() const {
  const std::string& h = impl_->options.host;
  const bool v6 = h.find(':') != std::string::npos;
  return (v6 ? "[" + h + "]" : h) + ":" + std::to_string(port());
}

std::uint16_t http_server::port() const {
  return impl_->bound_port != 0 ? impl_->bound_port : impl_->options.port;
}

unsigned http_server::io_threads() const { return thread_count(impl_->options.threads); }

bool http_server::tls() const { return impl_->tls_on(); }

status http_server::impl::load_tls(bool reload) {
  auto loaded = load_server_tls(options.tls_cert_file, options.tls_key_file);
  if (!loaded) {
    if (reload) {
      reloads_failed->inc();
      log::error("api", "TLS reload failed, the current certificate stays: ", loaded.err().message);
    }
    return std::move(loaded).err();
  }
  {
    std::lock_guard<std::mutex> lock(tls_mu);
    tls_context = loaded->context;
  }
  certificate_not_after->set(static_cast<double>(loaded->not_after));
  if (reload) reloads_ok->inc();
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  const std::time_t until = static_cast<std::time_t>(loaded->not_after);
  std::tm tm{};
  char until_text[32] = "?";
  if (::gmtime_r(&until, &tm) != nullptr) std::strftime(until_text, sizeof until_text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  log::info("api", reload ? "TLS certificate reloaded: " : "TLS certificate: ", loaded->subject,
            ", serial ", loaded->serial, ", valid until ", until_text);
  if (loaded->not_after <= now) {
    log::warn("api", "the TLS certificate ", options.tls_cert_file, " has expired: clients will refuse it");
  }
  return ok_v;
}

status http_server::reload_tls() {
  if (!impl_->tls_on()) return {errc::invalid_argument, "TLS is off: no certificate to reload"};
  if (impl_->reloads_ok == nullptr) return {errc::invalid_argument, "the server was not started"};
  return impl_->load_tls(true);
}

status http_server::start() {
  impl& s = *impl_;
  if (s.started) return {errc::internal, "the server was already started"};
  if (s.options.tls_cert_file.empty() != s.options.tls_key_file.empty()) {
    return {errc::invalid_argument, "TLS needs both a certificate and a key file"};
  }
  if (s.tls_on() && s.reloads_ok == nullptr) {
    metrics_registry& m = s.metrics;
    const std::string failures = "tlflow_http_tls_handshake_failures_total";
    const std::string failures_help = "TLS connections closed before a request, by reason";
    s.handshake_timeouts = &m.counter(failures, failures_help, {{"reason", "timeout"}});
    s.handshake_errors = &m.counter(failures, failures_help, {{"reason", "error"}});
    s.handshake_plain_http = &m.counter(failures, failures_help, {{"reason", "plain_http"}});
    const std::string reloads_help = "TLS certificate reloads (SIGHUP), by outcome";
    s.reloads_ok = &m.counter("tlflow_tls_reloads_total", reloads_help, {{"outcome", "ok"}});
    s.reloads_failed = &m.counter("tlflow_tls_reloads_total", reloads_help, {{"outcome", "failed"}});
    s.certificate_not_after = &m.gauge("tlflow_tls_certificate_expiry_timestamp_seconds",
                                       "notAfter of the certificate served, Unix time");
  }
  if (s.tls_on()) {
    if (auto loaded = s.load_tls(false); !loaded) return loaded;
  }
  beast::error_code ec;
  net::ip::address address = net::ip::make_address(s.options.host, ec);
  if (ec) {
    tcp::resolver resolver(s.ioc);
    auto found = resolver.resolve(s.options.host, "", ec);
    if (ec || found.empty()) {
      return {errc::io_error, "cannot listen on " + listen_address() + ": cannot resolve " + s.options.host};
    }
    address = found.begin()->endpoint().address();
  }
  const tcp::endpoint endpoint(address, s.options.port);
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    s.acceptor.close(ignored);
    return {errc::io_error, "cannot listen on " + listen_address() + ": " + ec.message()};
  }
  s.bound_port = s.acceptor.local_endpoint(ec).port();
  s.started = true;
  s.workers.emplace(thread_count(s.options.worker_threads));
  s.writers.emplace(std::max(1u, s.options.write_threads));
  s.work.emplace(net::make_work_guard(s.ioc));
  net::post(s.accept_strand, [&s] { s.do_accept(); });
  const unsigned n = thread_count(s.options.threads);
  for (unsigned i = 0; i < n; ++i) {
    s.threads.emplace_back([&s] {
      util::name_this_thread("tlflow-http-io");
      // An exception escaping a completion handler (handlers proper are
      // wrapped in run_handler) must not end the thread: log, go on.
      for (;;) {
        try {
          s.ioc.run();
          return;
        } catch (const std::exception& e) {
          log::error("api", "I/O thread: ", e.what());
        }
      }
    });
  }
  return ok_v;
}

void http_server::stop() {
  if (!impl_ || !impl_->started) return;
  impl& s = *impl_;
  s.started = false;
  s.stopping.store(true);
  net::post(s.accept_strand, [&s] {
    beast::error_code ec;
    s.acceptor.close(ec);
    s.accept_pause.cancel();
  });

  // The sessions are copied under the lock and acted upon outside it: the
  // last reference to a session may be dropped here, and its destructor
  // takes conn_mu to forget itself.
  const auto each_session = [&s](auto fn) {
    std::vector<std::shared_ptr<session_base>> live;
    {
      std::lock_guard<std::mutex> lock(s.conn_mu);
      for (auto& [ptr, weak] : s.sessions) {
        if (auto p = weak.lock()) live.push_back(std::move(p));
      }
    }
    for (auto& p : live) net::post(p->executor(), [p, fn] { fn(*p); });
  };
  each_session([](session_base& x) { x.begin_shutdown(); });
  {
    std::unique_lock<std::mutex> lock(s.conn_mu);
    s.conn_cv.wait_for(lock, s.options.shutdown_grace, [&s] { return s.sessions.empty(); });
  }
  each_session([](session_base& x) { x.force_close(); });
  {
    std::unique_lock<std::mutex> lock(s.conn_mu);
    s.conn_cv.wait_for(lock, std::chrono::seconds(1), [&s] { return s.sessions.empty(); });
  }
  s.workers->stop();
  s.workers->join();
  s.writers->stop();
  s.writers->join();
  s.work.reset();
  s.ioc.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
}

} // namespace tlflow::api
