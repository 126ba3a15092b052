#include "api/router.hpp"

#include <algorithm>

namespace tlflow::api {

int http_status(errc code) noexcept {
  switch (code) {
    case errc::invalid_argument:
    case errc::invalid_id:
    case errc::malformed_json: return 400;
    case errc::unauthorized: return 401;
    case errc::forbidden: return 403;
    case errc::vertex_not_found:
    case errc::edge_not_found:
    case errc::no_path:
    case errc::ticket_not_found:
    case errc::not_found: return 404;
    case errc::method_not_allowed: return 405;
    case errc::conflict:
    case errc::limit_reached: return 409;
    case errc::payload_too_large: return 413;
    case errc::unsupported_media_type: return 415;
    case errc::throttled: return 429;
    case errc::store_unavailable:
    case errc::overloaded: return 503;
    case errc::request_timeout: return 408;
    case errc::header_too_large: return 431;
    case errc::too_expensive: return 422;
    case errc::not_supported: return 501;
    case errc::io_error:
    case errc::internal: return 500;
  }
  return 500;
}

const std::string& request::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  throw std::logic_error("route has no parameter " + std::string(name));
}

std::optional<std::string> request::query_value(std::string_view name) const {
  auto [lo, hi] = query.equal_range(std::string(name));
  if (lo == hi) return std::nullopt;
  return std::prev(hi)->second;
}

std::optional<std::string> request::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return std::nullopt;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// 2: literal, 1: literal text around parameters, 0: a lone parameter.
int segment_rank(bool literal, std::size_t pieces) {
  if (literal) return 2;
  return pieces > 1 ? 1 : 0;
}

} // namespace

std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>((hi << 4) | lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

result<std::multimap<std::string, std::string>> parse_query(std::string_view query) {
  std::multimap<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(pos, amp - pos);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      auto key = percent_decode(pair.substr(0, eq), true);
      auto value = eq == std::string_view::npos ? std::optional<std::string>(std::string())
                                                : percent_decode(pair.substr(eq + 1), true);
      if (!key || !value) {
        return {errc::invalid_argument, "bad percent-encoding in the query string"};
      }
      out.emplace(std::move(*key), std::move(*value));
    }
    pos = amp + 1;
  }
  return out;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::size_t pos = 0;
  while (true) {
    const std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) {
      out.push_back(path.substr(pos));
      break;
    }
    out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

void router::add_route(std::string method, std::string path_template, handler fn,
                       route_options options) {
  if (path_template.empty() || path_template.front() != '/') {
    throw std::invalid_argument("route template must start with '/': " + path_template);
  }
  for (const auto& r : routes_) {
    if (r.method == method && r.path_template == path_template) {
      throw std::invalid_argument("duplicate route " + method + " " + path_template);
    }
  }
  compiled c;
  for (std::string_view seg : split_path(path_template)) {
    segment s;
    std::size_t pos = 0;
    while (pos < seg.size()) {
      if (seg[pos] == '{') {
        const std::size_t close = seg.find('}', pos);
        if (close == std::string_view::npos || close == pos + 1) {
          throw std::invalid_argument("bad parameter in template " + path_template);
        }
        if (!s.pieces.empty() && s.pieces.back().is_param) {
          throw std::invalid_argument("two adjacent parameters in " + path_template);
        }
        s.pieces.push_back({true, std::string(seg.substr(pos + 1, close - pos - 1))});
        pos = close + 1;
      } else {
        std::size_t next = seg.find('{', pos);
        if (next == std::string_view::npos) next = seg.size();
        s.pieces.push_back({false, std::string(seg.substr(pos, next - pos))});
        pos = next;
      }
    }
    c.segments.push_back(std::move(s));
  }
  c.route_index = routes_.size();
  routes_.push_back(route{std::move(method), std::move(path_template), std::move(fn), options,
                          routes_.size()});
  compiled_.push_back(std::move(c));
}

bool router::match_segment(const segment& s, std::string_view raw,
                           std::vector<std::pair<std::string, std::string>>& out) {
  if (s.pieces.empty()) return raw.empty();
  std::size_t pos = 0;
  for (std::size_t i = 0; i < s.pieces.size(); ++i) {
    const piece& p = s.pieces[i];
    if (!p.is_param) {
      if (raw.substr(pos, p.text.size()) != p.text) return false;
      pos += p.text.size();
      continue;
    }
    // A parameter runs up to the next literal piece (first occurrence), or
    // to the end of the segment. It never matches empty text.
    std::size_t end = raw.size();
    if (i + 1 < s.pieces.size()) {
      end = raw.find(s.pieces[i + 1].text, pos);
      if (end == std::string_view::npos) return false;
    }
    if (end == pos) return false;
    out.emplace_back(p.text, std::string(raw.substr(pos, end - pos)));
    pos = end;
  }
  return pos == raw.size();
}

match_result router::match(std::string_view method, std::string_view path) const {
  match_result res;
  const auto raw_segments = split_path(path);

  struct candidate {
    std::size_t compiled_index;
    std::vector<int> rank;
    std::vector<std::pair<std::string, std::string>> raw_params;
  };
  std::vector<candidate> candidates;
  for (std::size_t ci = 0; ci < compiled_.size(); ++ci) {
    const compiled& c = compiled_[ci];
    if (c.segments.size() != raw_segments.size()) continue;
    candidate cand{ci, {}, {}};
    bool ok = true;
    for (std::size_t i = 0; i < raw_segments.size() && ok; ++i) {
      ok = match_segment(c.segments[i], raw_segments[i], cand.raw_params);
      cand.rank.push_back(segment_rank(c.segments[i].literal(), c.segments[i].pieces.size()));
    }
    if (ok) candidates.push_back(std::move(cand));
  }
  if (candidates.empty()) return res;

  // The most specific template names the resource.
  const auto best = std::max_element(candidates.begin(), candidates.end(),
                                     [](const candidate& a, const candidate& b) {
                                       return a.rank < b.rank;
                                     });
  const std::string& best_template = routes_[compiled_[best->compiled_index].route_index].path_template;
  const candidate* chosen = nullptr;
  for (const auto& cand : candidates) {
    const route& r = routes_[compiled_[cand.compiled_index].route_index];
    if (r.path_template != best_template) continue;
    if (r.method == method) chosen = &cand;
    if (std::find(res.allow.begin(), res.allow.end(), r.method) == res.allow.end()) {
      res.allow.push_back(r.method);
    }
  }
  if (chosen == nullptr) {
    // HEAD is not served; say so like any other method.
    res.outcome = match_result::kind::method_not_allowed;
    return res;
  }
  res.allow.clear();
  for (const auto& [name, raw] : chosen->raw_params) {
    auto decoded = percent_decode(raw, false);
    if (!decoded) {
      res.outcome = match_result::kind::bad_path;
      res.message = "bad percent-encoding in path parameter '" + name + "'";
      return res;
    }
    res.params.emplace_back(name, std::move(*decoded));
  }
  res.outcome = match_result::kind::found;
  res.matched = &routes_[compiled_[chosen->compiled_index].route_index];
  return res;
}

} // namespace tlflow::api
