#include "util/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "tlflow/model.hpp"

namespace tlflow::log {
namespace {
std::atomic<level> g_level{level::info};
std::mutex g_write_mutex;
constexpr std::string_view names[] = {"trace", "debug", "info ", "warn ", "error", "off  "};
} // namespace

void set_level(level l) noexcept { g_level.store(l); }
level current_level() noexcept { return g_level.load(std::memory_order_relaxed); }

bool parse_level(std::string_view text, level& out) noexcept {
  static constexpr std::string_view keys[] = {"trace", "debug", "info", "warn", "error", "off"};
  for (int i = 0; i < 6; ++i) {
    if (text == keys[i]) { out = static_cast<level>(i); return true; }
  }
  return false;
}

void write(level l, std::string_view component, std::string_view message) {
  const std::string ts = now_iso8601();
  const auto name = names[static_cast<int>(l)];
  std::lock_guard<std::mutex> lock(g_write_mutex);
  std::fprintf(stderr, "%s %.*s %.*s: %.*s\n", ts.c_str(), static_cast<int>(name.size()), name.data(),
               static_cast<int>(component.size()), component.data(),
               static_cast<int>(message.size()), message.data());
}

} // namespace tlflow::log
