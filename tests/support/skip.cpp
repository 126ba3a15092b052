#include "support/skip.hpp"

#include <atomic>
#include <cstdio>

#include <doctest/doctest.h>

namespace tlflow::test {
namespace {
std::atomic<int> skips{0};
}

void skip(const std::string& why) {
  ++skips;
  std::fprintf(stderr, "SKIPPED: %s\n", why.c_str());
  MESSAGE("SKIPPED: " << why);
}

int skipped_count() { return skips.load(); }

} // namespace tlflow::test
