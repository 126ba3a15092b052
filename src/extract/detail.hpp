// extract/detail.hpp — what the per-format extractors share (private).
//
// JSON access helpers over an in-situ RapidJSON DOM, and `post_builder`,
// which enforces the rules every format obeys: one interaction per
// (post, to, kind), no self-interactions, sorted unique normalised hashtags,
// accounts reported once per message.
#pragma once

#include "extract/extract.hpp"

#include <rapidjson/document.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlflow::extract::detail {

using json = rapidjson::Value;

inline const json* get(const json& obj, std::string_view key) noexcept {
  if (!obj.IsObject()) return nullptr;
  for (auto m = obj.MemberBegin(); m != obj.MemberEnd(); ++m) {
    if (m->name.GetStringLength() == key.size() &&
        std::char_traits<char>::compare(m->name.GetString(), key.data(), key.size()) == 0)
      return &m->value;
  }
  return nullptr;
}
inline const json* get(const json* obj, std::string_view key) noexcept {
  return obj ? get(*obj, key) : nullptr;
}
inline std::string_view str(const json* v) noexcept {
  return (v && v->IsString()) ? std::string_view(v->GetString(), v->GetStringLength())
                              : std::string_view{};
}
inline std::string_view get_str(const json* obj, std::string_view key) noexcept {
  return str(get(obj, key));
}
inline const json* get_obj(const json* obj, std::string_view key) noexcept {
  const json* v = get(obj, key);
  return (v && v->IsObject()) ? v : nullptr;
}
inline const json* get_arr(const json* obj, std::string_view key) noexcept {
  const json* v = get(obj, key);
  return (v && v->IsArray()) ? v : nullptr;
}
// A numeric id given as a string or as a JSON integer (v1.1 `id`, which
// exceeds 2^53: RapidJSON keeps it as uint64, never as a double).
std::string id_text(const json* v);
inline bool same_ascii_ci(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

// False while the current message's decoded strings are known to be valid
// UTF-8 (raw bytes valid, no escaped low surrogate): the checks below are
// then skipped. Set per message by extract(); per thread.
inline thread_local bool strings_need_check = true;

// Valid as a vertex id part: non-empty, UTF-8, no control characters.
bool clean_id(std::string_view s) noexcept;
// For free-text properties: keep when valid UTF-8, else drop.
inline std::string clean_text(std::string_view s) {
  return (!strings_need_check || is_valid_utf8(s)) ? std::string(s) : std::string();
}
// A profile location or place name: trimmed; blank means unknown.
inline std::string clean_location(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return clean_text(s);
}
// Free text cut to at most n bytes on a UTF-8 boundary (for `detail`).
inline std::string brief(std::string_view s, std::size_t n) {
  std::string t = clean_text(s);
  if (t.size() > n) {
    while (n > 0 && (static_cast<unsigned char>(t[n]) & 0xC0) == 0x80) --n;
    t.resize(n);
  }
  return t;
}
std::string iso_from_unix_seconds(std::int64_t secs);

// Builds one post's interactions into an extraction.
class post_builder {
public:
  explicit post_builder(extraction& out) : out_(out) {}
  // Starts a post; returns false when the author or post id is unusable
  // (the caller records missing_field).
  bool begin(std::string post_id, account author, std::string at);
  void hashtag(std::string_view raw);
  void rule_tag(std::string_view tag);
  void reposts(std::string post_id) { post_.reposted_post_id = std::move(post_id); }
  void quotes(std::string post_id) { post_.quoted_post_id = std::move(post_id); }
  // Drops self-interactions, duplicates and unusable account ids.
  void interact(account to, edge_kind kind);
  bool has(edge_kind kind) const noexcept;
  void finish();

private:
  extraction& out_;
  extracted_post post_;
  std::vector<std::pair<account, edge_kind>> pending_;
};

void add_account(extraction& out, const account& a);

// Per-format extractors, called with a parsed DOM whose root is an object.
void extract_x_v2(const json& root, extraction& out);
void extract_twitter_v1(const json& root, extraction& out);
void extract_mastodon(const json& root, extraction& out, int depth);
void extract_jetstream(const json& root, extraction& out);
format detect(const json& root) noexcept;
// Parses `raw` again (Mastodon WebSocket payloads are JSON inside a string).
void extract_nested(format f, std::string_view raw, extraction& out, int depth);

void fail(extraction& out, error_reason r, std::string detail);
void note(extraction& out, notice_kind n, std::string detail);

} // namespace tlflow::extract::detail
