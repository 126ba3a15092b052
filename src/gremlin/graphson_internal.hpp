// What the GraphSON value storage, reader and writer share, private to
// src/gremlin/: the per-thread cache of children blocks, and sax_access,
// which builds values in place (for the reader and the value factories).
// graphson_value.cpp: the value; graphson_reader.cpp: text to values
// (RapidJSON SAX, SSE2 scans); graphson_writer.cpp: values to text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

#include "tlflow/gremlin/graphson.hpp"

// For the few helpers on the hot path of reading and writing.
#if defined(__GNUC__)
#define TLFLOW_INLINE inline __attribute__((always_inline))
#else
#define TLFLOW_INLINE inline
#endif

namespace tlflow::gremlin::graphson {

// ---- value ----------------------------------------------------------------
// A value owns its text (inline up to small_max bytes) or its children (one
// block of exactly constructed values) and holds no pointer into itself: its
// 32 bytes can be moved with memcpy, which is how the reader moves a
// container's children from its stack into their block and how blocks grow.

namespace detail {
// Children blocks of up to 16 values, kept for reuse per thread: a result
// is thousands of small blocks, freed together and soon allocated again
// (glibc keeps 7 of a size per thread; past them, reading 1,000 vertices
// spent a sixth of its time in malloc and free). At most 2 MB per thread,
// given back when the thread ends.
class block_cache {
public:
  static constexpr std::size_t max_values = 16;
  static TLFLOW_INLINE value* get(std::size_t n) {
    lists& c = cache;
    if (n <= max_values && c.free[n]) {
      void* p = c.free[n];
      c.free[n] = *static_cast<void**>(p);
      c.bytes -= n * sizeof(value);
      return static_cast<value*>(p);
    }
    return static_cast<value*>(::operator new(n * sizeof(value)));
  }
  static TLFLOW_INLINE void put(value* p, std::size_t n) noexcept {
    lists& c = cache;
    const std::size_t size = n * sizeof(value);
    if (n <= max_values && kept(c)) {
      // Full: the blocks of other sizes go (what an earlier kind of work
      // left must not keep this one from being kept).
      if (c.bytes + size > max_bytes) drop_all_but(c, n);
      if (c.bytes + size <= max_bytes) {
        *reinterpret_cast<void**>(p) = c.free[n];
        c.free[n] = p;
        c.bytes += size;
        return;
      }
    }
    ::operator delete(p);
  }

private:
  static constexpr std::size_t max_bytes = std::size_t{2} << 20;
  // Trivial, so that its use needs no check that it was constructed.
  struct lists {
    void* free[max_values + 1]; // by size in values; each block links to the next
    std::size_t bytes;
    enum : std::uint8_t { unused, in_use, ended } state;
  };
  // Defined here (an inline variable), not in one .cpp: the reader takes
  // blocks and the value code gives them back, and each file must see that
  // the cache is constant-initialised to reach it directly, with no call to
  // a thread_local wrapper for every block.
  inline static thread_local lists cache{};
  static void drop_all_but(lists& c, std::size_t keep) noexcept {
    for (std::size_t n = 1; n <= max_values; ++n) {
      if (n == keep) continue;
      for (void*& head = c.free[n]; head;) {
        ::operator delete(std::exchange(head, *static_cast<void**>(head)));
        c.bytes -= n * sizeof(value);
      }
    }
  }
  // Empties the lists at the thread's end; after that, blocks are deleted.
  struct flush {
    ~flush() {
      drop_all_but(cache, 0);
      cache.state = lists::ended;
    }
  };
  static bool kept(lists& c) noexcept {
    if (c.state == lists::unused) {
      thread_local flush at_exit; // registered on first use
      (void)at_exit;
      c.state = lists::in_use;
    }
    return c.state == lists::in_use;
  }
};
} // namespace detail

// Builds values in place: for the reader, and the factories below.
struct sax_access {
  static void retype(value& v, kind k) { v.kind_ = k; }
  static void set_int(value& v, kind k, std::int64_t i) { v.kind_ = k; v.i_ = i; }
  static void set_double(value& v, kind k, double d) { v.kind_ = k; v.d_ = d; }
  static void set_bool(value& v, bool b) { v.kind_ = kind::boolean; v.b_ = b; }
  // The set_* below expect v to hold no storage (null or a scalar).
  static std::uint32_t checked_size(std::size_t n) {
    if (n > UINT32_MAX) throw std::length_error("graphson: a string or collection of 4 GiB or more");
    return static_cast<std::uint32_t>(n);
  }
  static TLFLOW_INLINE void set_text(value& v, kind k, const char* s, std::size_t n) {
    v.n_ = checked_size(n);
    char* to = v.small_;
    if (n > value::small_max) to = v.big_ = new char[n];
    if (n > 0) std::memcpy(to, s, n);
    v.kind_ = k;
  }
  static void set_string(value& v, const char* s, std::size_t n) { set_text(v, kind::string, s, n); }
  // Empty children with room for `cap`.
  static void set_children(value& v, kind k, std::size_t cap) {
    v.items_.cap = checked_size(cap);
    v.items_.p = new_block(cap);
    v.n_ = 0;
    v.kind_ = k;
  }
  // Moves n values from `from` to uninitialised `to`; `from` is then
  // uninitialised too (nothing there is destroyed).
  static void relocate(value* to, value* from, std::size_t n) noexcept {
    if (n > 0) std::memcpy(static_cast<void*>(to), static_cast<const void*>(from), n * sizeof(value));
  }
  // What parse_value's buffer has after the text, so that a short text is
  // copied with one fixed-size copy, and RapidJSON's SSE2 scans, which load
  // 16 aligned bytes at a time, may read up to 15 bytes past the end.
  static constexpr std::size_t padding = value::small_max;
  static_assert(padding >= 15, "the SSE2 scans read up to 15 bytes past the end");
  // Text from that buffer.
  static TLFLOW_INLINE void set_padded_string(value& v, const char* s, std::size_t n) {
    if (n > value::small_max) return set_text(v, kind::string, s, n);
    std::memcpy(v.small_, s, value::small_max);
    v.n_ = static_cast<std::uint32_t>(n);
    v.kind_ = kind::string;
  }
  static value* new_block(std::size_t n) { return n > 0 ? detail::block_cache::get(n) : nullptr; }
  static void free_block(value* p, std::size_t n) noexcept {
    if (p) detail::block_cache::put(p, n);
  }
  // Children of kind k: the n values in `block` (from new_block).
  static void adopt(value& v, kind k, value* block, std::size_t n) noexcept {
    v.items_.p = block;
    v.items_.cap = v.n_ = static_cast<std::uint32_t>(n);
    v.kind_ = k;
  }
};

} // namespace tlflow::gremlin::graphson
