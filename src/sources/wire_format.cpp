#include "tlflow/source.hpp"

namespace tlflow {

std::string_view to_string(wire_format f) noexcept {
  switch (f) {
    case wire_format::detect: return "detect";
    case wire_format::x_v2: return "x_v2";
    case wire_format::twitter_v1: return "twitter_v1";
    case wire_format::mastodon: return "mastodon";
    case wire_format::jetstream: return "jetstream";
  }
  return "detect";
}

} // namespace tlflow
