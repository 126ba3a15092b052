// Shared body of the extractor fuzz targets: extract one input and check the
// invariants every extraction promises (docs/extraction-rules.md). Any
// violation aborts, which libFuzzer reports as a crash with the input.
#pragma once

#include "extract/extract.hpp"
#include "tlflow/model.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>
#include <tuple>

namespace tlflow::fuzz {

inline void require(bool ok) {
  if (!ok) std::abort();
}

inline void check_account(const account& a) {
  require(validate_vertex_id(a.id).empty());
  require(a.id.rfind(a.platform + ":", 0) == 0);
  require(is_valid_utf8(a.handle) && is_valid_utf8(a.name) && is_valid_utf8(a.location));
}

inline bool same(const account& a, const account& b) {
  return a.id == b.id && a.platform == b.platform && a.handle == b.handle && a.name == b.name &&
         a.location == b.location;
}

// The reusing overload (recycled elements) must give exactly what a fresh
// extraction gives.
inline void check_reuse(extract::format f, std::string_view raw, const extract::extraction& x) {
  static extract::extraction reused;
  extract::extract(f, raw, reused);
  require(reused.error == x.error && reused.notice == x.notice && reused.detail == x.detail);
  require(reused.deleted_post_id == x.deleted_post_id && reused.limit_count == x.limit_count);
  require(reused.posts.size() == x.posts.size());
  require(reused.interactions.size() == x.interactions.size());
  require(reused.accounts.size() == x.accounts.size());
  for (std::size_t k = 0; k < x.interactions.size(); ++k) {
    const auto& a = x.interactions[k];
    const auto& b = reused.interactions[k];
    require(a.post_id == b.post_id && same(a.from, b.from) && same(a.to, b.to) &&
            a.kind == b.kind && a.hashtags == b.hashtags && a.at == b.at);
  }
  for (std::size_t k = 0; k < x.accounts.size(); ++k) require(same(x.accounts[k], reused.accounts[k]));
}

inline int run_extract(extract::format f, const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const extract::extraction x = extract::extract(f, raw);
  require(!(x.is_error() && x.is_notice()));
  if (x.is_error()) require(x.posts.empty() && x.interactions.empty() && x.accounts.empty());
  std::set<std::tuple<std::string, std::string, edge_kind>> seen;
  for (const auto& p : x.posts) {
    require(validate_vertex_id(p.post_id).empty());
    check_account(p.author);
    require(p.at.empty() || p.at.size() == 20);
    require(std::is_sorted(p.hashtags.begin(), p.hashtags.end()));
    require(std::adjacent_find(p.hashtags.begin(), p.hashtags.end()) == p.hashtags.end());
    for (const auto& t : p.hashtags) require(!t.empty() && is_valid_utf8(t));
  }
  for (const auto& i : x.interactions) {
    check_account(i.from);
    check_account(i.to);
    require(i.from.id != i.to.id);
    require(seen.emplace(i.post_id, i.to.id, i.kind).second);
  }
  for (const auto& a : x.accounts) check_account(a);
  check_reuse(f, raw, x);
  // Detection never crashes.
  (void)extract::detect_format(raw);
  return 0;
}

} // namespace tlflow::fuzz
