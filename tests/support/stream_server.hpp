// A real HTTP/1.1 + WebSocket server on 127.0.0.1 for the source tests: the
// network peer the X, Twitter v1.1, Mastodon and Jetstream sources talk to.
//
// Each accepted connection gets its own thread and is handed to the handler
// registered for its path; the handler writes whatever the scenario needs —
// chunked NDJSON with keep-alives, SSE, WebSocket frames, an error status,
// half a message followed by a dropped connection, or nothing at all (a
// stall). Every request is logged (method, target, headers, body, time) so
// tests can assert on what the client sent and when.
//
// Also here: an emulation of the X rules endpoints (GET/POST
// /2/tweets/search/stream/rules) holding a rule set tests can inspect.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace tlflow::test {

struct http_req {
  std::string method;
  std::string target;     // path?query as sent
  std::string path;
  std::string query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::chrono::steady_clock::time_point at;
  bool websocket = false;

  // Decoded value of a query parameter (first occurrence), "" if absent.
  std::string param(const std::string& name) const;
  std::vector<std::string> params(const std::string& name) const;
};

class stream_server;

// One accepted connection, for the handler's thread only.
class http_conn {
public:
  const http_req& req() const { return req_; }

  // Raw bytes; false when the peer is gone or the server stops.
  bool write(std::string_view bytes);
  // Status line + headers of a chunked response.
  bool begin_chunked(int status = 200, const std::string& content_type = "application/json");
  bool chunk(std::string_view data);
  bool end_chunked();
  // A complete response with Content-Length, then the connection closes.
  bool respond(int status, const std::string& body,
               const std::string& content_type = "application/json",
               const std::vector<std::string>& extra_headers = {});
  // Closes the connection abruptly (RST-like: no chunk terminator).
  void drop();

  // WebSocket (after the server accepted the upgrade): one text message.
  bool ws_send(std::string_view text);
  // The next message the client sent, waiting up to `timeout`; false on
  // timeout, close or stop. The first call starts reading the client's
  // messages for good (queued as they come, also during sleep()).
  bool ws_read(std::string& out, std::chrono::milliseconds timeout);
  // A ping frame (what real servers send to keep a quiet stream alive).
  bool ws_ping();
  // Clean WebSocket close.
  void ws_close();

  // Sleeps; false if the server stops or the client closed the connection.
  bool sleep(std::chrono::milliseconds d);
  bool peer_closed();
  bool stopping() const;

private:
  friend class stream_server;
  struct impl;
  http_conn(stream_server& s, http_req req, std::unique_ptr<impl> i);
  stream_server& server_;
  http_req req_;
  std::unique_ptr<impl> impl_;

public:
  ~http_conn();
};

class stream_server {
public:
  using handler = std::function<void(http_conn&)>;

  stream_server();   // listens on 127.0.0.1, an ephemeral port
  ~stream_server();
  stream_server(const stream_server&) = delete;
  stream_server& operator=(const stream_server&) = delete;

  // Handlers by method and exact path ("*" matches any method). For a
  // WebSocket upgrade the method is "WS". Unmatched: 404.
  void on(const std::string& method, const std::string& path, handler h);

  std::uint16_t port() const { return port_; }
  std::string http_url() const;   // http://127.0.0.1:PORT
  std::string ws_url() const;     // ws://127.0.0.1:PORT

  // Logged requests for a path ("" = all), in arrival order.
  std::vector<http_req> requests(const std::string& path = "") const;
  // Connections to `path` whose handler is still running (with a matching
  // query parameter tag=value when given).
  int active(const std::string& path, const std::string& tag = "") const;
  // Waits until `pred` holds (polling every 5 ms); false on timeout.
  static bool wait_until(const std::function<bool()>& pred,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  void stop();
  bool stopping() const { return stopping_.load(); }

private:
  friend class http_conn;
  void accept_loop();
  void serve(int fd);

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::map<std::string, handler> handlers_;  // "METHOD path"
  std::vector<http_req> log_;
  std::vector<std::thread> threads_;
  std::vector<int> fds_;
  std::map<std::string, int> active_;        // "path" and "path?tag=v"
};

// The X rules endpoints over a rule set held in memory.
class x_rules_emulator {
public:
  struct rule {
    std::string id, value, tag;
  };
  explicit x_rules_emulator(stream_server& s);
  void add(const std::string& value, const std::string& tag);  // pre-existing rule
  std::vector<rule> rules() const;
  // "value|tag" strings, sorted: easy to compare.
  std::vector<std::string> summary() const;
  int posts() const;

private:
  mutable std::mutex mutex_;
  std::vector<rule> rules_;
  std::uint64_t next_id_ = 1000;
  int posts_ = 0;
};

} // namespace tlflow::test
