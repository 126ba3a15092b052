#include "sources/mastodon_source.hpp"

#include <algorithm>

#include "sources/framing.hpp"
#include "sources/http_client.hpp"
#include "sources/reconnect.hpp"
#include "util/log.hpp"

namespace tlflow {

mastodon_source::mastodon_source(source_context ctx, mastodon_options opts)
    : source_base("mastodon", std::move(ctx), default_stall_timeout), opts_(std::move(opts)) {
  while (!opts_.url.empty() && opts_.url.back() == '/') opts_.url.pop_back();
  host_ = host_of(opts_.url);
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

void mastodon_source::start() {
  std::vector<std::string> tags;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    started_ = true;
    tags = tags_;
  }
  apply(tags);
}

void mastodon_source::on_tracking_changed(const tracking_set& t) {
  bool started;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tags_ = t.hashtags;
    started = started_;
  }
  if (started) apply(t.hashtags);
}

void mastodon_source::apply(const std::vector<std::string>& tags) {
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
      log::info("source", name(), ": opening the stream for #", tag);
    }
  }
  for (auto& w : retired) {
    if (w->thread.joinable()) w->thread.join();
    log::info("source", name(), ": closed the stream for #", w->tag);
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

} // namespace tlflow
