#include "gremlin/protocol.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace tlflow::gremlin {

result<endpoint> parse_endpoint(std::string_view url) {
  endpoint ep;
  std::string_view rest;
  if (url.substr(0, 5) == "ws://") { rest = url.substr(5); }
  else if (url.substr(0, 6) == "wss://") { ep.tls = true; rest = url.substr(6); }
  else return error{errc::invalid_argument, "gremlin url must start with ws:// or wss://"};
  auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  ep.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (hostport.empty()) return error{errc::invalid_argument, "gremlin url has no host"};
  if (hostport.front() == '[') {
    auto close = hostport.find(']');
    if (close == std::string_view::npos) return error{errc::invalid_argument, "gremlin url: bad IPv6 host"};
    ep.host = std::string(hostport.substr(1, close - 1));
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return error{errc::invalid_argument, "gremlin url: bad port"};
      ep.port = std::string(after.substr(1));
    }
  } else {
    auto colon = hostport.rfind(':');
    ep.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) ep.port = std::string(hostport.substr(colon + 1));
  }
  if (ep.port.empty()) ep.port = ep.tls ? "443" : "80";
  for (char c : ep.port)
    if (!std::isdigit(static_cast<unsigned char>(c))) return error{errc::invalid_argument, "gremlin url: bad port"};
  if (ep.host.empty()) return error{errc::invalid_argument, "gremlin url has no host"};
  return ep;
}

std::string binary_frame(graphson::version v, std::string_view json) {
  std::string_view mime = graphson::mime_type(v);
  std::string out;
  out.reserve(1 + mime.size() + json.size());
  out.push_back(static_cast<char>(mime.size()));
  out.append(mime);
  out.append(json);
  return out;
}

std::optional<split_frame> parse_binary_frame(std::string_view payload) {
  if (payload.empty()) return std::nullopt;
  auto n = static_cast<signed char>(payload[0]);
  if (n <= 0 || static_cast<std::size_t>(n) + 1 > payload.size()) return std::nullopt;
  return split_frame{std::string(payload.substr(1, static_cast<std::size_t>(n))),
                     payload.substr(1 + static_cast<std::size_t>(n))};
}

namespace {
constexpr char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
} // namespace

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    auto n = (std::uint32_t(std::uint8_t(in[i])) << 16) | (std::uint32_t(std::uint8_t(in[i + 1])) << 8) |
             std::uint8_t(in[i + 2]);
    out += b64[(n >> 18) & 63]; out += b64[(n >> 12) & 63]; out += b64[(n >> 6) & 63]; out += b64[n & 63];
  }
  if (i + 1 == in.size()) {
    auto n = std::uint32_t(std::uint8_t(in[i])) << 16;
    out += b64[(n >> 18) & 63]; out += b64[(n >> 12) & 63]; out += "==";
  } else if (i + 2 == in.size()) {
    auto n = (std::uint32_t(std::uint8_t(in[i])) << 16) | (std::uint32_t(std::uint8_t(in[i + 1])) << 8);
    out += b64[(n >> 18) & 63]; out += b64[(n >> 12) & 63]; out += b64[(n >> 6) & 63]; out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int a = val(in[i]), b = val(in[i + 1]);
    if (a < 0 || b < 0) return std::nullopt;
    bool last = i + 4 == in.size();
    int c = in[i + 2] == '=' && last ? -2 : val(in[i + 2]);
    int d = in[i + 3] == '=' && last ? -2 : val(in[i + 3]);
    if (c == -1 || d == -1 || (c == -2 && d != -2)) return std::nullopt;
    out += static_cast<char>((a << 2) | (b >> 4));
    if (c >= 0) out += static_cast<char>(((b & 15) << 4) | (c >> 2));
    if (d >= 0) out += static_cast<char>(((c & 3) << 6) | d);
  }
  return out;
}

std::string sasl_plain(std::string_view user, std::string_view password) {
  std::string raw;
  raw.push_back('\0');
  raw.append(user);
  raw.push_back('\0');
  raw.append(password);
  return base64_encode(raw);
}

