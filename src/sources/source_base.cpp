#include "sources/source_base.hpp"

#include "sources/framing.hpp"
#include "tlflow/model.hpp"
#include "util/log.hpp"

namespace tlflow {

source_base::source_base(std::string name, source_context ctx, millis default_stall_timeout)
    : ctx_(std::move(ctx)),
      name_(std::move(name)),
      stall_timeout_(ctx_.stall_timeout > millis(0) ? ctx_.stall_timeout : default_stall_timeout) {
  state_.name = name_;
  if (ctx_.metrics) {
    metric_labels l{{"source", name_}};
    auto& m = *ctx_.metrics;
    m_messages_ = &m.counter("tlflow_source_messages_total", "Raw messages delivered by a source", l);
    m_bytes_ = &m.counter("tlflow_source_bytes_total", "Payload bytes received by a source", l);
    m_reconnects_ = &m.counter("tlflow_source_reconnects_total",
                               "Connection attempts after the first", l);
    m_errors_ = &m.counter("tlflow_source_errors_total",
                           "Failed connection attempts, dropped connections and bad frames", l);
    m_connected_ = &m.gauge("tlflow_source_connected", "1 while the source has a stream open", l);
    m_last_message_ = &m.gauge("tlflow_source_last_message_timestamp_seconds",
                               "Unix time of the last message a source delivered", l);
  }
}

source_base::~source_base() {
  // Derived classes call stop() in their destructors; this is the backstop
  // for threads that only use base members.
  stop_ = true;
  std::lock_guard<std::mutex> lock(threads_mutex_);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void source_base::spawn(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(threads_mutex_);
  threads_.emplace_back(std::move(fn));
}

void source_base::stop() {
  if (stop_.exchange(true)) {
    // already stopping; still make sure the threads are joined
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
  on_stop();
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(threads_mutex_);
    threads.swap(threads_);
  }
  for (auto& t : threads)
    if (t.joinable()) t.join();
}

void source_base::wake() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

bool source_base::sleep_for(millis d) {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait_for(lock, d, [&] { return woken_ || stop_.load(); });
  woken_ = false;
  return !stop_.load();
}

void source_base::record_delay(millis d) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    delays_.push_back(d);
    if (delays_.size() > 256) delays_.pop_front();
    state_.last_delay_ms = static_cast<std::uint64_t>(d.count());
  }
  if (d.count() > 0) log::info("source", name_, ": reconnecting in ", d.count(), " ms");
}

bool source_base::wait_backoff(millis d) {
  record_delay(d);
  auto deadline = std::chrono::steady_clock::now() + d;
  std::unique_lock<std::mutex> lock(mutex_);
  // A tracking change wakes the source but does not shorten a backoff.
  cv_.wait_until(lock, deadline, [&] { return stop_.load(); });
  return !stop_.load();
}

std::vector<millis> source_base::delay_history() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {delays_.begin(), delays_.end()};
}

bool source_base::deliver(wire_format f, std::string bytes, std::string origin) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++state_.messages;
    state_.last_message_at = now_iso8601();
  }
  if (m_messages_) {
    m_messages_->inc();
    m_last_message_->set(static_cast<double>(
        std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::system_clock::now().time_since_epoch()).count()));
  }
  if (!ctx_.sink) return true;
  raw_message msg;
  msg.source = name_;
  msg.format = f;
  msg.bytes = std::move(bytes);
  msg.origin = std::move(origin);
  return ctx_.sink->push(std::move(msg));
}

void source_base::on_connected() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++connected_streams_;
  ++state_.connections;
  state_.connected = true;
  if (m_connected_) m_connected_->set(1);
}

void source_base::on_disconnected() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (connected_streams_ > 0) --connected_streams_;
  state_.connected = connected_streams_ > 0;
  if (m_connected_) m_connected_->set(state_.connected ? 1 : 0);
}

void source_base::on_attempt(bool first) {
  if (first) return;
  std::lock_guard<std::mutex> lock(mutex_);
  ++state_.reconnects;
  if (m_reconnects_) m_reconnects_->inc();
}

void source_base::on_error(const std::string& what) {
  log::warn("source", name_, ": ", what);
  std::lock_guard<std::mutex> lock(mutex_);
  ++state_.errors;
  state_.last_error = what;
  if (m_errors_) m_errors_->inc();
}

void source_base::on_bytes(std::size_t n) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_.bytes += n;
  }
  if (m_bytes_) m_bytes_->inc(n);
}

void source_base::set_finished() {
  std::lock_guard<std::mutex> lock(mutex_);
  state_.finished = true;
  state_.connected = false;
}

source_state source_base::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_;
}

stream_result source_base::stream_ndjson(const http_request& req, const stream_options& so,
                                         const std::atomic<bool>& abort, wire_format f,
                                         bool& refused) {
  line_splitter lines;
  bool connected = false;
  refused = false;
  stream_result r = http_stream(
      req, so, abort,
      [&](std::string_view bytes) {
        on_bytes(bytes.size());
        lines.feed(
            bytes,
            [&](std::string_view line) {
              if (!refused && !deliver(f, std::string(line))) refused = true;
            },
            [&] { on_error("line longer than the limit; discarded"); });
        return !refused;
      },
      [&](long code) {
        if (code >= 200 && code < 300) {
          connected = true;
          on_connected();
        }
      });
  if (connected) on_disconnected();
  if (lines.pending() > 0)
    on_error("connection ended mid-message; " + std::to_string(lines.pending()) +
             " bytes of an incomplete line discarded");
  return r;
}

} // namespace tlflow
