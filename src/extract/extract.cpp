// extract/extract.cpp — parsing, format dispatch and the shared rules.
//
// Speed: the message is copied once into a per-thread buffer and parsed in
// situ (strings stay in that buffer, no per-string allocation), with a
// per-thread memory pool that is reset, not freed, between messages.
#include "extract/detail.hpp"
#include "util/civil_date.hpp"
#include "util/utf8.hpp"

#include <rapidjson/error/en.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

namespace tlflow::extract {

std::optional<format> parse_format(std::string_view name) noexcept {
  if (name == "auto") return format::auto_detect;
  if (name == "x" || name == "x-v2" || name == "x_v2" || name == "twarc2") return format::x_v2;
  if (name == "twitter-v1" || name == "twitter_v1" || name == "v1" || name == "twarc")
    return format::twitter_v1;
  if (name == "mastodon") return format::mastodon;
  if (name == "jetstream" || name == "bluesky") return format::jetstream;
  return std::nullopt;
}

std::string_view to_string(format f) noexcept {
  switch (f) {
    case format::auto_detect: return "auto";
    case format::x_v2: return "x-v2";
    case format::twitter_v1: return "twitter-v1";
    case format::mastodon: return "mastodon";
    case format::jetstream: return "jetstream";
  }
  return "auto";
}

std::string_view to_string(error_reason r) noexcept {
  switch (r) {
    case error_reason::none: return "none";
    case error_reason::empty: return "empty";
    case error_reason::malformed_json: return "malformed_json";
    case error_reason::invalid_utf8: return "invalid_utf8";
    case error_reason::not_a_post: return "not_a_post";
    case error_reason::missing_field: return "missing_field";
  }
  return "none";
}

std::string_view to_string(notice_kind n) noexcept {
  switch (n) {
    case notice_kind::none: return "none";
    case notice_kind::delete_post: return "delete";
    case notice_kind::scrub_geo: return "scrub_geo";
    case notice_kind::limit: return "limit";
    case notice_kind::disconnect: return "disconnect";
    case notice_kind::warning: return "warning";
    case notice_kind::stream_error: return "stream_error";
    case notice_kind::ignored: return "ignored";
  }
  return "none";
}

void extraction::clear() noexcept {
  detected = format::auto_detect;
  error = error_reason::none;
  notice = notice_kind::none;
  detail.clear();
  posts.clear();
  constexpr std::size_t keep = 4096; // bound what one huge page can pin
  for (auto& i : interactions)
    if (spare_interactions_.size() < keep) spare_interactions_.push_back(std::move(i));
  interactions.clear();
  for (auto& a : accounts)
    if (spare_accounts_.size() < keep) spare_accounts_.push_back(std::move(a));
  accounts.clear();
  deleted_post_id.clear();
  limit_count = 0;
}

namespace detail {

std::string id_text(const json* v) {
  if (!v) return {};
  if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  if (v->IsUint64()) return std::to_string(v->GetUint64());
  return {};
}

namespace {
// A new last element of `live`, recycled from `spare` when there is one.
template <class T>
T& recycled(std::vector<T>& live, std::vector<T>& spare) {
  if (spare.empty()) return live.emplace_back();
  live.push_back(std::move(spare.back()));
  spare.pop_back();
  return live.back();
}
} // namespace

bool clean_id(std::string_view s) noexcept {
  if (s.empty() || s.size() > 240) return false;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) return false;
  }
  if (strings_need_check && !is_valid_utf8(s)) return false;
  // C1 controls (U+0080..U+009F) are encoded as C2 80..C2 9F.
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    if (static_cast<unsigned char>(s[i]) == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0)
      return false;
  }
  return true;
}


