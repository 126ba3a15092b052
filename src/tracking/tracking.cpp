#include "tracking/tracking.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cwctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <locale.h>
#include <unistd.h>
#include <wctype.h>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "extract/extract.hpp"
#include "tlflow/model.hpp"
#include "util/log.hpp"

namespace tlflow {
namespace {

constexpr std::size_t max_chars = 100;

// C.UTF-8 classification and case mapping, without touching the global locale.
locale_t utf8_locale() {
  static locale_t loc = [] {
    locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
    if (!l) l = newlocale(LC_CTYPE_MASK, "C.utf8", static_cast<locale_t>(nullptr));
    return l;
  }();
  return loc;
}

// Decodes UTF-8 into code points; false on invalid input.
bool decode(std::string_view s, std::u32string& out) {
  if (!is_valid_utf8(s)) return false;
  out.clear();
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    char32_t cp;
    std::size_t n;
    if (c < 0x80) { cp = c; n = 1; }
    else if (c < 0xE0) { cp = c & 0x1F; n = 2; }
    else if (c < 0xF0) { cp = c & 0x0F; n = 3; }
    else { cp = c & 0x07; n = 4; }
    for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += n;
  }
  return true;
}

// glibc classes combining marks as punctuation; hashtags in Indic and other
// scripts need them (the Devanagari virama in "हिन्दी"), and ZWNJ/ZWJ occur
// in Persian and Indic tags.
bool is_combining_mark(char32_t cp) {
  if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
      (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
      (cp >= 0xFE20 && cp <= 0xFE2F) || cp == 0x200C || cp == 0x200D)
    return true;
  // Brahmic scripts (Devanagari .. Myanmar): signs and viramas, but not their
  // punctuation (dandas, abbreviation signs, section marks).
  if (cp >= 0x0900 && cp <= 0x109F) {
    switch (cp) {
      case 0x0964: case 0x0965: case 0x0970: case 0x0DF4: case 0x0E2F: case 0x0E4F:
      case 0x0E5A: case 0x0E5B: case 0x0F04: case 0x0F05: case 0x0F06: case 0x0F07:
      case 0x0F08: case 0x0F0B: case 0x0F0D: case 0x0F0E: case 0x104A: case 0x104B:
      case 0x104C: case 0x104D: case 0x104E: case 0x104F:
        return false;
      default:
        return true;
    }
  }
  return false;
}

bool is_word_char(char32_t cp) {
  if (cp == U'_') return true;
  if (cp < 0x80) return (cp >= U'a' && cp <= U'z') || (cp >= U'A' && cp <= U'Z') ||
                        (cp >= U'0' && cp <= U'9');
  locale_t loc = utf8_locale();
  if (!loc) return true; // no Unicode tables: accept non-ASCII rather than refuse real tags
  auto wc = static_cast<wint_t>(cp);
  if (iswalnum_l(wc, loc) != 0) return true;
  return is_combining_mark(cp);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

void sort_unique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

} // namespace

result<std::string> normalize_hashtag(std::string_view text) {
  std::string_view s = trim(text);
  if (!s.empty() && s.front() == '#') s.remove_prefix(1);
  else if (s.substr(0, 3) == "\xEF\xBC\x83") s.remove_prefix(3); // U+FF03 FULLWIDTH NUMBER SIGN
  std::u32string cps;
  if (!decode(s, cps)) return error{errc::invalid_argument, "hashtag is not valid UTF-8"};
  if (cps.empty()) return error{errc::invalid_argument, "hashtag is empty"};
  if (cps.size() > max_chars)
    return error{errc::invalid_argument, "hashtag is longer than 100 characters"};
  for (char32_t cp : cps) {
    if (!is_word_char(cp))
      return error{errc::invalid_argument,
                   "hashtag may hold only letters, digits and '_': " + std::string(s)};
  }
  // Lower-case with the extractors' own function, so that a tracked tag and
  // the tags read off posts compare byte for byte.
  return extract::normalize_hashtag(s);
}

result<std::string> normalize_keyword(std::string_view text) {
  std::string_view s = trim(text);
  if (!is_valid_utf8(s)) return error{errc::invalid_argument, "keyword is not valid UTF-8"};
  std::string out;
  bool space = false;
  std::size_t chars = 0;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == ' ' || c == '\t') { space = true; continue; }
    if (u < 0x20 || u == 0x7F) return error{errc::invalid_argument, "keyword holds a control character"};
    if (c == '"') return error{errc::invalid_argument, "keyword may not hold '\"'"};
    if (space && !out.empty()) { out += ' '; ++chars; }
    space = false;
    out += c;
    if ((u & 0xC0) != 0x80) ++chars;
  }
  if (out.empty()) return error{errc::invalid_argument, "keyword is empty"};
  if (chars > max_chars) return error{errc::invalid_argument, "keyword is longer than 100 characters"};
  return out;
}

