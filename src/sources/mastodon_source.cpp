#include "sources/mastodon_source.hpp"

#include <algorithm>
#include <deque>
#include <tuple>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "sources/framing.hpp"
#include "sources/http_client.hpp"
#include "sources/reconnect.hpp"
#include "sources/ws_connection.hpp"
#include "util/log.hpp"

namespace tlflow {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

// An upgrade refused with one of these is not "no WebSocket here": retry.
bool worth_retrying(int status) {
  return status == 401 || status == 403 || status == 429 || status >= 500;
}

} // namespace

mastodon_source::mastodon_source(source_context ctx, mastodon_options opts)
    : source_base("mastodon", std::move(ctx), default_stall_timeout), opts_(std::move(opts)) {
  while (!opts_.url.empty() && opts_.url.back() == '/') opts_.url.pop_back();
  host_ = host_of(opts_.url);
  std::string_view u(opts_.url);
  if (u.rfind("https://", 0) == 0 || u.rfind("wss://", 0) == 0) {
    ws_tls_ = true;
  } else if (u.rfind("http://", 0) == 0 || u.rfind("ws://", 0) == 0) {
    ws_tls_ = false;
  } else {
    ws_url_ok_ = false;
  }
  if (auto p = u.find("://"); p != std::string_view::npos) u.remove_prefix(p + 3);
  std::string_view authority = u.substr(0, u.find_first_of("/?#"));
  std::string_view base_path = u.substr(authority.size());
  base_path = base_path.substr(0, base_path.find_first_of("?#"));
  ws_path_ = std::string(base_path) + "/api/v1/streaming";
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::tie(ws_host_, ws_port_) = split_authority(authority, ws_tls_ ? "443" : "80");
  if (ws_host_.empty()) ws_url_ok_ = false;
}

mastodon_source::~mastodon_source() { stop(); }

std::string mastodon_source::host_of(const std::string& url) {
  std::string_view s(url);
  if (auto p = s.find("://"); p != std::string_view::npos) s.remove_prefix(p + 3);
  s = s.substr(0, s.find_first_of("/?#"));
  if (auto at = s.rfind('@'); at != std::string_view::npos) s.remove_prefix(at + 1);
  if (!s.empty() && s.front() == '[') {  // [::1]:port
    auto close = s.find(']');
    return std::string(s.substr(0, close == std::string_view::npos ? s.size() : close + 1));
  }
  return std::string(s.substr(0, s.find(':')));
}

std::string mastodon_source::subscription_message(bool subscribe, const std::string& tag) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("type");
  w.String(subscribe ? "subscribe" : "unsubscribe");
  w.Key("stream");
  w.String("hashtag");
  w.Key("tag");
  w.String(tag.data(), static_cast<rapidjson::SizeType>(tag.size()));
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

millis mastodon_source::ws_stall_timeout() const {
  return ctx_.stall_timeout > millis(0) ? ctx_.stall_timeout : websocket_stall_timeout;
}

void mastodon_source::start() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    started_ = true;
  }
  spawn([this] { ws_loop(); });
}

void mastodon_source::on_tracking_changed(const tracking_set& t) {
  bool sse;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tags_ = t.hashtags;
    ++tags_version_;  // the WebSocket loop sends the difference
    sse = started_ && fallback_.load();
  }
  if (sse) apply(t.hashtags);
}

void mastodon_source::apply(const std::vector<std::string>& all_tags) {
  std::vector<std::string> tags = all_tags;
  std::sort(tags.begin(), tags.end());
  if (tags.size() > opts_.max_sse_streams) {
    log::warn("source", name(), ": the SSE fallback follows at most ", opts_.max_sse_streams,
              " hashtags (one connection each); not following ", tags.size() - opts_.max_sse_streams,
              " of ", tags.size(), ", from #", tags[opts_.max_sse_streams]);
    tags.resize(opts_.max_sse_streams);
  }
  std::vector<std::unique_ptr<stream_worker>> retired;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping()) return;
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (std::find(tags.begin(), tags.end(), it->first) == tags.end()) {
        it->second->stop = true;
        retired.push_back(std::move(it->second));
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& tag : tags) {
      if (workers_.count(tag)) continue;
      auto w = std::make_unique<stream_worker>();
      w->tag = tag;
      stream_worker* raw = w.get();
      w->thread = std::thread([this, raw] { run(*raw); });
      workers_.emplace(tag, std::move(w));
      log::info("source", name(), ": opening the SSE stream for #", tag);
    }
  }
  for (auto& w : retired) {
    if (w->thread.joinable()) w->thread.join();
    log::info("source", name(), ": closed the SSE stream for #", w->tag);
  }
}

