#include "api/slice_params.hpp"

#include <algorithm>

#include "tracking/tracking.hpp"
#include "util/iso_time.hpp"

namespace tlflow::api {
namespace {

constexpr std::string_view platform_names[] = {"bluesky", "mastodon", "twitter"};
constexpr std::size_t max_values = 100; // per parameter: a slice is a question, not a list

// Every value of `name`, commas splitting one value into several; empty
// pieces are ignored.
std::vector<std::string> values(const request& q, const std::string& name) {
  std::vector<std::string> out;
  auto [lo, hi] = q.query.equal_range(name);
  for (auto it = lo; it != hi; ++it) {
    std::string_view v = it->second;
    for (;;) {
      const auto comma = v.find(',');
      const auto piece = v.substr(0, comma);
      if (!piece.empty()) out.emplace_back(piece);
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  if (out.size() > max_values)
    throw api_error(errc::invalid_argument,
                    name + ": at most " + std::to_string(max_values) + " values");
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool date_only(const std::string& v) {
  return v.size() == 10 && v[4] == '-' && v[7] == '-';
}

std::string time_param(const request& q, const std::string& name, bool end_of_day) {
  auto v = q.query_value(name);
  if (!v || v->empty()) return {};
  std::string text = *v;
  if (date_only(text)) text += end_of_day ? "T23:59:59Z" : "T00:00:00Z";
  auto t = util::parse_iso8601(text);
  if (!t)
    throw api_error(errc::invalid_argument,
                    name + " must be an ISO-8601 time (2026-11-22T06:55:14Z) or date (2026-11-22)");
  return util::format_iso8601(*t);
}

void join(std::string& out, std::string_view key, const std::string& value) {
  if (!out.empty()) out += '&';
  out += key;
  out += '=';
  out += percent_encode(value);
}

} // namespace

slice parse_slice(const request& q) {
  slice s;
  for (const auto& k : values(q, "kind")) {
    auto kind = parse_edge_kind(k);
    if (!kind)
      throw api_error(errc::invalid_argument,
                      "kind must be one of mention, reply, repost, quote, link");
    s.kinds.push_back(*kind);
  }
  std::sort(s.kinds.begin(), s.kinds.end());
  s.kinds.erase(std::unique(s.kinds.begin(), s.kinds.end()), s.kinds.end());

  for (const auto& h : values(q, "hashtag")) {
    auto tag = normalize_hashtag(h);
    if (!tag) throw api_error(errc::invalid_argument, "hashtag: " + tag.err().message);
    s.hashtags.push_back(std::move(*tag));
  }
  std::sort(s.hashtags.begin(), s.hashtags.end());
  s.hashtags.erase(std::unique(s.hashtags.begin(), s.hashtags.end()), s.hashtags.end());

  s.since = time_param(q, "since", false);
  s.until = time_param(q, "until", true);
  if (!s.since.empty() && !s.until.empty() && s.since > s.until)
    throw api_error(errc::invalid_argument, "since must not be after until");

  if (auto w = q.query_value("min_weight")) {
    bool digits = !w->empty() && w->size() <= 10;
    for (char c : *w) digits = digits && c >= '0' && c <= '9';
    const std::uint64_t v = digits ? std::stoull(*w) : 0;
    if (!digits || v > 1000000000)
      throw api_error(errc::invalid_argument, "min_weight must be an integer from 0 to 1000000000");
    s.min_weight = v;
  }

  for (const auto& p : values(q, "platform")) {
    if (std::find(std::begin(platform_names), std::end(platform_names), p) ==
        std::end(platform_names))
      throw api_error(errc::invalid_argument, "platform must be one of twitter, mastodon, bluesky");
    s.platforms.push_back(p);
  }
  return s;
}

std::string slice_query(const slice& s) {
  std::string out;
  for (auto k : s.kinds) join(out, "kind", std::string(to_string(k)));
  for (const auto& h : s.hashtags) join(out, "hashtag", h);
  if (!s.since.empty()) join(out, "since", s.since);
  if (!s.until.empty()) join(out, "until", s.until);
  if (s.min_weight) join(out, "min_weight", std::to_string(s.min_weight));
  for (const auto& p : s.platforms) join(out, "platform", p);
  return out;
}

} // namespace tlflow::api