result<tracking_set> normalize_tracking(const tracking_set& in) {
  tracking_set out;
  for (const auto& h : in.hashtags) {
    auto n = normalize_hashtag(h);
    if (!n) return n.err();
    out.hashtags.push_back(std::move(*n));
  }
  for (const auto& k : in.keywords) {
    auto n = normalize_keyword(k);
    if (!n) return n.err();
    out.keywords.push_back(std::move(*n));
  }
  sort_unique(out.hashtags);
  sort_unique(out.keywords);
  return out;
}

status check_tracking_limits(const tracking_set& t) {
  if (t.hashtags.size() > max_tracked_hashtags)
    return error{errc::invalid_argument,
                 std::to_string(t.hashtags.size()) + " hashtags; at most " +
                     std::to_string(max_tracked_hashtags) + " can be tracked"};
  if (t.keywords.size() > max_tracked_keywords)
    return error{errc::invalid_argument,
                 std::to_string(t.keywords.size()) + " keywords; at most " +
                     std::to_string(max_tracked_keywords) + " can be tracked"};
  return ok_v;
}

std::string tracking_to_json(const tracking_set& t) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("hashtags");
  w.StartArray();
  for (const auto& h : t.hashtags) w.String(h.data(), static_cast<rapidjson::SizeType>(h.size()));
  w.EndArray();
  w.Key("keywords");
  w.StartArray();
  for (const auto& k : t.keywords) w.String(k.data(), static_cast<rapidjson::SizeType>(k.size()));
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

result<tracking_set> tracking_from_json(std::string_view json) {
  rapidjson::Document doc;
  // Iterative: a 1 MiB `[[[[...` body must not exhaust the stack.
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());
  if (doc.HasParseError()) return error{errc::malformed_json, "body is not valid JSON"};
  if (!doc.IsObject()) return error{errc::invalid_argument, "body must be a JSON object"};
  tracking_set t;
  auto read = [&](const char* key, std::vector<std::string>& out) -> status {
    auto it = doc.FindMember(key);
    if (it == doc.MemberEnd() || it->value.IsNull()) return ok_v;
    if (!it->value.IsArray())
      return error{errc::invalid_argument, std::string("'") + key + "' must be an array of strings"};
    for (const auto& v : it->value.GetArray()) {
      if (!v.IsString())
        return error{errc::invalid_argument, std::string("'") + key + "' must be an array of strings"};
      out.emplace_back(v.GetString(), v.GetStringLength());
    }
    return ok_v;
  };
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    std::string_view k(it->name.GetString(), it->name.GetStringLength());
    if (k != "hashtags" && k != "keywords")
      return error{errc::invalid_argument, "unknown field '" + std::string(k) + "'"};
  }
  if (auto st = read("hashtags", t.hashtags); !st) return st.err();
  if (auto st = read("keywords", t.keywords); !st) return st.err();
  return t;
}

namespace {

// The saved file is read leniently: the API wrote it, possibly an older
// version with other rules, and a service that refuses to start over it
// would loop under systemd. Entries that no longer validate are skipped and
// entries past the limits dropped (the first ones, in sorted order, kept),
// each with a warning; the file itself is left as it is until the next
// change rewrites it.
tracking_set normalize_saved(const tracking_set& in, const std::string& path) {
  tracking_set out;
  auto take = [&](const std::vector<std::string>& from, std::vector<std::string>& to,
                  result<std::string> (*norm)(std::string_view), std::size_t limit,
                  const char* what) {
    for (const auto& e : from) {
      auto n = norm(e);
      if (!n) {
        log::warn("tracking", path, ": skipping a saved ", what, ": ", n.err().message);
        continue;
      }
      to.push_back(std::move(*n));
    }
    sort_unique(to);
    if (to.size() > limit) {
      log::warn("tracking", path, " holds ", to.size(), " ", what, "s; tracking the first ", limit,
                " (the limit) and ignoring the rest");
      to.resize(limit);
    }
  };
  take(in.hashtags, out.hashtags, &normalize_hashtag, max_tracked_hashtags, "hashtag");
  take(in.keywords, out.keywords, &normalize_keyword, max_tracked_keywords, "keyword");
  return out;
}

} // namespace

tracking::tracking(std::string data_dir, tracking_set initial)
    : data_dir_(std::move(data_dir)), initial_(std::move(initial)) {}

std::string tracking::file_path() const {
  return data_dir_.empty() ? std::string() : data_dir_ + "/tracking.json";
}

