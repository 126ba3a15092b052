#include "api/cursor.hpp"

namespace tlflow::api {
namespace {
constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int index_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}
} // namespace

std::string base64url_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
  } else if (i + 2 == in.size()) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = index_of(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // Leftover bits must be zero, so every cursor has exactly one spelling.
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string vertex_cursor(const std::string& after_id) {
  return base64url_encode("v\x1f" + after_id);
}

std::optional<std::string> parse_vertex_cursor(std::string_view cursor) {
  auto raw = base64url_decode(cursor);
  if (!raw || raw->size() < 3 || raw->compare(0, 2, "v\x1f") != 0) return std::nullopt;
  std::string id = raw->substr(2);
  if (!validate_vertex_id(id).empty()) return std::nullopt;
  return id;
}

std::string community_cursor(const std::string& after_id) {
  return base64url_encode("c\x1f" + after_id);
}

std::optional<std::string> parse_community_cursor(std::string_view cursor) {
  auto raw = base64url_decode(cursor);
  if (!raw || raw->size() < 3 || raw->compare(0, 2, "c\x1f") != 0) return std::nullopt;
  std::string id = raw->substr(2);
  if (!validate_vertex_id(id).empty()) return std::nullopt;
  return id;
}

std::string search_cursor(const search_key& after) {
  return base64url_encode("s\x1f" + std::to_string(after.match) + "\x1f" +
                          std::to_string(after.weight) + "\x1f" + after.id);
}

std::optional<search_key> parse_search_cursor(std::string_view cursor) {
  auto raw = base64url_decode(cursor);
  if (!raw || raw->compare(0, 2, "s\x1f") != 0) return std::nullopt;
  std::string_view rest(*raw);
  rest.remove_prefix(2);
  const auto a = rest.find('\x1f');
  if (a == std::string_view::npos) return std::nullopt;
  const auto b = rest.find('\x1f', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  const auto digits = [](std::string_view t) {
    return !t.empty() && t.size() <= 19 &&
           t.find_first_not_of("0123456789") == std::string_view::npos;
  };
  const auto m = rest.substr(0, a), w = rest.substr(a + 1, b - a - 1);
  if (!digits(m) || !digits(w) || m.size() != 1 || m[0] > '2') return std::nullopt;
  search_key k;
  k.match = static_cast<unsigned>(m[0] - '0');
  k.weight = std::stoull(std::string(w));
  k.id = std::string(rest.substr(b + 1));
  if (!validate_vertex_id(k.id).empty()) return std::nullopt;
  return k;
}

std::string edge_cursor(const edge_key& after) {
  std::string raw = "e\x1f";
  raw += after.from;
  raw += '\x1f';
  raw += after.to;
  raw += '\x1f';
  raw += to_string(after.kind);
  return base64url_encode(raw);
}

std::optional<edge_key> parse_edge_cursor(std::string_view cursor) {
  auto raw = base64url_decode(cursor);
  if (!raw || raw->size() < 2 || raw->compare(0, 2, "e\x1f") != 0) return std::nullopt;
  const std::string body = raw->substr(2);
  // Ids never hold control characters, so 0x1F separates unambiguously.
  const std::size_t a = body.find('\x1f');
  if (a == std::string::npos) return std::nullopt;
  const std::size_t b = body.find('\x1f', a + 1);
  if (b == std::string::npos) return std::nullopt;
  edge_key key;
  key.from = body.substr(0, a);
  key.to = body.substr(a + 1, b - a - 1);
  auto kind = parse_edge_kind(body.substr(b + 1));
  if (!kind || !validate_vertex_id(key.from).empty() || !validate_vertex_id(key.to).empty()) {
    return std::nullopt;
  }
  key.kind = *kind;
  return key;
}

} // namespace tlflow::api
