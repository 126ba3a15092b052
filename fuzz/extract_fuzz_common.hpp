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
  // Detection must agree with itself and never crash.
  (void)extract::detect_format(raw);
  return 0;
}

} // namespace tlflow::fuzz
