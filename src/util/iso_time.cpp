#include "util/iso_time.hpp"

#include <chrono>
#include <cstdio>

#include "util/civil_date.hpp"

namespace tlflow::util {
namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

} // namespace

std::optional<std::uint32_t> parse_iso8601(std::string_view s) noexcept {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' ||
      !digits(s, 17, 2, se))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  std::size_t i = 19;
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return std::nullopt;
  }
  std::int64_t offset = 0;
  if (i < s.size()) {
    if (s[i] == 'Z' || s[i] == 'z') {
      ++i;
    } else if (s[i] == '+' || s[i] == '-') {
      const int sign = s[i] == '-' ? -1 : 1;
      int oh = 0, om = 0;
      if (!digits(s, i + 1, 2, oh)) return std::nullopt;
      std::size_t j = i + 3;
      if (j < s.size() && s[j] == ':') ++j;
      if (!digits(s, j, 2, om)) return std::nullopt;
      if (oh > 23 || om > 59) return std::nullopt;
      offset = sign * (oh * 3600 + om * 60);
      i = j + 2;
    } else {
      return std::nullopt;
    }
  }
  if (i != s.size()) return std::nullopt;
  const std::int64_t days =
      util::days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const std::int64_t t = days * 86400 + h * 3600 + mi * 60 + se - offset;
  if (t < 0 || t > static_cast<std::int64_t>(UINT32_MAX)) return std::nullopt;
  return static_cast<std::uint32_t>(t);
}

std::string format_iso8601(std::uint32_t seconds) {
  const std::int64_t t = seconds;
  std::int64_t y = 0;
  unsigned m = 0, d = 0;
  util::civil_from_days(t / 86400, y, m, d);
  const std::int64_t rem = t % 86400;
  // By hand: snprintf was a tenth of an export's time (every edge has two).
  // A uint32 of seconds ends in 2106, so the year has four digits.
  std::string out = "0000-00-00T00:00:00Z";
  auto put2 = [&](std::size_t at, std::int64_t v) {
    out[at] = static_cast<char>('0' + v / 10);
    out[at + 1] = static_cast<char>('0' + v % 10);
  };
  put2(0, y / 100);
  put2(2, y % 100);
  put2(5, m);
  put2(8, d);
  put2(11, rem / 3600);
  put2(14, rem / 60 % 60);
  put2(17, rem % 60);
  return out;
}

std::uint32_t now_seconds() noexcept {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  return s < 0 ? 0 : static_cast<std::uint32_t>(s);
}

} // namespace tlflow::util
