// tlflow/error.hpp — the one way expected failures travel through tlflow.
//
// Bad input, absent vertices, an unreachable store: these are values, not
// exceptions. Every fallible port method returns `result<T>`; the REST layer
// maps `errc` to an HTTP status and the stable snake_case code in exactly one
// place (src/api/). Tests assert on `errc`, never on message prose.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tlflow {

enum class errc {
  invalid_argument,   // 400: a parameter or body field is wrong
  invalid_id,         // 400: id empty, > 256 bytes, bad UTF-8, control chars
  malformed_json,     // 400: body is not JSON
  unauthorized,       // 401
  forbidden,          // 403
  vertex_not_found,   // 404
  edge_not_found,     // 404
  no_path,            // 404
  ticket_not_found,   // 404: unknown or expired undo ticket
  not_found,          // 404: unknown route
  method_not_allowed, // 405
  conflict,           // 409: e.g. undo of a vertex that was re-created
  limit_reached,      // 409: a bounded collection is full (e.g. tracked hashtags)
  payload_too_large,  // 413
  unsupported_media_type, // 415
  throttled,          // 429
  store_unavailable,  // 503: the store cannot be reached right now
  io_error,           // 500: the data directory failed us
  internal,           // 500: a bug
  request_timeout,    // 408: the client was too slow sending its request
  header_too_large,   // 431: request line + headers over the limit
  overloaded,         // 503: too many connections, or shutting down
  too_expensive,      // 422: the request would need more work than allowed
  not_supported,      // 501: this store cannot do it (e.g. a backup of a Gremlin store)
};

// Stable snake_case name of a code, as sent in `{"error":{"code":...}}`.
std::string_view to_string(errc code) noexcept;

struct error {
  errc code;
  std::string message; // for a person; never contains secrets
};

// A value or an error. Small on purpose: C++17 has no std::expected.
template <class T>
class [[nodiscard]] result {
public:
  result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  result(error err) : v_(std::move(err)) {}           // NOLINT
  result(errc code, std::string message) : v_(error{code, std::move(message)}) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const error& err() const& { assert(!ok()); return std::get<1>(v_); }
  error&& err() && { assert(!ok()); return std::get<1>(std::move(v_)); }

private:
  std::variant<T, error> v_;
};

// result<void>: success carries nothing.
struct ok_t {};
inline constexpr ok_t ok_v{};
using status = result<ok_t>;

} // namespace tlflow
