// api/server.hpp — the HTTP transport: an asynchronous Boost.Beast server in
// front of the router.
//
// Threading map of the REST layer: `threads` I/O threads run one
// io_context. Every connection is a session on its own strand, so a session
// never runs on two threads at once; different connections run in parallel.
// Cheap handlers run on the I/O thread that read their request. Routes
// registered `heavy` (path search, flows, neighbours, edge scans) run on a
// separate worker pool (`worker_threads`) so that /status and cheap routes
// keep answering while they work; their response is written from the
// session's strand again. A heavy route may have a bounded `quick` attempt
// (route_options) that runs on the I/O thread first: only when it declines
// does the request go to the pool (the path search: docs/api.md). Handlers block only on the store; they never wait
// for network input themselves.
//
// A connection serves one request at a time: the next request is read (from
// what the client already sent, pipelined or not) only once the previous
// response is written, so at most one request per connection is queued and
// responses come back in order.
//
// Request pipeline, in order:
//   accept: total and per-client-address connection caps (503, close; over
//           TLS just close, before any handshake);
//           EMFILE/ENFILE pause accepting for 100 ms instead of spinning
//   TLS only: the handshake, under the header timeout, with the context
//           current at accept (reload_tls() swaps it for later connections);
//           a first byte that is no TLS record gets a plain 400 and close;
//           failures counted by reason
//   wait for the first byte (idle timeout; on a fresh connection the header
//           timeout)
//   request line + headers: size limit (431, close), header timeout (408,
//           close), malformed line or header (400, close)
//   method: TRACE, CONNECT and methods no route uses (405); OPTIONS (204 with
//           Allow); HEAD runs the GET route and drops the body
//   route match (404 / 405 with Allow / 400 on bad percent-encoding)
//   authorization (401) — authorize(), one call
//   declared Content-Length over the limit (413, close)
//   body without a JSON Content-Type (415)
//   query string (400)
//   Expect: 100-continue answered (or, when refused above, the error and
//           close, without reading the body)
//   body read, limit counted on bytes received, chunked too (413, close);
//           body timeout between reads (408, close); a request refused
//           earlier has its body read and discarded, then gets its error
//   handler: a thrown api_error or any other exception becomes the error
//           object here, in run_handler(), and nowhere else
// Every error the server itself produces is the JSON error object.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/auth.hpp"
#include "api/router.hpp"
#include "util/metrics.hpp"

namespace tlflow::api {

struct server_options {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;  // 0: any free port (see listen_address)
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 << 10;
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds body_timeout{30};
  std::chrono::seconds idle_timeout{60};
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_client = 256;
  unsigned threads = 0;         // I/O threads; 0: one per core, at least 2
  unsigned worker_threads = 0;  // heavy routes; 0: one per core, at least 2
  unsigned write_threads = 16;  // mutating routes, which wait for the log flush
  // stop(): in-flight requests get this long to finish.
  std::chrono::milliseconds shutdown_grace{10000};
  // Decides every request (api/auth.hpp); none: every route is open.
  std::shared_ptr<const authenticator> auth;
  // HTTPS: PEM certificate chain and unencrypted private key (api/tls.hpp);
  // both empty: plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
};

class http_server {
public:
  http_server(const router& r, metrics_registry& metrics, server_options options);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // Binds and starts serving. io_error if the address cannot be bound;
  // invalid_argument if the TLS certificate or key cannot be used.
  status start();
  // Re-reads the TLS certificate and key: connections accepted from now on
  // get the new ones, open connections keep theirs. On any error the
  // current ones stay (the error is returned and logged). Counted in
  // tlflow_tls_reloads_total. invalid_argument when TLS is off.
  // Thread-safe.
  status reload_tls();
  bool tls() const;
  // Stops accepting, closes idle connections, lets in-flight requests finish
  // within shutdown_grace, then closes the rest and joins every thread.
  void stop();

  // host:port actually bound (the port chosen when options.port was 0).
  std::string listen_address() const;
  std::uint16_t port() const;
  unsigned io_threads() const;

  struct impl;  // defined in server.cpp; public only so its helpers can name it

private:
  std::unique_ptr<impl> impl_;
};

} // namespace tlflow::api
