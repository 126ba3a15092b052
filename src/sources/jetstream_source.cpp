#include "sources/jetstream_source.hpp"

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "util/log.hpp"

namespace tlflow {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

// Why one connection ended.
struct conn_result {
  enum class kind { stopped, network, http, dropped } what = kind::network;
  int http_status = 0;
  bool established = false;
  std::chrono::steady_clock::duration lived{};
  std::string message;
};

// Drives `ioc` until `done`, the stop flag, or `deadline`. On stop or
// deadline calls `cancel` and runs the io_context until the pending
// handler has run (so nothing refers to dead locals). True when done.
template <class Cancel>
bool await(net::io_context& ioc, const bool& done, const std::atomic<bool>& stop,
           std::chrono::steady_clock::time_point deadline, Cancel&& cancel, bool& timed_out) {
  timed_out = false;
  while (!done) {
    if (stop.load() || std::chrono::steady_clock::now() >= deadline) {
      timed_out = !stop.load();
      cancel();
      while (!done) {
        if (ioc.stopped()) ioc.restart();
        if (ioc.run_for(std::chrono::milliseconds(20)) == 0 && ioc.stopped() && !done) break;
      }
      return false;
    }
    if (ioc.stopped()) ioc.restart();
    ioc.run_for(std::chrono::milliseconds(50));
  }
  return true;
}

} // namespace

jetstream_source::jetstream_source(source_context ctx, jetstream_options opts)
    : source_base("jetstream", std::move(ctx), default_stall_timeout), opts_(std::move(opts)) {
  std::string_view u(opts_.url);
  if (u.rfind("wss://", 0) == 0) {
    tls_ = true;
    u.remove_prefix(6);
  } else if (u.rfind("ws://", 0) == 0) {
    tls_ = false;
    u.remove_prefix(5);
  } else {
    url_ok_ = false;
  }
  std::string_view authority = u.substr(0, u.find_first_of("/?"));
  std::string_view rest = u.substr(authority.size());
  path_ = rest.empty() ? "/" : std::string(rest);
  if (!path_.empty() && path_.front() == '?') path_ = "/" + path_;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    host_ = std::string(authority.substr(1, close == std::string_view::npos ? 0 : close - 1));
    auto colon = authority.find(':', close == std::string_view::npos ? 0 : close);
    port_ = colon == std::string_view::npos ? "" : std::string(authority.substr(colon + 1));
  } else {
    auto colon = authority.find(':');
    host_ = std::string(authority.substr(0, colon));
    port_ = colon == std::string_view::npos ? "" : std::string(authority.substr(colon + 1));
  }
  if (port_.empty()) port_ = tls_ ? "443" : "80";
  if (host_.empty()) url_ok_ = false;
}

jetstream_source::~jetstream_source() { stop(); }

std::string jetstream_source::cursor_file() const {
  return ctx_.data_dir.empty() ? std::string() : ctx_.data_dir + "/jetstream.cursor";
}

std::int64_t jetstream_source::time_us_of(std::string_view event) {
  static constexpr std::string_view key = "\"time_us\"";
  std::size_t p = event.find(key);
  if (p == std::string_view::npos) return 0;
  p += key.size();
  while (p < event.size() && (event[p] == ' ' || event[p] == ':' || event[p] == '\t')) ++p;
  std::int64_t v = 0;
  std::size_t digits = 0;
  while (p < event.size() && event[p] >= '0' && event[p] <= '9' && digits < 18) {
    v = v * 10 + (event[p] - '0');
    ++p;
    ++digits;
  }
  return v;
}

std::string jetstream_source::target_for(std::int64_t resume_cursor) const {
  std::string t = path_;
  t += (t.find('?') == std::string::npos) ? '?' : '&';
  t += "wantedCollections=app.bsky.feed.post&wantedCollections=app.bsky.feed.repost";
  if (resume_cursor > 0) t += "&cursor=" + std::to_string(resume_cursor);
  return t;
}

void jetstream_source::save_cursor() {
  std::int64_t c = cursor_.load();
  const std::string path = cursor_file();
  if (path.empty() || c == 0 || c == saved_cursor_) return;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << c << '\n';
    if (!out) {
      on_error("cannot write " + tmp);
      return;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    on_error("cannot rename " + tmp);
    return;
  }
  saved_cursor_ = c;
}

