#include "sources/jetstream_source.hpp"

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <tuple>

#include "sources/ws_connection.hpp"
#include "util/log.hpp"

namespace tlflow {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

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
  std::tie(host_, port_) = split_authority(authority, tls_ ? "443" : "80");
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

    ws_result res;
    {
      ws_connection conn(tls_, ctx_.ca_file, stop_flag());
      if (!conn.ca_error().empty()) on_error(conn.ca_error());
      if (conn.open(host_, port_, target, {{beast::http::field::user_agent, ctx_.user_agent}},
                    ctx_.connect_timeout, res)) {
        // connected: read events
        on_connected();
        log::info("source", name(), ": connected to ", host_ + ":" + port_,
                  resume ? " resuming at cursor " + std::to_string(resume) : std::string());
        auto start = std::chrono::steady_clock::now();
        res.established = true;
        beast::flat_buffer buffer;
        bool done = false, timed_out = false;
        beast::error_code ec;
        for (;;) {
          done = false;
          conn.visit([&](auto& ws) {
            ws.async_read(buffer, [&](beast::error_code e, std::size_t) {
              ec = e;
              done = true;
            });
          });
          auto deadline = std::chrono::steady_clock::now() + stall_timeout();
          if (!conn.await(done, deadline, [&] { conn.close(); }, timed_out)) {
            res.what = stopping() ? ws_result::kind::stopped : ws_result::kind::dropped;
            res.message = timed_out ? "no event for " + std::to_string(stall_timeout().count()) + " ms"
                                    : "stopped";
            break;
          }
          if (ec) {
            res.what = ws_result::kind::dropped;
            res.message = ec == websocket::error::closed ? "server closed the WebSocket"
                                                         : "read: " + ec.message();
            break;
          }
          std::string msg = beast::buffers_to_string(buffer.data());
          buffer.consume(buffer.size());
          on_bytes(msg.size());
          std::int64_t t = time_us_of(msg);
          if (!deliver(wire_format::jetstream, std::move(msg))) {
            conn.close();
            res.what = ws_result::kind::stopped;
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
      }
    }
    save_cursor();
    if (res.what == ws_result::kind::stopped || stopping()) break;
    on_error(res.message);
    millis delay = reconnect_delay(b, res);
    if (!wait_backoff(delay)) break;
  }
  save_cursor();
}

} // namespace tlflow