std::string iso_from_unix_seconds(std::int64_t secs) {
  // Years 0000..9999 only: anything else is not a post time.
  if (secs < -62167219200LL || secs > 253402300799LL) return {};
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) { rem += 86400; --days; }
  std::int64_t y = 0;
  unsigned m = 0, d = 0;
  util::civil_from_days(days, y, m, d);
  // Hand-formatted: snprintf showed up in the extraction profile.
  std::string out = "0000-00-00T00:00:00Z";
  auto put2 = [&out](std::size_t at, unsigned v) {
    out[at] = static_cast<char>('0' + v / 10);
    out[at + 1] = static_cast<char>('0' + v % 10);
  };
  const auto yy = static_cast<unsigned>(y);
  put2(0, yy / 100);
  put2(2, yy % 100);
  put2(5, m);
  put2(8, d);
  put2(11, static_cast<unsigned>(rem / 3600));
  put2(14, static_cast<unsigned>(rem % 3600 / 60));
  put2(17, static_cast<unsigned>(rem % 60));
  return out;
}

void fail(extraction& out, error_reason r, std::string text) {
  out.error = r;
  out.detail = std::move(text);
}
void note(extraction& out, notice_kind n, std::string text) {
  out.notice = n;
  out.detail = std::move(text);
}

void add_account(extraction& out, const account& a) {
  for (auto& known : out.accounts) {
    if (known.id == a.id) {
      // Empty means unknown: fill in, never overwrite.
      if (known.handle.empty()) known.handle = a.handle;
      if (known.name.empty()) known.name = a.name;
      if (known.location.empty()) known.location = a.location;
      return;
    }
  }
  recycled(out.accounts, out.spare_accounts_) = a; // copy-assign keeps capacity
}

bool post_builder::begin(std::string post_id, account author, std::string at) {
  if (!clean_id(author.id) || author.id.find(':') + 1 >= author.id.size()) return false;
  if (!clean_id(post_id) || post_id.find(':') + 1 >= post_id.size()) return false;
  post_ = extracted_post{};
  post_.post_id = std::move(post_id);
  post_.author = std::move(author);
  post_.at = std::move(at);
  pending_.clear();
  return true;
}

void post_builder::hashtag(std::string_view raw) {
  std::string tag = normalize_hashtag(raw);
  if (tag.empty() || (strings_need_check && !is_valid_utf8(tag))) return;
  post_.hashtags.push_back(std::move(tag));
}

void post_builder::rule_tag(std::string_view tag) {
  if (tag.empty() || (strings_need_check && !is_valid_utf8(tag))) return;
  post_.rule_tags.emplace_back(tag);
}

void post_builder::interact(account to, edge_kind kind) {
  // An id must have something after "<platform>:".
  if (!clean_id(to.id) || to.id.find(':') + 1 >= to.id.size()) return;
  if (to.id == post_.author.id) return; // self-interactions carry no flow
  for (auto& p : pending_) {
    if (p.second == kind && p.first.id == to.id) return;
  }
  pending_.emplace_back(std::move(to), kind);
}

bool post_builder::has(edge_kind kind) const noexcept {
  for (auto& p : pending_)
    if (p.second == kind) return true;
  return false;
}

void post_builder::finish() {
  auto& tags = post_.hashtags;
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  add_account(out_, post_.author);
  for (auto& p : pending_) {
    add_account(out_, p.first);
    // Assignments into a recycled element reuse its strings' capacity.
    interaction& i = recycled(out_.interactions, out_.spare_interactions_);
    i.post_id = post_.post_id;
    i.from = post_.author;
    i.to = std::move(p.first);
    i.kind = p.second;
    i.hashtags = tags;
    i.at = post_.at;
  }
  pending_.clear();
  out_.posts.push_back(std::move(post_));
  post_ = extracted_post{};
}

format detect(const json& root) noexcept {
  if (!root.IsObject()) return format::auto_detect;
  // Jetstream: every event has did + kind (+ time_us).
  if (get(root, "did") && get(root, "kind")) return format::jetstream;
  // X v2: stream line / twarc2 page, or a twarc2 flattened post.
  if (get(root, "data") || get(root, "matching_rules") || get(root, "__twarc"))
    return format::x_v2;
  if (get(root, "author_id") || get_obj(&root, "author")) return format::x_v2;
  // v1.1 tweets and notices.
  if (get(root, "user") || get(root, "id_str") || get(root, "delete") || get(root, "limit") ||
      get(root, "disconnect") || get(root, "scrub_geo") || get(root, "warning") ||
      get(root, "status_withheld") || get(root, "user_withheld"))
    return format::twitter_v1;
  // Mastodon Status, or its WebSocket envelope.
  if (get(root, "account") || (get(root, "event") && get(root, "stream")))
    return format::mastodon;
  // X v2 problems (stream errors, connection exceptions).
  if (get(root, "errors") || (get(root, "title") && get(root, "type"))) return format::x_v2;
  return format::auto_detect;
}

