#include "util/allocator.hpp"

#include <malloc.h>

#include <cstdlib>

namespace tlflow {

void keep_freed_memory() noexcept {
  if (std::getenv("GLIBC_TUNABLES")) return;
  ::mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  ::mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
}

} // namespace tlflow