status tracking::load() {
  tracking_set loaded;
  bool from_file = false;
  if (!data_dir_.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(data_dir_, ec);
    if (ec) return error{errc::io_error, "cannot create " + data_dir_ + ": " + ec.message()};
    std::ifstream in(file_path(), std::ios::binary);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      auto parsed = tracking_from_json(ss.str());
      if (!parsed)
        return error{parsed.err().code, file_path() + ": " + parsed.err().message};
      loaded = std::move(*parsed);
      from_file = true;
    }
  }
  result<tracking_set> norm =
      from_file ? result<tracking_set>(normalize_saved(loaded, file_path())) : normalize_tracking(initial_);
  if (!norm) return norm.err();
  if (!from_file) {
    if (auto st = check_tracking_limits(*norm); !st) return st.err();
  }
  if (from_file) {
    auto init = normalize_tracking(initial_);
    if (init && !init->hashtags.empty() && *init != *norm)
      log::warn("tracking", "using the tracking saved in ", file_path(),
                " (changed through the API); --track/TLFLOW_TRACK only seed a new data dir");
  } else if (auto st = persist(*norm); !st) {
    return st;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  current_ = std::move(*norm);
  return ok_v;
}

tracking_set tracking::get() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

status tracking::persist(const tracking_set& t) const {
  if (data_dir_.empty()) return ok_v;
  const std::string path = file_path();
  const std::string tmp = path + ".tmp";
  const std::string body = tracking_to_json(t) + "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return error{errc::io_error, "cannot write " + tmp + ": " + std::strerror(errno)};
  std::size_t off = 0;
  while (off < body.size()) {
    ssize_t n = ::write(fd, body.data() + off, body.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return error{errc::io_error, "cannot write " + tmp + ": " + std::strerror(e)};
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    return error{errc::io_error, "cannot sync " + tmp + ": " + std::strerror(errno)};
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return error{errc::io_error, "cannot rename " + tmp + ": " + std::strerror(errno)};
  if (int dfd = ::open(data_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return ok_v;
}

result<tracking_set> tracking::commit(tracking_set next, std::unique_lock<std::mutex>& lock) {
  if (next == current_) return next;
  if (auto st = persist(next); !st) return st.err();
  current_ = next;
  ++version_;
  lock.unlock();
  // Notify outside the state lock (observers may call get()). Serialised, and
  // always with the newest state, so that observers never end on a stale one
  // when two changes race.
  std::lock_guard<std::mutex> nl(notify_mutex_);
  tracking_set latest;
  std::vector<observer> obs;
  {
    std::lock_guard<std::mutex> l(mutex_);
    if (version_ == notified_version_) return next;
    notified_version_ = version_;
    latest = current_;
    for (const auto& [id, fn] : observers_) obs.push_back(fn);
  }
  for (auto& fn : obs) fn(latest);
  log::info("tracking", "now tracking ", latest.hashtags.size(), " hashtags, ",
            latest.keywords.size(), " keywords");
  return next;
}

result<tracking_set> tracking::replace(const tracking_set& next) {
  auto norm = normalize_tracking(next);
  if (!norm) return norm.err();
  if (auto st = check_tracking_limits(*norm); !st) return st.err();
  std::unique_lock<std::mutex> lock(mutex_);
  return commit(std::move(*norm), lock);
}

result<tracking_set> tracking::add_hashtag(std::string_view tag) {
  auto norm = normalize_hashtag(tag);
  if (!norm) return norm.err();
  std::unique_lock<std::mutex> lock(mutex_);
  tracking_set next = current_;
  if (std::binary_search(next.hashtags.begin(), next.hashtags.end(), *norm)) return next;
  if (next.hashtags.size() >= max_tracked_hashtags)
    return error{errc::limit_reached, "already tracking " + std::to_string(next.hashtags.size()) +
                                          " hashtags, the most allowed; remove one first"};
  next.hashtags.push_back(std::move(*norm));
  sort_unique(next.hashtags);
  return commit(std::move(next), lock);
}

result<tracking_set> tracking::remove_hashtag(std::string_view tag) {
  auto norm = normalize_hashtag(tag);
  if (!norm) return norm.err();
  std::unique_lock<std::mutex> lock(mutex_);
  tracking_set next = current_;
  auto it = std::find(next.hashtags.begin(), next.hashtags.end(), *norm);
  if (it == next.hashtags.end())
    return error{errc::not_found, "hashtag '" + *norm + "' is not tracked"};
  next.hashtags.erase(it);
  return commit(std::move(next), lock);
}

std::uint64_t tracking::subscribe(observer fn) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::uint64_t id = next_id_++;
  observers_.emplace(id, std::move(fn));
  return id;
}

void tracking::unsubscribe(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  observers_.erase(id);
}

} // namespace tlflow
