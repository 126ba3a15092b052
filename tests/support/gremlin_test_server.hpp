// A Gremlin Server for tests, on 127.0.0.1: the real WebSocket protocol
// (TinkerPop's provider documentation) — mime-prefixed binary frames and bare-JSON text frames,
// GraphSON 3 or 2 replies per the request's mime type, 206 partial batches
// honouring batchSize, 204 for empty results, SASL PLAIN behind a 407
// challenge, 498/499/597 errors — plus fault injection (delay, close in the
// middle of a stream, Cosmos-style throttling, fixed error codes, dropping
// the connection after N requests) and a Cosmos DB mode (untyped GraphSON
// 1.0-style replies with x-ms-* attributes).
//
// It does not run Groovy. Scripts are handed to an evaluator; the default
// one (gremlin_graph_evaluator.hpp) recognises GremlinStore's own script
// templates by their exact text and executes their meaning over an
// in-memory graph. tests/support/js/ drives this server with the official
// JavaScript driver to show its replies are what a real server sends.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tlflow/gremlin/graphson.hpp"
#include "tlflow/error.hpp"

namespace tlflow::test {

using gremlin_evaluator = std::function<tlflow::result<std::vector<gremlin::graphson::value>>(
    const std::string& script, const gremlin::graphson::value& bindings)>;

struct gremlin_test_server_options {
  std::uint16_t port = 0;        // 0: an ephemeral port (kept across stop/start)
  std::string user;              // non-empty: SASL PLAIN required
  std::string password;
  bool cosmos = false;           // untyped replies with x-ms-* attributes
  // As Gremlin Server's StandardOpProcessor maxParameters (default 16): an
  // eval with more bindings fails with 499. 0: no limit. Not applied when
  // cosmos is set (Cosmos DB is not a Gremlin Server).
  std::size_t max_parameters = 16;
  gremlin_evaluator evaluator;   // empty: the GremlinStore template evaluator
};

class gremlin_test_server {
public:
  explicit gremlin_test_server(gremlin_test_server_options opts = {});
  ~gremlin_test_server();
  gremlin_test_server(const gremlin_test_server&) = delete;
  gremlin_test_server& operator=(const gremlin_test_server&) = delete;

  std::uint16_t port() const;
  std::string url() const;       // ws://127.0.0.1:<port>/gremlin

  // Stops listening and closes every connection; start() listens again on
  // the same port. The graph survives (it lives in the evaluator).
  void stop();
  void start();

  // Fault injection. Each "next n" applies to the next n eval requests.
  void set_delay(std::chrono::milliseconds d);
  void close_mid_stream_next(unsigned n);          // one 206 batch, then the socket closes
  void throttle_next(unsigned n, std::string retry_after = "00:00:00.0150000");
  void fail_next(unsigned n, int code);            // 499, 597, 598, 596, ...
  void drop_connection_after(unsigned n);          // close after n more eval requests (no reply)
  // While stalled, each connection stops reading after its next message: no
  // reply to it, and no pong to pings (a server hung with its connections
  // open). Unstalled, they read on.
  void stall(bool on);

  std::uint64_t eval_requests() const;             // eval requests received
  std::uint64_t auth_challenges() const;           // 407s sent
  std::uint64_t connections_accepted() const;
  std::string last_script() const;

  struct state;
private:
  std::shared_ptr<state> st_;
};

} // namespace tlflow::test
