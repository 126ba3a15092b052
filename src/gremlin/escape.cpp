#include "gremlin/escape.hpp"

#include "util/utf8.hpp"

#include <cstdint>
#include <cstdio>

namespace tlflow::gremlin {

namespace {

// Decodes one UTF-8 sequence at `i`; returns U+FFFD (consuming one byte) on
// anything invalid (overlong, surrogate, truncated, > U+10FFFF).
char32_t next_code_point(std::string_view s, std::size_t& i) {
  auto b = static_cast<unsigned char>(s[i]);
  auto cont = [&](std::size_t k) -> int {
    if (i + k >= s.size()) return -1;
    auto c = static_cast<unsigned char>(s[i + k]);
    return (c & 0xC0) == 0x80 ? (c & 0x3F) : -1;
  };
  if (b < 0x80) { ++i; return b; }
  if (b >= 0xC2 && b <= 0xDF) {
    int c1 = cont(1);
    if (c1 >= 0) { i += 2; return (char32_t(b & 0x1F) << 6) | char32_t(c1); }
  } else if (b >= 0xE0 && b <= 0xEF) {
    int c1 = cont(1), c2 = c1 >= 0 ? cont(2) : -1;
    if (c1 >= 0 && c2 >= 0) {
      char32_t cp = (char32_t(b & 0x0F) << 12) | (char32_t(c1) << 6) | char32_t(c2);
      if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) { i += 3; return cp; }
    }
  } else if (b >= 0xF0 && b <= 0xF4) {
    int c1 = cont(1), c2 = c1 >= 0 ? cont(2) : -1, c3 = c2 >= 0 ? cont(3) : -1;
    if (c1 >= 0 && c2 >= 0 && c3 >= 0) {
      char32_t cp = (char32_t(b & 0x07) << 18) | (char32_t(c1) << 12) | (char32_t(c2) << 6) | char32_t(c3);
      if (cp >= 0x10000 && cp <= 0x10FFFF) { i += 4; return cp; }
    }
  }
  ++i;
  return 0xFFFD;
}

void put_u(std::string& out, unsigned unit) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\u%04x", unit & 0xFFFFu);
  out += buf;
}

} // namespace

std::string gremlin_string_literal(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '\'';
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = next_code_point(s, i);
    if (cp == '\'' || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp >= 0x20 && cp <= 0x7E) {
      // '$' is inert in single quotes (Groovy GStrings need double quotes).
      out += static_cast<char>(cp);
    } else if (cp < 0x10000) {
      put_u(out, static_cast<unsigned>(cp));
    } else {
      char32_t v = cp - 0x10000;
      put_u(out, 0xD800 + static_cast<unsigned>(v >> 10));
      put_u(out, 0xDC00 + static_cast<unsigned>(v & 0x3FF));
    }
  }
  out += '\'';
  return out;
}

std::optional<std::string> parse_gremlin_string_literal(std::string_view t) {
  if (t.size() < 2 || t.front() != '\'' || t.back() != '\'') return std::nullopt;
  std::string out;
  auto hex4 = [&](std::size_t at) -> int {
    if (at + 4 > t.size() - 1) return -1;
    int v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      char c = t[at + k];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else return -1;
    }
    return v;
  };
  for (std::size_t i = 1; i + 1 < t.size();) {
    char c = t[i];
    if (c == '\'') return std::nullopt; // an unescaped quote would end the literal
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) return std::nullopt;
    if (c != '\\') { out += c; ++i; continue; }
    if (i + 1 >= t.size() - 1) return std::nullopt; // a backslash escaping the closing quote
    char e = t[i + 1];
    if (e == '\'' || e == '\\') { out += e; i += 2; continue; }
    if (e != 'u') return std::nullopt;
    int u = hex4(i + 2);
    if (u < 0) return std::nullopt;
    i += 6;
    char32_t cp = static_cast<char32_t>(u);
    if (u >= 0xD800 && u <= 0xDBFF) {
      if (i + 1 < t.size() - 1 && t[i] == '\\' && t[i + 1] == 'u') {
        int lo = hex4(i + 2);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((char32_t(u) - 0xD800) << 10) + (char32_t(lo) - 0xDC00);
          i += 6;
        } else return std::nullopt;
      } else return std::nullopt;
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
      return std::nullopt;
    }
    util::append_utf8(out, cp);
  }
  return out;
}

} // namespace tlflow::gremlin
