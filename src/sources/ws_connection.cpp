#include "sources/ws_connection.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace tlflow {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

millis reconnect_delay(backoff& b, const ws_result& r) {
  switch (r.what) {
    case ws_result::kind::dropped:
      return (r.established && r.lived >= b.policy().min_established)
                 ? b.next(failure_kind::dropped)
                 : b.next(failure_kind::network);
    case ws_result::kind::http:
      return b.next(r.http_status == 429 ? failure_kind::throttled : failure_kind::http);
    default:
      return b.next(failure_kind::network);
  }
}

std::pair<std::string, std::string> split_authority(std::string_view authority,
                                                    const std::string& default_port) {
  std::string host, port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    host = std::string(authority.substr(1, close == std::string_view::npos ? 0 : close - 1));
    auto colon = authority.find(':', close == std::string_view::npos ? 0 : close);
    port = colon == std::string_view::npos ? "" : std::string(authority.substr(colon + 1));
  } else {
    auto colon = authority.find(':');
    host = std::string(authority.substr(0, colon));
    port = colon == std::string_view::npos ? "" : std::string(authority.substr(colon + 1));
  }
  if (port.empty()) port = default_port;
  return {std::move(host), std::move(port)};
}

ws_connection::ws_connection(bool tls, const std::string& ca_file, const std::atomic<bool>& stop)
    : tls_(tls), stop_(stop), tls_ctx_(ssl::context::tls_client) {
  tls_ctx_.set_default_verify_paths();
  if (!ca_file.empty()) {
    beast::error_code ec;
    tls_ctx_.load_verify_file(ca_file, ec);
    if (ec) ca_error_ = "cannot load CA file " + ca_file + ": " + ec.message();
  }
  tls_ctx_.set_verify_mode(ssl::verify_peer);
  if (tls_)
    tws_.emplace(ioc_, tls_ctx_);
  else
    pws_.emplace(ioc_);
}

ws_connection::~ws_connection() {
  close();
}

beast::tcp_stream& ws_connection::lowest() {
  return tls_ ? beast::get_lowest_layer(*tws_) : beast::get_lowest_layer(*pws_);
}

void ws_connection::close() {
  beast::error_code ignored;
  lowest().socket().close(ignored);
}

// Waits for one opening step; on a timeout or a stop fills `r`.
bool ws_connection::step(const bool& done, millis timeout, const std::function<void()>& cancel,
                         const char* what, ws_result& r) {
  bool timed_out = false;
  if (await(done, clock::now() + timeout, cancel, timed_out)) return true;
  r.what = stop_.load() ? ws_result::kind::stopped : ws_result::kind::network;
  r.message = std::string(what) + " timed out";
  return false;
}

bool ws_connection::open(const std::string& host, const std::string& port,
                         const std::string& target, const std::vector<header>& headers,
                         millis step_timeout, ws_result& r) {
  bool done = false;
  beast::error_code ec;
  const auto close_socket = [this] { close(); };
  const std::string host_header = host + ":" + port;

  tcp::resolver resolver(ioc_);
  tcp::resolver::results_type endpoints;
  resolver.async_resolve(host, port, [&](beast::error_code e, tcp::resolver::results_type res) {
    ec = e;
    endpoints = std::move(res);
    done = true;
  });
  if (!step(
          done, step_timeout, [&] { resolver.cancel(); }, "resolve", r))
    return false;
  if (ec) {
    r.message = "resolve " + host + ": " + ec.message();
    return false;
  }

  done = false;
  lowest().async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
    ec = e;
    done = true;
  });
  if (!step(done, step_timeout, close_socket, "connect", r)) return false;
  if (ec) {
    r.message = "connect " + host_header + ": " + ec.message();
    return false;
  }

  if (tls_) {
    auto& ssl_stream = tws_->next_layer();
    if (!SSL_set_tlsext_host_name(ssl_stream.native_handle(), host.c_str())) {
      r.message = "cannot set SNI host name";
      return false;
    }
    ssl_stream.set_verify_callback(ssl::host_name_verification(host));
    done = false;
    ssl_stream.async_handshake(ssl::stream_base::client, [&](beast::error_code e) {
      ec = e;
      done = true;
    });
    if (!step(done, step_timeout, close_socket, "TLS handshake", r)) return false;
    if (ec) {
      r.message = "TLS handshake: " + ec.message();
      return false;
    }
  }

  websocket::response_type upgrade;
  done = false;
  visit([&](auto& ws) {
    ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
      for (const auto& [field, value] : headers) req.set(field, value);
    }));
    ws.read_message_max(16u << 20);
    ws.async_handshake(upgrade, host_header, target, [&](beast::error_code e) {
      ec = e;
      done = true;
    });
  });
  if (!step(done, step_timeout, close_socket, "WebSocket handshake", r)) return false;
  if (ec) {
    if (ec == websocket::error::upgrade_declined) {
      r.what = ws_result::kind::http;
      r.http_status = static_cast<int>(upgrade.result_int());
      r.message = "HTTP " + std::to_string(r.http_status) + " on the WebSocket upgrade";
    } else {
      r.message = "WebSocket handshake: " + ec.message();
    }
    return false;
  }
  return true;
}

}  // namespace tlflow
