// libcurl behind a small interface (no curl types leak out of this file).
//
// `stream()` runs one long-lived HTTP request in the calling thread (curl
// multi interface, polled every 50 ms) and hands body bytes of a 2xx response
// to a callback; it returns when the server ends the response, the connection
// fails, no byte arrived for `stall_timeout`, the callback asks to stop, or
// `stop` becomes true. `call()` is a plain request/response with a timeout.
// Both are thread-safe (one curl handle per call). TLS certificates and host
// names are verified (libcurl defaults).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tlflow/error.hpp"

namespace tlflow {

struct http_request {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;   // "Name: value"
  std::string body;
  std::string user_agent;
  std::string ca_file;   // extra trusted CA certificates (PEM); the system's stay trusted
};

struct stream_result {
  enum class outcome {
    stopped,        // `stop` became true or the callback returned false
    network_error,  // no HTTP response: refused, reset, DNS, TLS, timeout
    http_error,     // a non-2xx status
    ended,          // the 2xx response ended (server closed or dropped it)
    stalled,        // no byte for stall_timeout
  };
  outcome what = outcome::ended;
  long status = 0;                // HTTP status when one was received
  std::string message;            // for a person; never contains secrets
  std::string body;               // start of the body of a non-2xx response
  std::string retry_after;        // Retry-After / x-rate-limit-reset if sent
  bool established = false;       // a 2xx body byte (or keep-alive) arrived
  std::chrono::steady_clock::duration lived{};  // from first body byte to end
};

struct stream_options {
  std::chrono::milliseconds stall_timeout{90000};
  std::chrono::milliseconds connect_timeout{10000};
};

// on_data returns false to end the stream (outcome stopped).
stream_result http_stream(const http_request& req, const stream_options& opts,
                          const std::atomic<bool>& stop,
                          const std::function<bool(std::string_view)>& on_data,
                          const std::function<void(long code)>& on_status = {});

struct http_response {
  long status = 0;
  std::string body;
};

// network errors as store_unavailable-like `io_error`; an HTTP status of any
// value is a successful call.
result<http_response> http_call(const http_request& req,
                                std::chrono::milliseconds timeout = std::chrono::milliseconds(15000));

std::string url_encode(std::string_view s);

} // namespace tlflow
