// The memory store keeps times as util's compact seconds (util/iso_time.hpp).
#pragma once

#include "util/iso_time.hpp"

namespace tlflow::mem {
using util::format_iso8601;
using util::now_seconds;
using util::parse_iso8601;
} // namespace tlflow::mem
