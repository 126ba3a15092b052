// Pure pieces of the Gremlin Server protocol (TinkerPop's provider docs;
// Cosmos DB's Gremlin response headers):
// endpoint URLs, the mime-prefixed binary frame, SASL PLAIN, and how a
// response status (including Cosmos DB's x-ms-* attributes) maps to an
// outcome: done, retry (after how long, on which connection), or fail.
// No I/O here, so all of it is unit-tested without sockets.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tlflow/gremlin/graphson.hpp"
#include "tlflow/error.hpp"

namespace tlflow::gremlin {

struct endpoint {
  bool tls = false;
  std::string host;     // without brackets for IPv6
  std::string port;     // "8182"
  std::string path;     // "/gremlin"
};

// ws://host[:port][/path], wss://...; port defaults to 80 / 443, path to "/".
result<endpoint> parse_endpoint(std::string_view url);

// One request as a binary WebSocket payload: length byte, mime type, JSON.
std::string binary_frame(graphson::version v, std::string_view json);
// Splits a binary payload into mime type and JSON; nullopt when malformed.
struct split_frame { std::string mime; std::string_view body; };
std::optional<split_frame> parse_binary_frame(std::string_view payload);

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);
// RFC 4616 without authzid: base64("\0" user "\0" password).
std::string sasl_plain(std::string_view user, std::string_view password);

// .NET TimeSpan text "[d.]hh:mm:ss[.fffffff]" (x-ms-retry-after-ms).
std::optional<std::chrono::milliseconds> parse_timespan(std::string_view text);

// The longest wait a server's retry-after may ask for; larger is clamped.
inline constexpr std::chrono::milliseconds max_retry_after{std::chrono::hours(24)};

// What to do with a terminal (non-206) response status.
struct status_action {
  enum class what { done, retry, retry_new_connection, fail } act = what::done;
  errc code = errc::internal;             // when not done
  std::chrono::milliseconds retry_after{0}; // 0: use the client's backoff
  int effective_status = 0;               // x-ms-status-code when present, else code
};

// `idempotent`: whether the request may run twice (598 timeouts are
// retried only then). 407 is handled by the connection before this.
status_action classify(int code, const graphson::value& attributes, bool idempotent);

// Cosmos DB request charge of a response (x-ms-total-request-charge, else
// x-ms-request-charge), 0 when absent.
double request_charge(const graphson::value& attributes);

} // namespace tlflow::gremlin
