// A Gremlin Server client: scripts with bindings over WebSocket (ws:// and
// wss://), GraphSON 3.0 or 2.0, SASL PLAIN, a small connection pool, many
// requests in flight per connection, partial (206) results assembled,
// retries with backoff on throttling (including Cosmos DB's 429 in
// status attributes) and on dropped connections. See docs/gremlin-client.md.
//
//   tlflow::gremlin::client_options o;
//   o.url = "ws://localhost:8182/gremlin";
//   auto c = tlflow::gremlin::client::create(o);
//   auto r = (*c)->submit("g.V().has('uid',u).values('name')",
//                         graphson::value::object({{"u", graphson::value::string("u-1")}}));
//   if (r) for (const auto& v : *r) ...
//
// Thread safety: every method may be called from any thread concurrently.
// The client owns one I/O thread; submit() blocks the calling thread only.
// Errors (tlflow::errc): store_unavailable (cannot connect, connection lost,
// timed out, server overloaded after retries), throttled (still throttled
// after retries), unauthorized / forbidden (credentials), internal (the
// server rejected the script: 497/498/499/500/595/597/599).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tlflow/gremlin/graphson.hpp"
#include "tlflow/error.hpp"

namespace tlflow::gremlin {

struct client_options {
  std::string url = "ws://localhost:8182/gremlin";
  std::string user;               // SASL PLAIN, used when the server sends 407
  std::string password;           // secret: never logged
  // SASL PLAIN sends the password as it is: with a user set, create()
  // refuses a plain ws:// URL unless this is set (a server on loopback, or
  // a network you trust). tlflow: --gremlin-allow-plaintext-auth.
  bool allow_plaintext_auth = false;
  graphson::version serializer = graphson::version::v3; // v2 for Cosmos DB
  std::size_t pool_size = 2;      // connections
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000}; // per attempt, client side
  unsigned max_retries = 5;       // further attempts after the first
  std::chrono::milliseconds backoff_initial{50};
  std::chrono::milliseconds backoff_max{5000};
  std::chrono::milliseconds max_retry_wait{30000}; // total sleeping per submit
  std::string ca_file;            // extra trusted CA (PEM); system CAs always
  bool verify_peer = true;        // TLS certificate and host name check
  bool send_binary = true;        // mime-prefixed binary frames (else text)
  // The messages of one result (its 206 partial batches and the last one)
  // together, in bytes; past it the request fails (payload_too_large) and
  // the rest of the stream is dropped. Each message is also at most 64 MB.
  std::size_t max_result_bytes = std::size_t{256} << 20;
};

struct submit_options {
  std::string language = "gremlin-groovy"; // empty: not sent
  std::optional<std::int64_t> evaluation_timeout_ms;
  std::optional<std::int32_t> batch_size;
  std::vector<std::pair<std::string, std::string>> aliases; // {"g", "g2"}
  bool idempotent = true;         // may run twice (retry after timeouts / lost replies)
};

// A complete reply to one request.
struct reply {
  int code = 200;                 // 200 or 204
  std::vector<graphson::value> data; // all batches, in order
  graphson::value attributes;     // of the final message
  double request_charge = 0;      // Cosmos DB RU (0 elsewhere)
  unsigned attempts = 1;
};

struct client_stats {
  std::uint64_t requests = 0, retries = 0, throttled = 0, reconnects = 0, failures = 0;
  std::size_t open_connections = 0;
};

class client {
public:
  static result<std::unique_ptr<client>> create(const client_options& opts);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Runs `script` with `bindings` (an object; empty: no bindings sent).
  result<std::vector<graphson::value>> submit(std::string_view script,
                                              const graphson::value& bindings = graphson::value::object(),
                                              const submit_options& so = {});
  result<reply> execute(std::string_view script, const graphson::value& bindings,
                        const submit_options& so = {});

  // True when a connection is open or can be opened now (one connect attempt
  // at most, bounded by connect_timeout) and the server answers a WebSocket
  // ping on it within min(connect_timeout, 1 s).
  bool healthy();
  client_stats stats() const;
  // Fails what is in flight with store_unavailable and closes every connection.
  void close();

  struct impl;
private:
  explicit client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace tlflow::gremlin
