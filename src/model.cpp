#include "tlflow/error.hpp"
#include "tlflow/graph_store.hpp"
#include "tlflow/model.hpp"

#include <algorithm>

#include <array>
#include <chrono>
#include <ctime>

namespace tlflow {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::invalid_argument: return "invalid_argument";
    case errc::invalid_id: return "invalid_id";
    case errc::malformed_json: return "malformed_json";
    case errc::unauthorized: return "unauthorized";
    case errc::forbidden: return "forbidden";
    case errc::vertex_not_found: return "vertex_not_found";
    case errc::edge_not_found: return "edge_not_found";
    case errc::no_path: return "no_path";
    case errc::ticket_not_found: return "ticket_not_found";
    case errc::not_found: return "not_found";
    case errc::method_not_allowed: return "method_not_allowed";
    case errc::conflict: return "conflict";
    case errc::limit_reached: return "limit_reached";
    case errc::payload_too_large: return "payload_too_large";
    case errc::unsupported_media_type: return "unsupported_media_type";
    case errc::throttled: return "throttled";
    case errc::store_unavailable: return "store_unavailable";
    case errc::io_error: return "io_error";
    case errc::internal: return "internal";
    case errc::request_timeout: return "request_timeout";
    case errc::header_too_large: return "header_too_large";
    case errc::overloaded: return "overloaded";
    case errc::too_expensive: return "too_expensive";
    case errc::not_supported: return "not_supported";
  }
  return "internal";
}

std::string_view to_string(edge_kind kind) noexcept {
  switch (kind) {
    case edge_kind::mention: return "mention";
    case edge_kind::reply: return "reply";
    case edge_kind::repost: return "repost";
    case edge_kind::quote: return "quote";
    case edge_kind::link: return "link";
  }
  return "link";
}

std::optional<edge_kind> parse_edge_kind(std::string_view text) noexcept {
  for (edge_kind k : all_edge_kinds) {
    if (to_string(k) == text) return k;
  }
  return std::nullopt;
}

bool is_valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) { ++i; continue; }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1Fu; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0Fu; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07u; }
    else return false;
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += len;
  }
  return true;
}

std::string validate_vertex_id(std::string_view id) {
  if (id.empty()) return "id is empty";
  if (id.size() > 256) return "id is longer than 256 bytes";
  if (!is_valid_utf8(id)) return "id is not valid UTF-8";
  for (std::size_t i = 0; i < id.size(); ++i) {
    const auto c = static_cast<unsigned char>(id[i]);
    if (c < 0x20 || c == 0x7F) return "id contains a control character";
    // C1 controls U+0080..U+009F are encoded as C2 80..C2 9F.
    if (c == 0xC2 && i + 1 < id.size()) {
      const auto d = static_cast<unsigned char>(id[i + 1]);
      if (d >= 0x80 && d <= 0x9F) return "id contains a control character";
    }
  }
  return {};
}

std::string now_iso8601() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 32> buf{};
  const std::size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf.data(), n);
}

std::string normalize_location(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) { out.push_back(' '); pending_space = false; }
    out.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : ch);
  }
  return out;
}

void order_location_flows(std::vector<location_flow>& flows, std::size_t limit) {
  // nullopt (unknown) sorts after every known location.
  auto less = [](const std::optional<std::string>& a, const std::optional<std::string>& b) {
    if (a.has_value() != b.has_value()) return a.has_value();
    return a.has_value() && *a < *b;
  };
  std::sort(flows.begin(), flows.end(), [&](const location_flow& a, const location_flow& b) {
    if (a.weight != b.weight) return a.weight > b.weight;
    if (a.edges != b.edges) return a.edges > b.edges;
    if (a.from_location != b.from_location) return less(a.from_location, b.from_location);
    return less(a.to_location, b.to_location);
  });
  if (flows.size() > limit) flows.resize(limit);
}

} // namespace tlflow
