// Shared by the extract_*_test.cpp files: loads fixtures and turns an
// extraction into one vector of lines, compared as a whole (a recording, in
// the manner of nlohmann/json's SaxEventLogger).
#pragma once

#include <doctest/doctest.h>

#include "extract/extract.hpp"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tlflow::test {

inline std::string fixture(const std::string& rel) {
  const std::string path = std::string(TLFLOW_SOURCE_DIR) + "/tests/data/extract/" + rel;
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "missing fixture " << path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) {
    if (!s.empty()) s += ',';
    s += x;
  }
  return s;
}

// One line per fact. Interactions are checked to carry their post's id,
// time and hashtags, so the recording lists those once, on the post.
inline std::vector<std::string> record(const extract::extraction& x) {
  std::vector<std::string> lines;
  if (x.is_error()) lines.push_back("error " + std::string(extract::to_string(x.error)));
  if (x.is_notice()) {
    std::string l = "notice " + std::string(extract::to_string(x.notice));
    if (!x.deleted_post_id.empty()) l += " " + x.deleted_post_id;
    if (x.notice == extract::notice_kind::limit) l += " " + std::to_string(x.limit_count);
    lines.push_back(l);
  }
  for (const auto& p : x.posts) {
    lines.push_back("post " + p.post_id + " by " + p.author.id + " at " + p.at + " tags [" +
                    join(p.hashtags) + "]" +
                    (p.rule_tags.empty() ? "" : " rules [" + join(p.rule_tags) + "]"));
    for (const auto& i : x.interactions) {
      if (i.post_id != p.post_id) continue;
      CHECK(i.from.id == p.author.id);
      CHECK(i.at == p.at);
      CHECK(i.hashtags == p.hashtags);
      lines.push_back("  " + std::string(to_string(i.kind)) + " " + i.from.id + " -> " + i.to.id);
    }
  }
  for (const auto& a : x.accounts) {
    std::string l = "account " + a.id + " platform=" + a.platform;
    if (!a.handle.empty()) l += " handle=" + a.handle;
    if (!a.name.empty()) l += " name=" + a.name;
    if (!a.location.empty()) l += " location=" + a.location;
    lines.push_back(l);
  }
  std::size_t matched = 0;
  for (const auto& i : x.interactions)
    for (const auto& p : x.posts)
      if (i.post_id == p.post_id) { ++matched; break; }
  CHECK(matched == x.interactions.size());
  return lines;
}

inline void print_on_mismatch(const std::vector<std::string>& got,
                              const std::vector<std::string>& want) {
  if (got == want) return;
  std::string g, w;
  for (auto& l : got) g += "    \"" + l + "\",\n";
  for (auto& l : want) w += "    \"" + l + "\",\n";
  MESSAGE("got:\n" << g << "want:\n" << w);
}

#define TLFLOW_CHECK_RECORDING(extraction, ...)                                  \
  do {                                                                           \
    const std::vector<std::string> tlflow_want_ = __VA_ARGS__;                   \
    const auto tlflow_got_ = ::tlflow::test::record(extraction);                 \
    ::tlflow::test::print_on_mismatch(tlflow_got_, tlflow_want_);                \
    CHECK(tlflow_got_ == tlflow_want_);                                          \
  } while (0)

} // namespace tlflow::test