void jetstream_source::start() {
  if (!cursor_file().empty()) {
    std::ifstream in(cursor_file());
    long long c = 0;
    if (in >> c && c > 0) {
      cursor_ = c;
      saved_cursor_ = c;
      log::info("source", name(), ": resuming from the saved cursor ", c);
    }
  }
  spawn([this] { loop(); });
}

void jetstream_source::loop() {
  if (!url_ok_) {
    on_error("jetstream URL must be ws://host[:port]/path or wss://...: " + opts_.url);
    return;
  }
  backoff b(ctx_.backoff);
  bool first = true;
  auto last_save = std::chrono::steady_clock::now();
  const auto rewind_us = static_cast<std::int64_t>(opts_.rewind.count()) * 1000;

  while (!stopping()) {
    on_attempt(first);
    first = false;
    std::int64_t c = cursor_.load();
    std::int64_t resume = c > rewind_us ? c - rewind_us : 0;
    const std::string target = target_for(resume);

    conn_result res;
    {
      net::io_context ioc;
      ssl::context tls_ctx(ssl::context::tls_client);
      tls_ctx.set_default_verify_paths();
      if (!ctx_.ca_file.empty()) {
        beast::error_code ec;
        tls_ctx.load_verify_file(ctx_.ca_file, ec);
        if (ec) on_error("cannot load CA file " + ctx_.ca_file + ": " + ec.message());
      }
      tls_ctx.set_verify_mode(ssl::verify_peer);
      using plain_ws = websocket::stream<beast::tcp_stream>;
      using tls_ws = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
      std::optional<plain_ws> pws;
      std::optional<tls_ws> tws;
      if (tls_) tws.emplace(ioc, tls_ctx);
      else pws.emplace(ioc);
      auto& lowest = tls_ ? beast::get_lowest_layer(*tws) : beast::get_lowest_layer(*pws);
      auto close_socket = [&] {
        beast::error_code ignored;
        lowest.socket().close(ignored);
      };

      auto step_deadline = [&] { return std::chrono::steady_clock::now() + ctx_.connect_timeout; };
      bool done = false, timed_out = false;
      beast::error_code ec;

      // resolve + connect
      tcp::resolver resolver(ioc);
      tcp::resolver::results_type endpoints;
      resolver.async_resolve(host_, port_, [&](beast::error_code e, tcp::resolver::results_type r) {
        ec = e;
        endpoints = std::move(r);
        done = true;
      });
      if (!await(ioc, done, stop_flag(), step_deadline(), [&] { resolver.cancel(); }, timed_out)) {
        res.what = stopping() ? conn_result::kind::stopped : conn_result::kind::network;
        res.message = "resolve timed out";
      } else if (ec) {
        res.message = "resolve " + host_ + ": " + ec.message();
      } else {
        done = false;
        lowest.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
          ec = e;
          done = true;
        });
        if (!await(ioc, done, stop_flag(), step_deadline(), close_socket, timed_out)) {
          res.what = stopping() ? conn_result::kind::stopped : conn_result::kind::network;
          res.message = "connect timed out";
        } else if (ec) {
          res.message = "connect " + host_ + ":" + port_ + ": " + ec.message();
        } else {
          bool ok = true;
          if (tls_) {
            auto& ssl_stream = tws->next_layer();
            if (!SSL_set_tlsext_host_name(ssl_stream.native_handle(), host_.c_str())) {
              ok = false;
              res.message = "cannot set SNI host name";
            } else {
              ssl_stream.set_verify_callback(ssl::host_name_verification(host_));
              done = false;
              ssl_stream.async_handshake(ssl::stream_base::client, [&](beast::error_code e) {
                ec = e;
                done = true;
              });
              if (!await(ioc, done, stop_flag(), step_deadline(), close_socket, timed_out)) {
                ok = false;
                res.what = stopping() ? conn_result::kind::stopped : conn_result::kind::network;
                res.message = "TLS handshake timed out";
              } else if (ec) {
                ok = false;
                res.message = "TLS handshake: " + ec.message();
              }
            }
          }
          if (ok) {
            websocket::response_type upgrade;
            done = false;
            auto on_handshake = [&](beast::error_code e) {
              ec = e;
              done = true;
            };
            auto decorate = [ua = ctx_.user_agent](websocket::request_type& req) {
              req.set(beast::http::field::user_agent, ua);
            };
            const std::string host_header = host_ + ":" + port_;
            if (tls_) {
              tws->set_option(websocket::stream_base::decorator(decorate));
              tws->read_message_max(16u << 20);
              tws->async_handshake(upgrade, host_header, target, on_handshake);
            } else {
              pws->set_option(websocket::stream_base::decorator(decorate));
              pws->read_message_max(16u << 20);
              pws->async_handshake(upgrade, host_header, target, on_handshake);
            }
            if (!await(ioc, done, stop_flag(), step_deadline(), close_socket, timed_out)) {
              res.what = stopping() ? conn_result::kind::stopped : conn_result::kind::network;
              res.message = "WebSocket handshake timed out";
            } else if (ec) {
              if (ec == websocket::error::upgrade_declined) {
                res.what = conn_result::kind::http;
                res.http_status = static_cast<int>(upgrade.result_int());
                res.message = "HTTP " + std::to_string(res.http_status) + " on the WebSocket upgrade";
              } else {
                res.message = "WebSocket handshake: " + ec.message();
              }
            } else {
              // connected: read events
              on_connected();
              log::info("source", name(), ": connected to ", host_header,
                        resume ? " resuming at cursor " + std::to_string(resume) : std::string());
              auto start = std::chrono::steady_clock::now();
              res.established = true;
              beast::flat_buffer buffer;
              bool refused = false;
              for (;;) {
                done = false;
                auto on_read = [&](beast::error_code e, std::size_t) {
                  ec = e;
                  done = true;
                };
                if (tls_) tws->async_read(buffer, on_read);
                else pws->async_read(buffer, on_read);
                auto deadline = std::chrono::steady_clock::now() + stall_timeout();
                if (!await(ioc, done, stop_flag(), deadline, close_socket, timed_out)) {
                  res.what = stopping() ? conn_result::kind::stopped : conn_result::kind::dropped;
                  res.message = timed_out ? "no event for " + std::to_string(stall_timeout().count()) + " ms"
                                          : "stopped";
                  break;
                }
                if (ec) {
                  res.what = conn_result::kind::dropped;
                  res.message = ec == websocket::error::closed ? "server closed the WebSocket"
                                                               : "read: " + ec.message();
                  break;
                }
                std::string msg = beast::buffers_to_string(buffer.data());
                buffer.consume(buffer.size());
                on_bytes(msg.size());
                std::int64_t t = time_us_of(msg);
                if (!deliver(wire_format::jetstream, std::move(msg))) {
                  refused = true;
                  close_socket();
                  res.what = conn_result::kind::stopped;
                  break;
                }
                // Advance only after the event is handed over: the saved
                // cursor never runs ahead of what the pipeline holds.
                if (t > cursor_.load()) cursor_ = t;
                if (std::chrono::steady_clock::now() - last_save >= opts_.cursor_save_interval) {
                  save_cursor();
                  last_save = std::chrono::steady_clock::now();
                }
              }
              res.lived = std::chrono::steady_clock::now() - start;
              on_disconnected();
              (void)refused;
            }
          }
        }
      }
      close_socket();
    }
    save_cursor();
    if (res.what == conn_result::kind::stopped || stopping()) break;
    on_error(res.message);
    millis delay;
    switch (res.what) {
      case conn_result::kind::dropped:
        delay = (res.established && res.lived >= b.policy().min_established)
                    ? b.next(failure_kind::dropped)
                    : b.next(failure_kind::network);
        break;
      case conn_result::kind::http:
        delay = b.next(res.http_status == 429 ? failure_kind::throttled : failure_kind::http);
        break;
      default:
        delay = b.next(failure_kind::network);
    }
    if (!wait_backoff(delay)) break;
  }
  save_cursor();
}

} // namespace tlflow