void mastodon_source::on_stop() {
  std::map<std::string, std::unique_ptr<stream_worker>> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    all.swap(workers_);
  }
  for (auto& [tag, w] : all) w->stop = true;
  for (auto& [tag, w] : all)
    if (w->thread.joinable()) w->thread.join();
}

std::vector<std::string> mastodon_source::open_streams() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [tag, w] : workers_) out.push_back(tag);
  return out;
}

std::vector<std::string> mastodon_source::subscriptions() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return subscribed_;
}

void mastodon_source::run(stream_worker& w) {
  backoff b(ctx_.backoff);
  bool first = true;
  stream_options so;
  so.stall_timeout = stall_timeout();
  so.connect_timeout = ctx_.connect_timeout;
  auto stopped = [&] { return w.stop.load() || stopping(); };
  while (!stopped()) {
    on_attempt(first);
    first = false;
    http_request req;
    req.url = opts_.url + "/api/v1/streaming/hashtag?tag=" + url_encode(w.tag);
    req.headers.push_back("Accept: text/event-stream");
    if (!opts_.token.empty()) req.headers.push_back("Authorization: Bearer " + opts_.token);
    req.user_agent = ctx_.user_agent;
    req.ca_file = ctx_.ca_file;

    sse_parser sse;
    bool connected = false, refused = false;
    stream_result r = http_stream(
        req, so, w.stop,
        [&](std::string_view bytes) {
          on_bytes(bytes.size());
          if (stopping()) return false;
          sse.feed(
              bytes,
              [&](std::string_view event, std::string_view data) {
                if (event != "update" || refused) return;
                if (!deliver(wire_format::mastodon, std::string(data), host_)) refused = true;
              },
              [](std::string_view) {});
          return !refused;
        },
        [&](long code) {
          if (code >= 200 && code < 300) {
            connected = true;
            on_connected();
          }
        });
    if (connected) on_disconnected();
    if (sse.pending() > 0)
      on_error("#" + w.tag + ": connection ended mid-event; incomplete event discarded");
    if (refused || stopped() || r.what == stream_result::outcome::stopped) break;
    if (r.what != stream_result::outcome::ended || !r.established)
      on_error("#" + w.tag + ": " + describe(r));
    millis delay = reconnect_delay(b, r);
    // Wait on the worker's own flag as well as the source's.
    auto deadline = std::chrono::steady_clock::now() + delay;
    record_delay(delay);
    while (!stopped() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          millis(20), deadline - std::chrono::steady_clock::now()));
  }
}


