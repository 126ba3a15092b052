// pplx/threadpool.h (needed to size cpprestsdk's pool) still names
// boost::asio::io_service, which BOOST_ASIO_NO_DEPRECATED hides.
#undef BOOST_ASIO_NO_DEPRECATED

#include "api/server.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <thread>

#include <cpprest/http_listener.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pplx/threadpool.h>

#include "api/json.hpp"
#include "util/log.hpp"

namespace tlflow::api {

namespace http = web::http;
using http::experimental::listener::http_listener;
using http::experimental::listener::http_listener_config;

unsigned size_http_thread_pool(unsigned threads) {
  if (threads == 0) threads = std::max(2u, std::thread::hardware_concurrency());
  crossplat::threadpool::initialize_with_threads(threads);
  return threads;
}

bool token_equal(const std::string& presented, const std::string& expected) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> a{};
  std::array<unsigned char, SHA256_DIGEST_LENGTH> b{};
  SHA256(reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), a.data());
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b.data());
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_json_media_type(const std::string& content_type) {
  std::string t = lower(content_type.substr(0, content_type.find(';')));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.pop_back();
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.erase(0, 1);
  if (t == "application/json") return true;
  return t.rfind("application/", 0) == 0 && t.size() > 5 && t.compare(t.size() - 5, 5, "+json") == 0;
}

response error_response(errc code, std::string_view message) {
  return json_response(http_status(code), error_body(code, message));
}

