// api/router.hpp — the transport-independent half of the REST layer: a
// request/response pair, the one exception type handlers throw for expected
// failures, and a router that matches path templates.
//
// Handlers are thin: parse the request, call a domain function, serialize.
// They never talk to the transport; src/api/server.cpp turns an HTTP request
// into an api::request, runs the handler and maps every exception to an HTTP
// status in exactly one place.
//
// Adding routes (e.g. from src/api/tracking_routes.cpp):
//
//   r.add_route("GET", "/tracking/hashtags/{tag}", [&](const api::request& q) {
//     const std::string& tag = q.param("tag");       // already percent-decoded
//     return api::json_response(200, body);           // see api/json.hpp
//   }, {/*mutating=*/false});
//
// Templates are split on '/' and every segment is matched against the RAW
// (still percent-encoded) segment; parameters are percent-decoded after the
// split, so `%2F` in an id stays inside the id. A segment may hold several
// parameters separated by literal text (`{v1},{v2}`, for the legacy routes).
// A literal segment matches only the identical raw text, so an id that equals
// a literal (e.g. a vertex called `count`) is reachable by encoding one of its
// characters (`/vertices/%63ount`).
//
// Resolution: of all templates matching the path, the most specific one
// (literal beats parameter, segment by segment from the left) names the
// resource; if several routes share that template, the method picks one. A
// path matching no template is 404 `not_found`; a path whose resource has no
// route for the method is 405 `method_not_allowed` with an Allow header.
//
// Thread safety: add_route during start-up only; match() is const and may be
// called from any thread concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/auth.hpp"
#include "tlflow/error.hpp"

namespace tlflow::api {

// The one exception type handlers throw for expected failures; the server
// turns it into `{"error":{"code","message"}}` with the status of `code`.
class api_error : public std::runtime_error {
public:
  api_error(errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
  explicit api_error(tlflow::error e) : std::runtime_error(e.message), code_(e.code) {}
  errc code() const noexcept { return code_; }

private:
  errc code_;
};

// Value of a result or throws its error as an api_error.
template <class T>
T unwrap(result<T> r) {
  if (!r.ok()) throw api_error(std::move(r).err());
  return std::move(r).value();
}
inline void unwrap(const status& s) {
  if (!s.ok()) throw api_error(s.err());
}

// HTTP status of an error code (400, 401, 404, ...).
int http_status(errc code) noexcept;

using header_list = std::vector<std::pair<std::string, std::string>>;

struct request {
  std::string method;
  std::string path;                                  // raw, as sent
  std::vector<std::pair<std::string, std::string>> params; // decoded path parameters
  std::multimap<std::string, std::string> query;     // decoded (`+` is a space)
  std::string body;                                  // at most max_body_bytes
  std::string content_type;
  header_list headers;                               // names lower-case

  // The path parameter `name` (the template guarantees it exists).
  const std::string& param(std::string_view name) const;
  // Last value of query parameter `name`, if present.
  std::optional<std::string> query_value(std::string_view name) const;
  // Header value by lower-case name.
  std::optional<std::string> header(std::string_view lower_name) const;
};

// A response body produced piece by piece, sent with chunked transfer
// encoding (e.g. Server-Sent Events, `text/event-stream`). The server calls
// next() for the first piece once the headers are written, and again only
// after the previous piece was written to the socket (backpressure).
// `deliver` may be called from any thread, at most once per next();
// deliver(nullopt) ends the body. cancel() is called once when the client
// goes away (or the server stops) before the end; delivering after it is a
// harmless no-op. `deliver` holds no reference to the connection.
class body_producer {
public:
  using deliver_fn = std::function<void(std::optional<std::string>)>;
  virtual ~body_producer() = default;
  virtual void next(deliver_fn deliver) = 0;
  virtual void cancel() {}
  // Asked when the body ends: true closes the connection without the last
  // chunk, so that the client sees a truncated body rather than a complete
  // one (the status line went out long ago).
  virtual bool failed() const { return false; }
};

// The server's half of an accepted WebSocket: thread-safe, callable from
// any thread. send() queues a text message (false once closed, or when more
// than 1024 messages are waiting: a client that does not read is closed).
class websocket_connection {
public:
  virtual ~websocket_connection() = default;
  virtual bool send(std::string text) = 0;
  virtual void close() = 0;
};

// What a route does with a WebSocket it accepted. Calls come from the
// connection's strand, one at a time: on_open, on_message*, on_close.
class websocket_handler {
public:
  virtual ~websocket_handler() = default;
  virtual void on_open(std::shared_ptr<websocket_connection> connection) = 0;
  virtual void on_message(std::string text) = 0;
  virtual void on_close() = 0;
};

struct response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json; charset=utf-8";
  header_list headers;
  // Set: the body is streamed from here instead (`body` is ignored).
  std::shared_ptr<body_producer> stream;
  // Set: the request must be a WebSocket upgrade (else 400), which is
  // accepted and handed to this handler (`status`, `body` are ignored).
  std::shared_ptr<websocket_handler> websocket;
};

using handler = std::function<response(const request&)>;

struct route_options {
  bool mutating = false;  // changes state: runs on the server's write pool
  // What the caller must be granted (api/auth.hpp): reads `read`, changes to
  // the graph `write`, changes to what is tracked `admin`, health `open`.
  access needed = access::read;
  bool heavy = false;     // may take long: runs on the server's worker pool
  // Heavy routes: a bounded first attempt, run where cheap routes run (the
  // I/O thread); nullopt hands the request to the handler on the worker
  // pool. For requests that are usually cheap, where the two thread hops
  // cost more than the work. Must never block on the network.
  std::function<std::optional<response>(const request&)> quick = nullptr;
};

struct route {
  std::string method;
  std::string path_template;
  handler fn;
  route_options options;
  std::size_t index = 0;  // position in the table (for per-route metrics)
};

struct match_result {
  enum class kind { found, not_found, method_not_allowed, bad_path };
  kind outcome = kind::not_found;
  const route* matched = nullptr;
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<std::string> allow;  // for method_not_allowed
  std::string message;             // for bad_path (e.g. bad percent-encoding)
};

class router {
public:
  // Throws std::invalid_argument on a malformed template or a duplicate
  // (method, template): both are programming errors found at start-up.
  void add_route(std::string method, std::string path_template, handler fn,
                 route_options options = {});

  // `path` is the raw path without the query string.
  match_result match(std::string_view method, std::string_view path) const;

  const std::vector<route>& routes() const noexcept { return routes_; }

private:
  struct piece {
    bool is_param = false;
    std::string text;  // literal text or parameter name
  };
  struct segment {
    std::vector<piece> pieces;
    bool literal() const { return pieces.size() == 1 && !pieces[0].is_param; }
  };
  struct compiled {
    std::vector<segment> segments;
    std::size_t route_index = 0;
  };
  static bool match_segment(const segment& s, std::string_view raw,
                            std::vector<std::pair<std::string, std::string>>& out);

  std::vector<route> routes_;
  std::vector<compiled> compiled_;
};

// Strict percent-decoding: `%` must be followed by two hex digits. With
// `plus_is_space` (query strings), `+` decodes to a space. nullopt if bad.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);
// Escapes every byte but the unreserved ones (RFC 3986 §2.3): a query value.
std::string percent_encode(std::string_view text);

// Parses `a=1&b=x%20y` into decoded pairs. invalid_argument on a bad escape.
result<std::multimap<std::string, std::string>> parse_query(std::string_view query);

// Splits a raw path on '/', dropping the leading empty segment.
std::vector<std::string_view> split_path(std::string_view path);

} // namespace tlflow::api
