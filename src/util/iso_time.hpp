// Compact times: seconds since 1970 in a uint32 (1970-01-01 .. 2106-02-07),
// rendered as ISO-8601 `YYYY-MM-DDTHH:MM:SSZ` — the memory store's edge and
// vertex times, and the canonical form of the API's time filters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tlflow::util {

// Accepts `YYYY-MM-DDTHH:MM:SS` with an optional fraction (dropped) and `Z`,
// `+HH:MM`, `-HH:MM` or `+HHMM`; no zone means UTC. nullopt when malformed or
// outside the uint32 range.
std::optional<std::uint32_t> parse_iso8601(std::string_view text) noexcept;
std::string format_iso8601(std::uint32_t seconds);
std::uint32_t now_seconds() noexcept;

} // namespace tlflow::util
