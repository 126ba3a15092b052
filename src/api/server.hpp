// api/server.hpp — the HTTP transport: cpprestsdk's http_listener in front
// of the router.
//
// Threading map of the REST layer: cpprestsdk runs its socket I/O and every
// handler on one shared thread pool (crossplat::threadpool), sized by
// size_http_thread_pool() before anything else touches pplx. A handler runs
// on the pool thread that parsed its request headers; requests with a body
// continue on a pool thread once the body is complete. Handlers block only on
// the store; they never wait for network input themselves.
//
// Request pipeline, in order: route match (404 / 405 with Allow / 400 on bad
// percent-encoding) → bearer token (401) → Content-Length over the limit
// (413) → body without a JSON Content-Type (415) → query string (400) → body
// read, counting the bytes actually received, chunked bodies too (413) →
// handler. A thrown api_error or any other exception becomes the error object
// here, in run_handler(), and nowhere else.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "api/auth.hpp"
#include "api/router.hpp"
#include "util/metrics.hpp"

namespace tlflow::api {

struct server_options {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;
  std::size_t max_body_bytes = 1 << 20;
  std::string api_token;  // empty: no authentication
  bool auth_reads = false;
  // Decides every request when set (api/auth.hpp); api_token and auth_reads
  // then play no part.
  std::shared_ptr<const authenticator> auth;
};

// Sizes cpprestsdk's shared pool; must run before any other pplx use.
// `threads` 0 means one per core (at least 2). Returns the size chosen.
unsigned size_http_thread_pool(unsigned threads);

// True when `presented` equals `expected`, in time independent of where they
// differ (both are hashed, then compared with CRYPTO_memcmp).
bool token_equal(const std::string& presented, const std::string& expected);

class http_server {
public:
  http_server(const router& r, metrics_registry& metrics, server_options options);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // Binds and starts serving. io_error if the address cannot be bound.
  status start();
  // Stops accepting and waits for the listener to close.
  void stop();

  std::string listen_address() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace tlflow::api
