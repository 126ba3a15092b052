// api/web_assets.hpp — the files of the web view (web/), compiled into the
// binary: cmake/embed_web.cmake generates the definition at build time.
#pragma once

#include <cstddef>
#include <vector>

namespace tlflow::api {

struct embedded_asset {
  const char* name;  // path under web/, e.g. "app.js", "vendor/sigma.min.js"
  const unsigned char* data;
  std::size_t size;
};

// Every embedded file, sorted by name.
const std::vector<embedded_asset>& embedded_web_assets();

} // namespace tlflow::api
