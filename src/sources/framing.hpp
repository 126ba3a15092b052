// Framing of byte streams into messages: newline-delimited JSON (X v2,
// Twitter v1.1, files) and Server-Sent Events (Mastodon). Both are fed
// arbitrary slices of bytes (a JSON object may span several chunks; a chunk
// may hold several objects) and never fail: over-long lines are cut off and
// reported. Not thread-safe; one per connection.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tlflow {

class line_splitter {
public:
  explicit line_splitter(std::size_t max_line = 16u << 20) : max_(max_line) {}

  // Calls on_line(std::string_view) for each complete non-blank line (a
  // trailing '\r' removed; blank lines are keep-alives and are skipped), and
  // on_oversize() for each line longer than max_line (which is discarded).
  template <class OnLine, class OnOversize>
  void feed(std::string_view bytes, OnLine&& on_line, OnOversize&& on_oversize) {
    while (!bytes.empty()) {
      std::size_t nl = bytes.find('\n');
      std::string_view part = bytes.substr(0, nl);
      if (nl != std::string_view::npos && buf_.empty() && !skipping_ && part.size() <= max_) {
        // Fast path: the whole line is in this slice; no copy.
        bytes.remove_prefix(nl + 1);
        if (!part.empty() && part.back() == '\r') part.remove_suffix(1);
        if (!is_blank(part)) on_line(part);
        continue;
      }
      if (!skipping_) {
        if (buf_.size() + part.size() > max_) {
          skipping_ = true;
          buf_.clear();
          on_oversize();
        } else {
          buf_.append(part.data(), part.size());
        }
      }
      if (nl == std::string_view::npos) return;
      bytes.remove_prefix(nl + 1);
      if (!skipping_) {
        std::string_view line(buf_);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!is_blank(line)) on_line(line);
      }
      skipping_ = false;
      buf_.clear();
    }
  }

  // Bytes of an unfinished line (a connection dropped mid-message).
  std::size_t pending() const noexcept { return buf_.size(); }
  void reset() { buf_.clear(); skipping_ = false; }

private:
  static bool is_blank(std::string_view s) {
    for (char c : s)
      if (c != ' ' && c != '\t' && c != '\r') return false;
    return true;
  }
  std::size_t max_;
  std::string buf_;
  bool skipping_ = false;
};

// Server-Sent Events (the WHATWG event-stream format): `field: value` lines,
// comments start with ':', several `data:` lines join with '\n', a blank line
// dispatches the event.
class sse_parser {
public:
  explicit sse_parser(std::size_t max_event = 16u << 20) : max_(max_event) {}

  // on_event(std::string_view event, std::string_view data); on_comment(std::string_view)
  template <class OnEvent, class OnComment>
  void feed(std::string_view bytes, OnEvent&& on_event, OnComment&& on_comment) {
    while (!bytes.empty()) {
      std::size_t nl = bytes.find('\n');
      std::string_view part = bytes.substr(0, nl);
      if (line_.size() + part.size() <= max_) line_.append(part.data(), part.size());
      else overflow_ = true;
      if (nl == std::string_view::npos) return;
      bytes.remove_prefix(nl + 1);
      std::string_view line(line_);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      handle(line, on_event, on_comment);
      line_.clear();
    }
  }

  std::size_t pending() const noexcept { return line_.size() + data_.size(); }
  bool overflowed() const noexcept { return overflow_; }
  void reset() { line_.clear(); data_.clear(); event_.clear(); has_data_ = false; overflow_ = false; }

private:
  template <class OnEvent, class OnComment>
  void handle(std::string_view line, OnEvent& on_event, OnComment& on_comment) {
    if (line.empty()) {
      if (has_data_ && !overflow_) on_event(event_.empty() ? std::string_view("message") : std::string_view(event_),
                                            std::string_view(data_));
      data_.clear();
      event_.clear();
      has_data_ = false;
      overflow_ = false;
      return;
    }
    if (line.front() == ':') {
      on_comment(line.substr(1));
      return;
    }
    std::size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
      value = line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
      if (has_data_) data_ += '\n';
      if (data_.size() + value.size() > max_) overflow_ = true;
      else data_.append(value.data(), value.size());
      has_data_ = true;
    } else if (field == "event") {
      event_.assign(value.data(), value.size());
    } // id and retry are not used by Mastodon
  }

  std::size_t max_;
  std::string line_;
  std::string data_;
  std::string event_;
  bool has_data_ = false;
  bool overflow_ = false;
};

} // namespace tlflow