namespace {

struct scratch {
  std::vector<char> text;
  std::array<char, 64 * 1024> pool_buffer{};
  rapidjson::MemoryPoolAllocator<> pool{pool_buffer.data(), pool_buffer.size()};
};

struct scan_result {
  bool nul = false;                // a raw NUL byte (never valid JSON text)
  bool bad_utf8 = false;           // bytes that are not UTF-8
  bool escaped_surrogate = false;  // an escape (backslash-u) of a low surrogate
};

// One pass over the message, 8 bytes at a time while they are plain ASCII
// without NUL or backslash (most of a post is): UTF-8 validation (cheaper
// than RapidJSON's per-character check, and it covers bytes outside strings,
// where non-ASCII is invalid JSON anyway), NUL detection, and whether any
// escape could decode to a lone low surrogate (the one way decoded strings
// can be invalid UTF-8 once the raw bytes are valid).
scan_result scan(std::string_view s) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  constexpr std::uint64_t backslashes = 0x5C5C5C5C5C5C5C5CULL;
  auto has_zero = [](std::uint64_t w) { return ((w - ones) & ~w & highs) != 0; };
  scan_result r;
  const char* p = s.data();
  const char* const end = p + s.size();
  while (p < end) {
    if (end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & highs) == 0 && !has_zero(w) && !has_zero(w ^ backslashes)) {
        p += 8;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(*p);
    if (c == 0) {
      r.nul = true;
      return r;
    }
    if (c == '\\') {
      if (end - p >= 4 && p[1] == 'u' && (p[2] == 'd' || p[2] == 'D')) {
        const char h = p[3];
        if ((h >= 'c' && h <= 'f') || (h >= 'C' && h <= 'F')) r.escaped_surrogate = true;
      }
      p += (end - p >= 2 && static_cast<unsigned char>(p[1]) < 0x80 && p[1] != 0) ? 2 : 1;
      continue;
    }
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1Fu; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0Fu; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07u; }
    else { r.bad_utf8 = true; return r; }
    if (static_cast<std::size_t>(end - p) < len) { r.bad_utf8 = true; return r; }
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(p[k]);
      if ((cc & 0xC0) != 0x80) { r.bad_utf8 = true; return r; }
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      r.bad_utf8 = true;
      return r;
    }
    p += len;
  }
  return r;
}

bool blank(std::string_view raw) noexcept {
  for (char c : raw)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  return true;
}

void run(format f, std::string_view raw, extraction& out, int depth, scratch& s) {
  if (blank(raw)) {
    fail(out, error_reason::empty, "blank line");
    return;
  }
  const scan_result sc = scan(raw);
  // JSON text never holds a raw NUL; an in-situ parse would stop at one and
  // silently ignore what follows.
  if (sc.nul) {
    fail(out, error_reason::malformed_json, "NUL byte in message");
    return;
  }
  if (sc.bad_utf8) {
    fail(out, error_reason::invalid_utf8, "message is not UTF-8");
    return;
  }
  strings_need_check = sc.escaped_surrogate;
  s.text.assign(raw.begin(), raw.end());
  s.text.push_back('\0');
  s.pool.Clear();
  rapidjson::Document doc(&s.pool);
  // UTF-8 was checked above; RapidJSON rejects an escaped high surrogate
  // without its pair, and extracted fields are checked again where they are
  // used when the scan saw an escaped low surrogate (alone, it decodes to
  // invalid UTF-8).
  // Iterative: constant native stack whatever the nesting (the recursive
  // parser overflows the stack on a line of 100,000 "[", found by the
  // ASan build of the unit tests).
  constexpr unsigned flags = rapidjson::kParseInsituFlag | rapidjson::kParseIterativeFlag;
  doc.ParseInsitu<flags>(s.text.data());
  if (doc.HasParseError()) {
    const auto code = doc.GetParseError();
    if (code == rapidjson::kParseErrorStringInvalidEncoding ||
        code == rapidjson::kParseErrorStringUnicodeSurrogateInvalid) {
      fail(out, error_reason::invalid_utf8, "invalid UTF-8 at byte " +
                                                std::to_string(doc.GetErrorOffset()));
    } else {
      fail(out, error_reason::malformed_json,
           std::string(rapidjson::GetParseError_En(code)) + " at byte " +
               std::to_string(doc.GetErrorOffset()));
    }
    return;
  }
  format use = f;
  if (use == format::auto_detect) use = detect(doc);
  out.detected = use;
  if (f == format::mastodon && (doc.IsString() || doc.IsUint64())) {
    // A Mastodon SSE `delete` payload: the bare status id.
    out.deleted_post_id = "mastodon:" + id_text(&doc);
    note(out, notice_kind::delete_post, "status deleted");
    return;
  }
  if (!doc.IsObject()) {
    fail(out, error_reason::not_a_post, "top level is not an object");
    return;
  }
  switch (use) {
    case format::x_v2: extract_x_v2(doc, out); break;
    case format::twitter_v1: extract_twitter_v1(doc, out); break;
    case format::mastodon: extract_mastodon(doc, out, depth); break;
    case format::jetstream: extract_jetstream(doc, out); break;
    case format::auto_detect:
      fail(out, error_reason::not_a_post, "unrecognised message");
      break;
  }
}

} // namespace

