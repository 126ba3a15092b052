// One client WebSocket connection, plain (ws://) or TLS (wss://), for the
// sources that stream over WebSocket (Jetstream, Mastodon). It owns the
// io_context the caller drives from its own thread: every step (resolve,
// connect, TLS handshake, upgrade) is bounded by a deadline and the source's
// stop flag, and what the session does once open stays in the source.
// Not thread-safe: one thread opens, reads, writes and closes.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "sources/backoff.hpp"

namespace tlflow {

// Why one WebSocket session ended.
struct ws_result {
  enum class kind { stopped, network, http, dropped } what = kind::network;
  int http_status = 0;  // with kind::http: the status that declined the upgrade
  bool established = false;
  std::chrono::steady_clock::duration lived{};
  std::string message;
};

// The backoff delay after a session ended with `r` (not kind::stopped).
millis reconnect_delay(backoff& b, const ws_result& r);

// Host and port of a URL authority ("host", "host:port", "[v6]:port");
// `default_port` when it names none. The host comes back empty when absent.
std::pair<std::string, std::string> split_authority(std::string_view authority,
                                                    const std::string& default_port);

class ws_connection {
 public:
  using clock = std::chrono::steady_clock;
  using header = std::pair<boost::beast::http::field, std::string>;

  // The TLS context trusts the system CAs and, when not empty, `ca_file`;
  // a CA file that cannot be loaded is reported by ca_error(), not fatal.
  ws_connection(bool tls, const std::string& ca_file, const std::atomic<bool>& stop);
  ~ws_connection();

  const std::string& ca_error() const noexcept { return ca_error_; }

  // Resolves, connects, does the TLS handshake (SNI, host name verified)
  // and the upgrade to `target` with `headers`, each step within
  // `step_timeout`. False with `r` filled (what, http_status, message) on
  // failure; kind::stopped when the stop flag ended it.
  bool open(const std::string& host, const std::string& port, const std::string& target,
            const std::vector<header>& headers, millis step_timeout, ws_result& r);

  // Runs the io_context in slices until `done`, the stop flag or
  // `deadline`; then calls `cancel` and runs until the pending handler ran
  // (nothing may outlive the locals it refers to). True when done;
  // `timed_out` tells a deadline from a stop.
  template <class Cancel>
  bool await(const bool& done, clock::time_point deadline, Cancel&& cancel, bool& timed_out) {
    timed_out = false;
    while (!done) {
      if (stop_.load() || clock::now() >= deadline) {
        timed_out = !stop_.load();
        cancel();
        while (!done)
          if (run_for(std::chrono::milliseconds(20)) == 0 && idle() && !done) break;
        return false;
      }
      run_for(std::chrono::milliseconds(50));
    }
    return true;
  }

  // One slice of the io_context, for callers that drive several
  // operations; how many handlers ran.
  std::size_t run_for(std::chrono::milliseconds slice) {
    if (ioc_.stopped()) ioc_.restart();
    return ioc_.run_for(slice);
  }
  // True when the io_context ran out of work.
  bool idle() const { return ioc_.stopped(); }

  // Calls `f` with the WebSocket stream, plain or TLS.
  template <class F>
  decltype(auto) visit(F&& f) {
    return tls_ ? f(*tws_) : f(*pws_);
  }

  // Closes the socket: pending operations complete with an error.
  void close();

 private:
  using plain_ws = boost::beast::websocket::stream<boost::beast::tcp_stream>;
  using tls_ws =
      boost::beast::websocket::stream<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

  boost::beast::tcp_stream& lowest();
  bool step(const bool& done, millis timeout, const std::function<void()>& cancel, const char* what,
            ws_result& r);

  bool tls_;
  const std::atomic<bool>& stop_;
  std::string ca_error_;
  boost::asio::io_context ioc_;
  boost::asio::ssl::context tls_ctx_;
  std::optional<plain_ws> pws_;
  std::optional<tls_ws> tws_;
};

}  // namespace tlflow
