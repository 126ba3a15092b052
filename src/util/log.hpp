// Minimal leveled logging to stderr, one line per event:
//   2026-11-22T07:00:00Z info  api: listening on 0.0.0.0:8080
// The level is process-wide (set once by main from --log-level); this is the
// one deliberate global in tlflow, as in most servers. Never log secrets.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace tlflow::log {

enum class level { trace, debug, info, warn, error, off };

void set_level(level l) noexcept;
level current_level() noexcept;
bool parse_level(std::string_view text, level& out) noexcept;
void write(level l, std::string_view component, std::string_view message);

template <class... Args>
void emit(level l, std::string_view component, const Args&... args) {
  if (l < current_level()) return;
  std::ostringstream os;
  (os << ... << args);
  write(l, component, os.str());
}

template <class... A> void trace(std::string_view c, const A&... a) { emit(level::trace, c, a...); }
template <class... A> void debug(std::string_view c, const A&... a) { emit(level::debug, c, a...); }
template <class... A> void info(std::string_view c, const A&... a) { emit(level::info, c, a...); }
template <class... A> void warn(std::string_view c, const A&... a) { emit(level::warn, c, a...); }
template <class... A> void error(std::string_view c, const A&... a) { emit(level::error, c, a...); }

} // namespace tlflow::log