void extract_nested(format f, std::string_view raw, extraction& out, int depth) {
  // Rare path (Mastodon WebSocket envelopes): its own buffers, on the heap
  // (the pool's first block is 64 KiB).
  const auto s = std::make_unique<scratch>();
  const bool outer = strings_need_check;
  run(f, raw, out, depth, *s);
  strings_need_check = outer;
}

} // namespace detail

void extract(format f, std::string_view raw, extraction& out) {
  out.clear();
  // On the heap, made on first use: a 64 KiB thread_local object would sit
  // in the static TLS block of every thread of the process.
  thread_local std::unique_ptr<detail::scratch> s;
  if (!s) s = std::make_unique<detail::scratch>();
  detail::run(f, raw, out, 0, *s);
  if (out.error != error_reason::none) {
    // A failed message yields nothing, not half a message.
    out.posts.clear();
    out.interactions.clear();
    out.accounts.clear();
  }
}

extraction extract(format f, std::string_view raw) {
  extraction out;
  extract(f, raw, out);
  return out;
}

format detect_format(std::string_view raw) {
  extraction out;
  extract(format::auto_detect, raw, out);
  if (out.error == error_reason::malformed_json || out.error == error_reason::invalid_utf8 ||
      out.error == error_reason::empty)
    return format::auto_detect;
  return out.detected;
}

namespace {
std::uint32_t lower_cp(std::uint32_t c) noexcept {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0xC0) return c;
  if (c <= 0xDE && c != 0xD7) return c + 32;                   // Latin-1
  if (c >= 0x100 && c <= 0x137) return c | 1u;                  // Latin Ext-A pairs
  if (c >= 0x139 && c <= 0x148) return (c & 1u) ? c + 1 : c;
  if (c >= 0x14A && c <= 0x177) return c | 1u;
  if (c == 0x178) return 0xFF;
  if (c >= 0x179 && c <= 0x17E) return (c & 1u) ? c + 1 : c;
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;   // Greek
  if (c >= 0x400 && c <= 0x40F) return c + 80;                  // Cyrillic
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  return c;
}
} // namespace

std::string normalize_hashtag(std::string_view tag) {
  if (!tag.empty() && tag.front() == '#') tag.remove_prefix(1);
  else if (tag.size() >= 3 && tag.substr(0, 3) == "\xEF\xBC\x83") tag.remove_prefix(3);
  std::string out;
  out.reserve(tag.size());
  std::size_t i = 0;
  const std::size_t n = tag.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(tag[i]);
    if (c < 0x80) {
      out.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : static_cast<char>(c));
      ++i;
      continue;
    }
    // Two-byte sequences hold every letter we lower-case.
    if ((c & 0xE0) == 0xC0 && i + 1 < n && (static_cast<unsigned char>(tag[i + 1]) & 0xC0) == 0x80) {
      const std::uint32_t cp =
          (static_cast<std::uint32_t>(c & 0x1F) << 6) | (static_cast<unsigned char>(tag[i + 1]) & 0x3Fu);
      const std::uint32_t lo = lower_cp(cp);
      if (lo != cp && cp >= 0x80) {
        util::append_utf8(out, static_cast<char32_t>(lo));
      } else {
        out.append(tag.data() + i, 2);
      }
      i += 2;
      continue;
    }
    out.push_back(static_cast<char>(c));
    ++i;
  }
  return out;
}

