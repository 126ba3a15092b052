// Process-wide allocator settings for a long-running service.
//
// glibc returns freed memory at the top of the heap to the kernel once more
// than 128 KB is free (M_TRIM_THRESHOLD), and serves blocks from 128 KB up
// (adjusting upward) with their own mmap. A service that builds and frees a
// large request or result every few milliseconds (GremlinStore's batches,
// GraphSON results, API bodies) then faults the same pages in again and
// again; on the 2-core VMs this was measured on, a page fault costs ~14 µs
// and the churn took more CPU than the work (bench/gremlin_bench.cpp:
// 60-66k vs 121-138k batched interactions/s). keep_freed_memory() keeps up
// to 128 MB of freed heap and serves blocks below 32 MB from the heap:
// resident memory stays at its high-water mark instead.
//
// Does nothing when GLIBC_TUNABLES is set: the operator's settings win.
#pragma once

namespace tlflow {

void keep_freed_memory() noexcept;

} // namespace tlflow
