// pplx/threadpool.h (needed to size cpprestsdk's pool) still names
// boost::asio::io_service, which BOOST_ASIO_NO_DEPRECATED hides.
#undef BOOST_ASIO_NO_DEPRECATED

#include "api/server.hpp"

#include <algorithm>
#include <array>
#include <cctype>
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
    match_result m = routes.match(method, path);
    if (m.outcome == match_result::kind::not_found) {
      send(req, error_response(errc::not_found, "no route for " + method + " " + path), *unmatched, t0);
      return;
    }
    if (m.outcome == match_result::kind::method_not_allowed) {
      std::string allow;
      for (const auto& a : m.allow) allow += (allow.empty() ? "" : ", ") + a;
      response res = error_response(errc::method_not_allowed,
                                    method + " is not allowed here; allowed: " + allow);
      res.headers.emplace_back("Allow", allow);
      send(req, std::move(res), *unmatched, t0);
      return;
    }
    if (m.outcome == match_result::kind::bad_path) {
      send(req, error_response(errc::invalid_argument, m.message), *unmatched, t0);
      return;
    }
    const route& rt = *m.matched;
    route_metrics& rm = *per_route[rt.index];

    auto q = std::make_shared<request>();
    q->method = method;
    q->path = path;
    q->params = std::move(m.params);
    bool chunked = false;
    for (const auto& [k, v] : req.headers()) {
      std::string name = lower(k);
      if (name == "content-type") q->content_type = v;
      if (name == "transfer-encoding" && lower(v).find("chunked") != std::string::npos) chunked = true;
      q->headers.emplace_back(std::move(name), v);
    }

    if (!options.api_token.empty() && (rt.options.mutating || options.auth_reads)) {
      auto auth = q->header("authorization");
      bool ok = false;
      if (auth && auth->size() > 7 && lower(auth->substr(0, 7)) == "bearer ") {
        ok = token_equal(auth->substr(7), options.api_token);
      }
      if (!ok) {
        response res = error_response(errc::unauthorized,
                                      auth ? "invalid bearer token" : "a bearer token is required");
        res.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"tlflow\"");
        send(req, std::move(res), rm, t0);
        return;
      }
    }

    const std::size_t declared = req.headers().content_length();
    if (declared > options.max_body_bytes) {
      send(req, error_response(errc::payload_too_large,
                               "body larger than " + std::to_string(options.max_body_bytes) + " bytes"),
           rm, t0);
      return;
    }
    const bool has_body = declared > 0 || chunked;
    if (has_body && !is_json_media_type(q->content_type)) {
      send(req, error_response(errc::unsupported_media_type,
                               "request bodies must be application/json"),
           rm, t0);
      return;
    }
    auto query = parse_query(uri.query());
    if (!query) {
      send(req, error_response(query.err().code, query.err().message), rm, t0);
      return;
    }
    q->query = std::move(query).value();

    if (!has_body) {
      send(req, run_handler(rt, *q), rm, t0);
      return;
    }
    // The body arrives after the headers; continue when it is complete, on
    // a pool thread, without blocking this one.
    const std::size_t limit = options.max_body_bytes;
    req.extract_vector().then([this, req, q, &rt, &rm, t0, limit](
                                  pplx::task<std::vector<unsigned char>> t) mutable {
      try {
        std::vector<unsigned char> bytes = t.get();
        if (bytes.size() > limit) {
          send(req, error_response(errc::payload_too_large,
                                   "body larger than " + std::to_string(limit) + " bytes"),
               rm, t0);
          return;
        }
        q->body.assign(bytes.begin(), bytes.end());
        send(req, run_handler(rt, *q), rm, t0);
      } catch (const std::exception& e) {
        log::debug("api", "reading the body failed: ", e.what());
        try {
          send(req, error_response(errc::invalid_argument, "the request body could not be read"),
               rm, t0);
        } catch (...) {
        }
      }
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