std::optional<std::chrono::milliseconds> parse_timespan(std::string_view s) {
  // [d.]hh:mm:ss[.fffffff]. A negative span (leading '-') is not a wait:
  // refused. Each field has at most 9 digits, so the total cannot overflow
  // (10^9 days are 8.6e16 ms); the caller bounds the wait itself.
  auto digits = [](std::string_view t) {
    if (t.empty() || t.size() > 9) return false;
    for (char c : t) if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
  };
  long long days = 0;
  auto first_colon = s.find(':');
  if (first_colon == std::string_view::npos) return std::nullopt;
  std::string_view head = s.substr(0, first_colon);
  if (auto dot = head.find('.'); dot != std::string_view::npos) {
    if (!digits(head.substr(0, dot))) return std::nullopt;
    days = std::stoll(std::string(head.substr(0, dot)));
    head = head.substr(dot + 1);
  }
  auto second_colon = s.find(':', first_colon + 1);
  if (second_colon == std::string_view::npos) return std::nullopt;
  std::string_view mm = s.substr(first_colon + 1, second_colon - first_colon - 1);
  std::string_view sec = s.substr(second_colon + 1);
  std::string_view frac;
  if (auto dot = sec.find('.'); dot != std::string_view::npos) { frac = sec.substr(dot + 1); sec = sec.substr(0, dot); }
  if (!digits(head) || !digits(mm) || !digits(sec) || (!frac.empty() && !digits(frac))) return std::nullopt;
  long long total = days * 86400000LL + std::stoll(std::string(head)) * 3600000LL +
                    std::stoll(std::string(mm)) * 60000LL + std::stoll(std::string(sec)) * 1000LL;
  if (!frac.empty()) {
    std::string f(frac.substr(0, 3));
    while (f.size() < 3) f += '0';
    total += std::stoll(f);
    // Round any sub-millisecond remainder up: waiting a little longer is safe.
    if (frac.size() > 3 && frac.substr(3).find_first_not_of('0') != std::string_view::npos) total += 1;
  }
  return std::chrono::milliseconds(total);
}

namespace {
std::optional<long long> attr_int(const graphson::value& attrs, std::string_view key) {
  if (!attrs.is_mapping()) return std::nullopt;
  const graphson::value* v = attrs.get(key);
  if (!v || !v->is_numeric()) return std::nullopt;
  return v->as_int();
}
} // namespace

double request_charge(const graphson::value& attrs) {
  if (!attrs.is_mapping()) return 0;
  for (auto key : {"x-ms-total-request-charge", "x-ms-request-charge"})
    if (const graphson::value* v = attrs.get(key); v && v->is_numeric()) return v->as_double();
  return 0;
}

status_action classify(int code, const graphson::value& attrs, bool idempotent) {
  using what = status_action::what;
  status_action a;
  auto ms = attr_int(attrs, "x-ms-status-code");
  if (ms && (*ms < 0 || *ms > 100000)) ms.reset(); // not a status: truncating it to int could make one
  int eff = ms ? static_cast<int>(*ms) : code;
  a.effective_status = eff;
  if (code == 200 || code == 204 || code == 206) {
    if (!ms || *ms < 400) return a; // done
  }
  // The server's wait, within [0, max_retry_after]: a larger one exceeds
  // any client's max_retry_wait anyway (the request fails instead of
  // sleeping), and an unbounded one would overflow the caller's sum.
  auto retry_after = [&]() -> std::chrono::milliseconds {
    if (!attrs.is_mapping()) return {};
    const graphson::value* v = attrs.get("x-ms-retry-after-ms");
    if (!v) return {};
    long long w = 0;
    if (v->is_string()) w = parse_timespan(v->as_string()).value_or(std::chrono::milliseconds{0}).count();
    else if (v->is_numeric()) w = v->as_int();
    return std::chrono::milliseconds(std::clamp<long long>(w, 0, max_retry_after.count()));
  };
  switch (eff) {
  case 401: a.act = what::fail; a.code = errc::unauthorized; return a;
  case 403: a.act = what::fail; a.code = errc::forbidden; return a;
  case 407: a.act = what::fail; a.code = errc::unauthorized; return a; // no credentials
  case 429: a.act = what::retry; a.code = errc::throttled; a.retry_after = retry_after(); return a;
  case 409: // Cosmos: conflicting write; our writes are upserts, so retrying converges
  case 412: // Cosmos: optimistic concurrency; resubmit
  case 596: // TinkerPop: transient (lock, concurrent modification)
    a.act = what::retry; a.code = errc::store_unavailable; a.retry_after = retry_after(); return a;
  case 1007: case 1008: // Cosmos: connection closed / too busy: another connection
    a.act = what::retry_new_connection; a.code = errc::store_unavailable; return a;
  case 598: case 1009: // evaluation timeout
    a.act = idempotent ? what::retry : what::fail; a.code = errc::store_unavailable; return a;
  default: break;
  }
  // 497/498/499 (our request is wrong), 500, 595, 597 (script error), 599
  // (serialization), Cosmos 404/1000/1001/1003/1004: retrying cannot help.
  a.act = what::fail;
  a.code = errc::internal;
  return a;
}

} // namespace tlflow::gremlin