namespace {
bool digits(std::string_view s, std::size_t pos, std::size_t len, int& v) noexcept {
  if (pos + len > s.size()) return false;
  v = 0;
  for (std::size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  return true;
}

std::string compose(int y, int mo, int d, int h, int mi, int s, int offset_minutes) {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return {};
  static constexpr int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (d > mdays[mo - 1]) return {};
  if (s == 60) s = 59; // leap second: keep within the minute
  const std::int64_t days =
      util::days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - offset_minutes * 60LL;
  return detail::iso_from_unix_seconds(secs);
}

bool parse_offset(std::string_view s, std::size_t pos, int& minutes) noexcept {
  // Z | ±hh:mm | ±hhmm | ±hh
  if (pos >= s.size()) { minutes = 0; return true; }
  if (s[pos] == 'Z' || s[pos] == 'z') { minutes = 0; return pos + 1 == s.size(); }
  if (s[pos] != '+' && s[pos] != '-') return false;
  const int sign = s[pos] == '-' ? -1 : 1;
  int hh = 0, mm = 0;
  if (!digits(s, pos + 1, 2, hh)) return false;
  std::size_t p = pos + 3;
  if (p < s.size() && s[p] == ':') ++p;
  if (p < s.size()) {
    if (!digits(s, p, 2, mm) || p + 2 != s.size()) return false;
  }
  if (hh > 23 || mm > 59) return false;
  minutes = sign * (hh * 60 + mm);
  return true;
}
} // namespace

std::string normalize_time(std::string_view t) {
  int y, mo, d, h, mi, s, off = 0;
  // ISO-8601: YYYY-MM-DDTHH:MM:SS[.fff][offset]
  if (t.size() >= 19 && t[4] == '-' && t[7] == '-' && (t[10] == 'T' || t[10] == ' ') &&
      t[13] == ':' && t[16] == ':') {
    if (!digits(t, 0, 4, y) || !digits(t, 5, 2, mo) || !digits(t, 8, 2, d) ||
        !digits(t, 11, 2, h) || !digits(t, 14, 2, mi) || !digits(t, 17, 2, s))
      return {};
    std::size_t p = 19;
    if (p < t.size() && t[p] == '.') {
      ++p;
      const std::size_t start = p;
      while (p < t.size() && t[p] >= '0' && t[p] <= '9') ++p;
      if (p == start) return {};
    }
    if (!parse_offset(t, p, off)) return {};
    return compose(y, mo, d, h, mi, s, off);
  }
  // Twitter v1.1: "Wed Oct 10 20:19:24 +0000 2018"
  if (t.size() == 30 && t[3] == ' ' && t[7] == ' ' && t[10] == ' ' && t[13] == ':' &&
      t[16] == ':' && t[19] == ' ' && t[25] == ' ') {
    static constexpr std::string_view months = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const auto m = months.find(t.substr(4, 3));
    if (m == std::string_view::npos || m % 3 != 0) return {};
    mo = static_cast<int>(m / 3) + 1;
    if (!digits(t, 8, 2, d) || !digits(t, 11, 2, h) || !digits(t, 14, 2, mi) ||
        !digits(t, 17, 2, s) || !digits(t, 26, 4, y))
      return {};
    const std::string_view z = t.substr(20, 5);
    int hh = 0, mm = 0;
    if ((z[0] != '+' && z[0] != '-') || !digits(z, 1, 2, hh) || !digits(z, 3, 2, mm)) return {};
    off = (z[0] == '-' ? -1 : 1) * (hh * 60 + mm);
    return compose(y, mo, d, h, mi, s, off);
  }
  return {};
}

} // namespace tlflow::extract