void mastodon_source::ws_loop() {
  if (!ws_url_ok_) {
    on_error("mastodon URL must be http[s]://host[:port][/path]: " + opts_.url);
    return;
  }
  backoff b(ctx_.backoff);
  bool first = true;
  const std::string host_header = ws_host_ + ":" + ws_port_;
  while (!stopping()) {
    on_attempt(first);
    first = false;
    ws_result res;
    {
      ws_connection conn(ws_tls_, ctx_.ca_file, stop_flag());
      if (!conn.ca_error().empty()) on_error(conn.ca_error());
      std::vector<ws_connection::header> headers{{beast::http::field::user_agent, ctx_.user_agent}};
      if (!opts_.token.empty())
        headers.emplace_back(beast::http::field::authorization, "Bearer " + opts_.token);
      // The session: the same code for the plain and the TLS stream.
      auto session = [&](auto& ws) {
        on_connected();
        res.established = true;
        const auto start = std::chrono::steady_clock::now();
        log::info("source", name(), ": WebSocket connected to ", host_header, ws_path_);
        auto last_frame = start;
        ws.control_callback([&](websocket::frame_type, beast::string_view) {
          last_frame = std::chrono::steady_clock::now();  // the server's pings count
        });
        ws.text(true);
        std::vector<std::string> subscribed;
        std::uint64_t seen_version = 0;
        bool synced = false;
        std::deque<std::string> outbox;
        std::string writing;
        beast::flat_buffer buffer;
        bool read_pending = false, read_done = false, write_pending = false, write_done = false;
        beast::error_code read_ec, write_ec;
        for (;;) {
          // Bring the subscriptions in line with the tracking (all of them
          // after a reconnect: the server forgets them with the connection).
          std::vector<std::string> desired;
          bool changed = false;
          {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!synced || tags_version_ != seen_version) {
              synced = true;
              seen_version = tags_version_;
              desired = tags_;
              changed = true;
            }
          }
          if (changed) {
            std::sort(desired.begin(), desired.end());
            desired.erase(std::unique(desired.begin(), desired.end()), desired.end());
            for (const auto& t : subscribed)
              if (!std::binary_search(desired.begin(), desired.end(), t))
                outbox.push_back(subscription_message(false, t));
            for (const auto& t : desired)
              if (!std::binary_search(subscribed.begin(), subscribed.end(), t))
                outbox.push_back(subscription_message(true, t));
            subscribed = desired;
            std::lock_guard<std::mutex> lock(mutex_);
            subscribed_ = subscribed;
          }
          if (!write_pending && !outbox.empty()) {
            writing = std::move(outbox.front());
            outbox.pop_front();
            write_pending = true;
            ws.async_write(net::buffer(writing), [&](beast::error_code e, std::size_t) {
              write_ec = e;
              write_done = true;
            });
          }
          if (!read_pending) {
            read_pending = true;
            ws.async_read(buffer, [&](beast::error_code e, std::size_t) {
              read_ec = e;
              read_done = true;
            });
          }
          if (stopping()) {
            res.what = ws_result::kind::stopped;
            break;
          }
          if (std::chrono::steady_clock::now() - last_frame >= ws_stall_timeout()) {
            res.what = ws_result::kind::dropped;
            res.message = "no frame for " + std::to_string(ws_stall_timeout().count()) + " ms";
            break;
          }
          conn.run_for(std::chrono::milliseconds(50));
          if (write_done) {
            write_pending = write_done = false;
            if (write_ec) {
              res.what = ws_result::kind::dropped;
              res.message = "write: " + write_ec.message();
              break;
            }
          }
          if (read_done) {
            read_pending = read_done = false;
            if (read_ec) {
              res.what = ws_result::kind::dropped;
              res.message = read_ec == websocket::error::closed ? "server closed the WebSocket"
                                                                : "read: " + read_ec.message();
              break;
            }
            last_frame = std::chrono::steady_clock::now();
            std::string msg = beast::buffers_to_string(buffer.data());
            buffer.consume(buffer.size());
            on_bytes(msg.size());
            if (!deliver(wire_format::mastodon, std::move(msg), host_)) {
              res.what = ws_result::kind::stopped;
              break;
            }
          }
        }
        // Whatever is still pending must run before the locals go.
        conn.close();
        while ((read_pending && !read_done) || (write_pending && !write_done))
          if (conn.run_for(std::chrono::milliseconds(20)) == 0 && conn.idle()) break;
        res.lived = std::chrono::steady_clock::now() - start;
        on_disconnected();
      };
      if (conn.open(ws_host_, ws_port_, ws_path_, headers, ctx_.connect_timeout, res))
        conn.visit(session);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      subscribed_.clear();
    }
    if (res.what == ws_result::kind::stopped || stopping()) break;
    if (res.what == ws_result::kind::http && !worth_retrying(res.http_status)) {
      log::warn("source", name(), ": ", res.message, "; falling back to Server-Sent Events, one stream per hashtag (at most ",
                opts_.max_sse_streams, ")");
      std::vector<std::string> tags;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        fallback_ = true;
        tags = tags_;
      }
      apply(tags);
      return;
    }
    on_error(res.message);
    millis delay = reconnect_delay(b, res);
    if (!wait_backoff(delay)) break;
  }
}

} // namespace tlflow