// The one place where exceptions become HTTP statuses.
response run_handler(const route& r, const request& q) {
  try {
    return r.fn(q);
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

} // namespace

struct http_server::impl {
  const router& routes;
  metrics_registry& metrics;
  server_options options;
  std::vector<std::unique_ptr<route_metrics>> per_route;
  std::unique_ptr<route_metrics> unmatched;
  std::unique_ptr<http_listener> listener;

  impl(const router& r, metrics_registry& m, server_options o)
      : routes(r), metrics(m), options(std::move(o)) {
    for (const auto& rt : routes.routes()) {
      per_route.push_back(std::make_unique<route_metrics>(metrics, rt.method, rt.path_template));
    }
    unmatched = std::make_unique<route_metrics>(metrics, "any", "unmatched");
  }

  void send(http::http_request& req, response res, route_metrics& rm,
            std::chrono::steady_clock::time_point t0) {
    const int status = res.status;
    http::http_response out(static_cast<http::status_code>(status));
    for (auto& [k, v] : res.headers) out.headers().add(k, v);
    out.set_body(std::move(res.body), res.content_type);
    req.reply(out).then([](pplx::task<void> t) {
      try {
        t.get();
      } catch (const std::exception& e) {
        log::debug("api", "reply failed: ", e.what());
      }
    });
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rm.record(status, seconds);
    if (log::current_level() <= log::level::debug) {
      log::debug("api", req.method(), " ", req.request_uri().path(), " -> ", status);
    }
  }

  void handle(http::http_request req) {
    const auto t0 = std::chrono::steady_clock::now();
    try {
      dispatch(req, t0);
    } catch (const std::exception& e) {
      // Only transport failures land here (handlers are wrapped).
      log::warn("api", "request failed: ", e.what());
      send(req, error_response(errc::internal, "internal error"), *unmatched, t0);
    }
  }

  void dispatch(http::http_request& req, std::chrono::steady_clock::time_point t0) {
    const std::string method = req.method();
    const web::uri& uri = req.request_uri();
    const std::string path = uri.path();

    auto q = std::make_shared<request>();
    q->method = method;
    q->path = path;
    bool chunked = false;
    for (const auto& [k, v] : req.headers()) {
      std::string name = lower(k);
      if (name == "content-type") q->content_type = v;
      if (name == "transfer-encoding" && lower(v).find("chunked") != std::string::npos) chunked = true;
      q->headers.emplace_back(std::move(name), v);
    }
    const std::size_t declared = req.headers().content_length();
    const bool has_body = declared > 0 || chunked;

    std::optional<response> early;
    const route* rt = nullptr;
    match_result m = routes.match(method, path);
    if (m.outcome == match_result::kind::not_found) {
      early = error_response(errc::not_found, "no route for " + method + " " + path);
    } else if (m.outcome == match_result::kind::method_not_allowed) {
      std::string allow;
      for (const auto& a : m.allow) allow += (allow.empty() ? "" : ", ") + a;
      early = error_response(errc::method_not_allowed,
                             method + " is not allowed here; allowed: " + allow);
      early->headers.emplace_back("Allow", allow);
    } else if (m.outcome == match_result::kind::bad_path) {
      early = error_response(errc::invalid_argument, m.message);
    } else {
      rt = m.matched;
      q->params = std::move(m.params);
    }
    route_metrics& rm = rt != nullptr ? *per_route[rt->index] : *unmatched;

    if (!early && options.auth) {
      const auto header = q->header("authorization");
      const auth_outcome a = options.auth->check(
          rt->options.needed, header ? std::optional<std::string_view>(*header) : std::nullopt);
      if (!a.allowed) {
        early = error_response(a.code, a.message);
        if (!a.www_authenticate.empty()) early->headers.emplace_back("WWW-Authenticate", a.www_authenticate);
      }
    } else if (!early && !options.api_token.empty() && !rt->options.always_open &&
               (rt->options.mutating || options.auth_reads)) {
      auto auth = q->header("authorization");
      bool ok = false;
      if (auth && auth->size() > 7 && lower(auth->substr(0, 7)) == "bearer ") {
        ok = token_equal(auth->substr(7), options.api_token);
      }
      if (!ok) {
        early = error_response(errc::unauthorized,
                               auth ? "invalid bearer token" : "a bearer token is required");
        early->headers.emplace_back("WWW-Authenticate", "Bearer realm=\"tlflow\"");
      }
    }
    if (!early && has_body && declared <= options.max_body_bytes &&
        !is_json_media_type(q->content_type)) {
      early = error_response(errc::unsupported_media_type, "request bodies must be application/json");
    }
    if (!early) {
      auto query = parse_query(uri.query());
      if (query) {
        q->query = std::move(query).value();
      } else {
        early = error_response(query.err().code, query.err().message);
      }
    }

    if (!has_body) {
      send(req, early ? std::move(*early) : run_handler(*rt, *q), rm, t0);
      return;
    }
    // Even a request refused already has its body read (and discarded, and
    // bounded): cpprestsdk answers only once the body is complete.
    read_body(std::make_shared<body_reader>(req, q, rt, rm, t0, declared, std::move(early)));
  }

  // The body arrives after the headers, from cpprestsdk's socket reads into
  // a buffer. It is consumed here chunk by chunk, asynchronously (a pool
  // thread never waits for the network), and never held beyond the limit: a
  // body over the limit is read on and discarded (so that a polite client
  // sees its 413) up to drain_cap more bytes, after which the buffer is
  // closed, which ends cpprestsdk's reading; the 413 then carries
  // `Connection: close`.
  static constexpr std::size_t drain_cap = 16u << 20;
  static constexpr std::size_t read_chunk = 64u << 10;

  struct body_reader {
    http::http_request req;
    std::shared_ptr<request> q;
    const route* rt;  // null when `early` is set
    route_metrics& rm;
    std::chrono::steady_clock::time_point t0;
    std::size_t declared;
    std::size_t total = 0;
    std::optional<response> early;  // already decided; the body is only drained
    std::vector<unsigned char> chunk = std::vector<unsigned char>(read_chunk);
    body_reader(http::http_request r, std::shared_ptr<request> qq, const route* rr, route_metrics& m,
                std::chrono::steady_clock::time_point t, std::size_t d, std::optional<response> e)
        : req(std::move(r)), q(std::move(qq)), rt(rr), rm(m), t0(t), declared(d), early(std::move(e)) {}
  };

  void too_large(const std::shared_ptr<body_reader>& b, bool abort_reading) {
    if (abort_reading) {
      try {
        b->req.body().streambuf().close(std::ios_base::out).wait();
        // cpprestsdk sends a response only once the request is complete; a
        // client that declared gigabytes and stalls would never see it. Mark
        // the request complete now (the reply closes the connection).
        b->req._get_impl()->_complete(
            b->total, std::make_exception_ptr(std::runtime_error("request body too large")));
      } catch (const std::exception&) {
      }
    }
    // A refusal decided before the body (404, 401, ...) stands; else 413.
    response res = b->early ? std::move(*b->early)
                            : error_response(errc::payload_too_large,
                                             "body larger than " +
                                                 std::to_string(options.max_body_bytes) + " bytes");
    if (abort_reading) res.headers.emplace_back("Connection", "close");
    send(b->req, std::move(res), b->rm, b->t0);
  }

  void read_body(const std::shared_ptr<body_reader>& b) {
    const std::size_t limit = options.max_body_bytes;
    if (b->declared > limit + drain_cap) {
      too_large(b, true);
      return;
    }
    auto buf = b->req.body().streambuf();
    buf.getn(b->chunk.data(), b->chunk.size()).then([this, b, limit](pplx::task<std::size_t> t) {
      std::size_t n = 0;
      try {
        n = t.get();
      } catch (const std::exception& e) {
        log::debug("api", "reading the body failed: ", e.what());
        send(b->req, error_response(errc::invalid_argument, "the request body could not be read"),
             b->rm, b->t0);
        return;
      }
      if (n == 0) {  // end of the body
        if (b->total > limit) {
          too_large(b, false);
        } else if (b->early) {
          send(b->req, std::move(*b->early), b->rm, b->t0);
        } else {
          send(b->req, run_handler(*b->rt, *b->q), b->rm, b->t0);
        }
        return;
      }
      b->total += n;
      if (b->total > limit + drain_cap) {
        too_large(b, true);
        return;
      }
      if (b->total <= limit && !b->early) {
        b->q->body.append(reinterpret_cast<const char*>(b->chunk.data()), n);
      } else {
        std::string().swap(b->q->body);  // over the limit: discard
      }
      read_body(b);
    });
  }
};

http_server::http_server(const router& r, metrics_registry& metrics, server_options options)
    : impl_(std::make_unique<impl>(r, metrics, std::move(options))) {}

http_server::~http_server() { stop(); }

std::string http_server::listen_address() const {
  const std::string& h = impl_->options.host;
  const bool v6 = h.find(':') != std::string::npos;
  return (v6 ? "[" + h + "]" : h) + ":" + std::to_string(impl_->options.port);
}

status http_server::start() {
  const std::string url = "http://" + listen_address();
  try {
    http_listener_config cfg;
    cfg.set_timeout(utility::seconds(30));
    impl_->listener = std::make_unique<http_listener>(web::uri(url), cfg);
    impl* self = impl_.get();
    impl_->listener->support([self](http::http_request req) { self->handle(std::move(req)); });
    impl_->listener->open().wait();
  } catch (const std::exception& e) {
    impl_->listener.reset();
    return {errc::io_error, "cannot listen on " + listen_address() + ": " + e.what()};
  }
  return ok_v;
}

void http_server::stop() {
  if (!impl_ || !impl_->listener) return;
  try {
    impl_->listener->close().wait();
  } catch (const std::exception& e) {
    log::warn("api", "closing the listener: ", e.what());
  }
  impl_->listener.reset();
}

} // namespace tlflow::api
