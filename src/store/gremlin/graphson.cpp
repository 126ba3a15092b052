#include "tlflow/gremlin/graphson.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iterator>
#include <cctype>
#include <random>
#include <utility>

// RapidJSON with its SSE2 string and whitespace scans, in a namespace of
// this file's own: those scans load 16 aligned bytes at a time and may read
// up to 15 bytes past the end of the text, which parse_value's buffer pads
// with zeros; the other parsers of tlflow read unpadded buffers and use the
// plain `rapidjson` namespace without them.
#if defined(__SSE2__)
#define RAPIDJSON_SSE2
#endif
#define RAPIDJSON_NAMESPACE tlflow_graphson_rapidjson
#define RAPIDJSON_NAMESPACE_BEGIN namespace tlflow_graphson_rapidjson {
#define RAPIDJSON_NAMESPACE_END }
#include <rapidjson/reader.h>
#include <rapidjson/error/en.h>
#include <rapidjson/internal/dtoa.h>
#include <rapidjson/internal/itoa.h>
namespace rapidjson = tlflow_graphson_rapidjson;

// For the few helpers on the hot path of reading and writing.
#if defined(__GNUC__)
#define TLFLOW_INLINE inline __attribute__((always_inline))
#else
#define TLFLOW_INLINE inline
#endif

namespace tlflow::gremlin::graphson {

namespace {
constexpr std::string_view mime_v1 = "application/vnd.gremlin-v1.0+json";
constexpr std::string_view mime_v2 = "application/vnd.gremlin-v2.0+json";
constexpr std::string_view mime_v3 = "application/vnd.gremlin-v3.0+json";
} // namespace

std::string_view mime_type(version v) noexcept {
  switch (v) {
  case version::v1: return mime_v1;
  case version::v2: return mime_v2;
  case version::v3: return mime_v3;
  }
  return mime_v3;
}

std::optional<version> version_from_mime(std::string_view mime) noexcept {
  auto semi = mime.find(';');
  std::string_view base = mime.substr(0, semi);
  std::string_view params = semi == std::string_view::npos ? std::string_view{} : mime.substr(semi);
  bool untyped = params.find("types=false") != std::string_view::npos;
  if (base == mime_v1) return version::v1;
  if (base == mime_v2) return untyped ? version::v1 : version::v2;
  if (base == mime_v3 || base == "application/json") return untyped ? version::v1 : version::v3;
  return std::nullopt;
}

// ---- value ----------------------------------------------------------------
// A value owns its text (inline up to small_max bytes) or its children (one
// block of exactly constructed values) and holds no pointer into itself: its
// 32 bytes can be moved with memcpy, which is how the reader moves a
// container's children from its stack into their block and how blocks grow.

namespace {
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
  static thread_local lists cache;
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
thread_local block_cache::lists block_cache::cache{};
} // namespace

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
  static value* new_block(std::size_t n) { return n > 0 ? block_cache::get(n) : nullptr; }
  static void free_block(value* p, std::size_t n) noexcept {
    if (p) block_cache::put(p, n);
  }
  // Children of kind k: the n values in `block` (from new_block).
  static void adopt(value& v, kind k, value* block, std::size_t n) noexcept {
    v.items_.p = block;
    v.items_.cap = v.n_ = static_cast<std::uint32_t>(n);
    v.kind_ = k;
  }
};

void value::release() noexcept {
  if (storage_of(kind_) == storage::text) {
    if (n_ > small_max) delete[] big_;
  } else {
    for (std::uint32_t i = 0; i < n_; ++i) items_.p[i].destroy();
    sax_access::free_block(items_.p, items_.cap);
  }
}

void value::steal(value& o) noexcept {
  sax_access::relocate(this, &o, 1);
  o.kind_ = kind::null;
  o.n_ = 0;
}

value::value(const value& o) : kind_(o.kind_), b_(o.b_), n_(0) {
  switch (storage_of(kind_)) {
  case storage::text: {
    std::string_view t = o.as_string();
    sax_access::set_text(*this, kind_, t.data(), t.size());
    break;
  }
  case storage::children:
    sax_access::set_children(*this, kind_, o.n_);
    try {
      for (const value& x : o.items()) {
        new (items_.p + n_) value(x);
        ++n_;
      }
    } catch (...) { // out of memory: what was copied is freed
      release();
      throw;
    }
    break;
  case storage::none:
    std::memcpy(&i_, &o.i_, sizeof i_);
    break;
  }
}

value& value::operator=(const value& o) {
  if (this != &o) {
    value copy(o);
    *this = std::move(copy);
  }
  return *this;
}

value& value::operator=(value&& o) noexcept {
  if (this == &o) return *this;
  value moved(std::move(o)); // o may live inside *this
  destroy();
  steal(moved);
  return *this;
}

void value::push(value v) {
  if (storage_of(kind_) != storage::children) return;
  if (n_ == items_.cap) {
    const std::uint32_t cap = sax_access::checked_size(std::max<std::size_t>(4, std::size_t{items_.cap} * 2));
    value* p = sax_access::new_block(cap);
    sax_access::relocate(p, items_.p, n_);
    sax_access::free_block(items_.p, items_.cap);
    items_.p = p;
    items_.cap = cap;
  }
  new (items_.p + n_) value(std::move(v));
  ++n_;
}

std::string_view value::text_of_other() const noexcept {
  if (kind_ == kind::typed && n_ > 0) return items_.p[0].as_string();
  return {};
}

value value::boolean(bool b) { value v; v.kind_ = kind::boolean; v.b_ = b; return v; }
value value::int32(std::int32_t i) { value v; v.kind_ = kind::int32; v.i_ = i; return v; }
value value::int64(std::int64_t i) { value v; v.kind_ = kind::int64; v.i_ = i; return v; }
value value::float32(float f) { value v; v.kind_ = kind::float32; v.d_ = f; return v; }
value value::float64(double d) { value v; v.kind_ = kind::float64; v.d_ = d; return v; }
value value::integer(std::int64_t i) { value v; v.kind_ = kind::integer; v.i_ = i; return v; }
value value::number(double d) { value v; v.kind_ = kind::number; v.d_ = d; return v; }
value value::date(std::int64_t ms) { value v; v.kind_ = kind::date; v.i_ = ms; return v; }
value value::timestamp(std::int64_t ms) { value v; v.kind_ = kind::timestamp; v.i_ = ms; return v; }

namespace {
value text_of(kind k, std::string_view s) {
  value v;
  sax_access::set_text(v, k, s.data(), s.size());
  return v;
}
value children_of(kind k, std::size_t cap = 0) {
  value v;
  sax_access::set_children(v, k, cap);
  return v;
}
value children_of(kind k, std::vector<value>&& items) {
  value v = children_of(k, items.size());
  for (value& x : items) v.push(std::move(x));
  return v;
}
} // namespace

value value::string(std::string_view s) { return text_of(kind::string, s); }
value value::uuid(std::string_view s) { return text_of(kind::uuid, s); }
value value::t(std::string_view s) { return text_of(kind::t, s); }
value value::direction(std::string_view s) { return text_of(kind::direction, s); }

value value::list(std::vector<value> items) { return children_of(kind::list, std::move(items)); }
value value::set(std::vector<value> items) { return children_of(kind::set, std::move(items)); }
value value::array(std::vector<value> items) { return children_of(kind::array, std::move(items)); }
value value::list() { return children_of(kind::list); }
value value::set() { return children_of(kind::set); }
value value::array() { return children_of(kind::array); }
value value::map() { return children_of(kind::map); }
value value::object() { return children_of(kind::object); }
value value::vertex(value id, std::string_view label) { return vertex(std::move(id), label, value()); }
value value::vertex_property(value id, value x, std::string_view label) {
  return vertex_property(std::move(id), std::move(x), label, value());
}

value value::map(std::vector<std::pair<value, value>> entries) {
  value v = children_of(kind::map, entries.size() * 2);
  for (auto& [k, x] : entries) { v.push(std::move(k)); v.push(std::move(x)); }
  return v;
}

value value::object(std::vector<std::pair<std::string, value>> members) {
  value v = children_of(kind::object, members.size() * 2);
  for (auto& [k, x] : members) v.put(k, std::move(x));
  return v;
}

value value::bulkset(std::vector<std::pair<value, std::int64_t>> entries) {
  value v = children_of(kind::bulkset, entries.size() * 2);
  for (auto& [x, n] : entries) { v.push(std::move(x)); v.push(value::int64(n)); }
  return v;
}

value value::element_of(kind k, value obj) {
  if (storage_of(obj.kind_) != storage::children) obj = value::object();
  obj.kind_ = k;
  return obj;
}

value value::vertex(value id, std::string_view label, value properties) {
  value v = children_of(kind::vertex, 6);
  v.put("id", std::move(id));
  v.put("label", value::string(label));
  if (!properties.is_null()) v.put("properties", std::move(properties));
  return v;
}

value value::vertex_property(value id, value x, std::string_view label, value meta) {
  value v = children_of(kind::vertex_property, 8);
  v.put("id", std::move(id));
  v.put("value", std::move(x));
  v.put("label", value::string(label));
  if (!meta.is_null()) v.put("properties", std::move(meta));
  return v;
}

value value::property(std::string_view key, value x) {
  value v = children_of(kind::property, 4);
  v.put("key", value::string(key));
  v.put("value", std::move(x));
  return v;
}

value value::edge(value id, std::string_view label, std::string_view in_label, std::string_view out_label,
                  value in_v, value out_v, value properties) {
  value v = children_of(kind::edge, 14);
  v.put("id", std::move(id));
  v.put("label", value::string(label));
  v.put("inVLabel", value::string(in_label));
  v.put("outVLabel", value::string(out_label));
  v.put("inV", std::move(in_v));
  v.put("outV", std::move(out_v));
  if (!properties.is_null()) v.put("properties", std::move(properties));
  return v;
}

value value::path(value labels, value objects) {
  value v = children_of(kind::path, 4);
  v.put("labels", std::move(labels));
  v.put("objects", std::move(objects));
  return v;
}

value value::traverser(std::int64_t bulk, value x) {
  value v = children_of(kind::traverser, 4);
  v.put("bulk", value::int64(bulk));
  v.put("value", std::move(x));
  return v;
}

value value::typed(std::string_view tag, value payload) {
  value v = children_of(kind::typed, 2);
  v.push(value::string(tag));
  v.push(std::move(payload));
  return v;
}

bool value::is_integral() const noexcept {
  return kind_ == kind::int32 || kind_ == kind::int64 || kind_ == kind::integer ||
         kind_ == kind::date || kind_ == kind::timestamp;
}
bool value::is_numeric() const noexcept {
  return is_integral() || kind_ == kind::float32 || kind_ == kind::float64 || kind_ == kind::number;
}
bool value::is_sequence() const noexcept {
  return kind_ == kind::list || kind_ == kind::set || kind_ == kind::array;
}
bool value::is_mapping() const noexcept { return kind_ == kind::map || kind_ == kind::object; }

std::int64_t value::as_int() const noexcept {
  if (is_integral()) return i_;
  if (kind_ == kind::float32 || kind_ == kind::float64 || kind_ == kind::number) {
    if (!std::isfinite(d_)) return 0;
    // Saturates: converting a double out of the range is undefined.
    if (d_ >= 0x1p63) return INT64_MAX;
    if (d_ < -0x1p63) return INT64_MIN;
    return static_cast<std::int64_t>(d_);
  }
  return 0;
}

double value::as_double() const noexcept {
  if (is_integral()) return static_cast<double>(i_);
  return d_;
}

bool value::keyed() const noexcept {
  switch (kind_) {
  case kind::map: case kind::object: case kind::vertex: case kind::edge: case kind::vertex_property:
  case kind::property: case kind::path: case kind::traverser:
    return true;
  default:
    return false;
  }
}

const value* value::get(std::string_view key) const noexcept {
  if (!keyed()) return nullptr;
  for (std::uint32_t i = 0; i + 1 < n_; i += 2)
    if (items_.p[i].kind_ == kind::string && items_.p[i].as_string() == key) return &items_.p[i + 1];
  return nullptr;
}

std::vector<std::pair<value, value>> value::entries() const {
  std::vector<std::pair<value, value>> out;
  if (!keyed()) return out;
  for (std::uint32_t i = 0; i + 1 < n_; i += 2) out.emplace_back(items_.p[i], items_.p[i + 1]);
  return out;
}

void value::put(std::string_view key, value v) {
  push(value::string(key));
  push(std::move(v));
}

bool operator==(const value& a, const value& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
  case kind::null: return true;
  case kind::boolean: return a.b_ == b.b_;
  case kind::int32: case kind::int64: case kind::integer: case kind::date: case kind::timestamp:
    return a.i_ == b.i_;
  case kind::float32: case kind::float64: case kind::number:
    return a.d_ == b.d_ || (std::isnan(a.d_) && std::isnan(b.d_));
  case kind::string: case kind::uuid: case kind::t: case kind::direction:
    return a.as_string() == b.as_string();
  default: { // children (a typed value's tag is its first)
    if (a.n_ != b.n_) return false;
    for (std::uint32_t i = 0; i < a.n_; ++i)
      if (a.items_.p[i] != b.items_.p[i]) return false;
    return true;
  }
  }
}

// ---- reader ---------------------------------------------------------------
// RapidJSON SAX events build the value tree directly (no DOM in between).
// A {"@type": tag, "@value": payload} wrapper is recognised as its keys
// arrive and never built: its tag is remembered, its payload is built as the
// wrapper's value, and on the closing brace the payload is retyped where it
// lies (a g:List's array becomes the list, a g:Int64's number the int64).
// An object that turns out to be something else is rebuilt as an object.

namespace {

// s == literal, compared inline (a known length lets the compiler unroll it).
template <std::size_t N> bool is(std::string_view s, const char (&lit)[N]) {
  return s.size() == N - 1 && std::memcmp(s.data(), lit, N - 1) == 0;
}

// The children of every open container, on one flat stack: a container's
// closing event moves their bytes into its exactly sized block.
class value_stack {
public:
  value_stack() = default;
  ~value_stack() {
    clear();
    ::operator delete(p_);
  }
  value_stack(const value_stack&) = delete;
  value_stack& operator=(const value_stack&) = delete;

  std::size_t size() const noexcept { return n_; }
  value& back() noexcept { return p_[n_ - 1]; }
  TLFLOW_INLINE value& emplace_back() {
    if (n_ == cap_) grow(n_ + 1);
    return *new (p_ + n_++) value();
  }
  void pop_back() noexcept { p_[--n_].~value(); }
  // The values from `base` on, moved into a new block (they leave).
  std::pair<value*, std::size_t> take_from(std::size_t base) {
    const std::size_t n = n_ - base;
    value* block = sax_access::new_block(sax_access::checked_size(n));
    sax_access::relocate(block, p_ + base, n);
    n_ = base;
    return {block, n};
  }
  // Puts n values (moved from `from`) at `pos`, after the values before it.
  void insert(std::size_t pos, value* from, std::size_t n) {
    if (n_ + n > cap_) grow(n_ + n);
    std::memmove(static_cast<void*>(p_ + pos + n), static_cast<const void*>(p_ + pos), (n_ - pos) * sizeof(value));
    for (std::size_t i = 0; i < n; ++i) new (p_ + pos + i) value(std::move(from[i]));
    n_ += n;
  }
  // Empties the stack; above `keep` values of room, gives it back.
  void clear(std::size_t keep = SIZE_MAX) noexcept {
    while (n_ > 0) pop_back();
    if (cap_ > keep) {
      ::operator delete(p_);
      p_ = nullptr;
      cap_ = 0;
    }
  }

private:
  void grow(std::size_t need) {
    std::size_t cap = std::max({need, cap_ * 2, std::size_t{256}});
    auto* p = static_cast<value*>(::operator new(cap * sizeof(value)));
    sax_access::relocate(p, p_, n_);
    ::operator delete(p_);
    p_ = p;
    cap_ = cap;
  }
  value* p_ = nullptr;
  std::size_t n_ = 0, cap_ = 0;
};

struct sax_builder : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, sax_builder> {
  // Children of open containers (an object's keys as strings, each before
  // its value) on the stack; each open container's frame.
  enum class wrap : std::uint8_t {
    none,      // a plain object (or not yet known)
    type_key,  // its first key was "@type"
    tag,       // ... then a string: the tag
    value_key, // ... then "@value": what follows is the payload
  };
  struct frame {
    std::size_t base;      // first child in vals
    wrap w;
    std::string_view tag;  // points into the parsed buffer
  };
  using access = sax_access;
  version ver;
  // Per thread, so that their capacity outlives one parse.
  value_stack& vals;
  std::vector<frame>& frames;
  value root;
  std::string error;

  sax_builder(version v, value_stack& stack, std::vector<frame>& open_frames)
      : ver(v), vals(stack), frames(open_frames) {}
  ~sax_builder() { // left over after an error
    vals.clear(4096);
    frames.clear();
  }
  sax_builder(const sax_builder&) = delete;
  sax_builder& operator=(const sax_builder&) = delete;

  bool fail(std::string why) {
    if (error.empty()) error = std::move(why);
    return false;
  }

  // A wrapper that turned out to be a plain object: its suppressed "@type"
  // key, tag and "@value" key are put back where they belong.
  void unwrap(frame& f) {
    if (f.w == wrap::none) return;
    value put_back[3];
    std::size_t n = 0;
    access::set_string(put_back[n++], "@type", 5);
    if (f.w != wrap::type_key) access::set_string(put_back[n++], f.tag.data(), f.tag.size());
    if (f.w == wrap::value_key) access::set_string(put_back[n++], "@value", 6);
    f.w = wrap::none;
    // Before the payload, if it has been read already.
    vals.insert(f.base, put_back, n);
  }
  // Where the next value goes: the root, or the innermost container.
  TLFLOW_INLINE value& slot() {
    if (frames.empty()) return root;
    if (frames.back().w == wrap::type_key) unwrap(frames.back()); // a tag that is not a string
    return vals.emplace_back();
  }

  bool Null() { slot(); return true; }
  bool Bool(bool b) { access::set_bool(slot(), b); return true; }
  // Numbers arrive as their text (RapidJSON has checked the grammar) and
  // are converted here: RapidJSON 1.1's full-precision conversion gets a
  // zero with an exponent wrong ("0E47" read as 4.8e111, found by
  // graphson_fuzz), and its fast one is not exact. from_chars is both.
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    const char* end = s + n;
    std::int64_t i = 0;
    if (auto r = std::from_chars(s, end, i); r.ec == std::errc() && r.ptr == end) { // an integer that fits
      access::set_int(slot(), kind::integer, i);
      return true;
    }
    double d = 0;
    auto [ptr, ec] = std::from_chars(s, end, d);
    if (ec == std::errc::result_out_of_range) {
      // Too small: zero (as RapidJSON and Java read it). Too big: an error.
      const char* e = std::find_if(s, end, [](char c) { return c == 'e' || c == 'E'; });
      if (e + 1 < end && e[1] == '-') d = *s == '-' ? -0.0 : 0.0;
      else return fail("number out of range: " + std::string(s, std::min<std::size_t>(n, 40)));
    } else if (ec != std::errc() || ptr != end) {
      return fail("not a number: " + std::string(s, std::min<std::size_t>(n, 40)));
    }
    access::set_double(slot(), kind::number, d);
    return true;
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (!frames.empty() && frames.back().w == wrap::type_key) {
      frames.back().w = wrap::tag;
      frames.back().tag = std::string_view(s, n);
      return true;
    }
    access::set_padded_string(slot(), s, n);
    return true;
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    frame& f = frames.back();
    const std::string_view k(s, n);
    if (f.w == wrap::none) {
      if (ver != version::v1 && is(k, "@type") && vals.size() == f.base) {
        f.w = wrap::type_key;
        return true;
      }
    } else if (f.w == wrap::tag && is(k, "@value")) {
      f.w = wrap::value_key;
      return true;
    } else {
      unwrap(f);
    }
    access::set_padded_string(vals.emplace_back(), s, n);
    return true;
  }
  bool StartObject() { return open(); }
  bool StartArray() { return open(); }
  // Deeper input is refused before RapidJSON's recursion (and then this
  // tree's destructor and writer) can run out of stack; Gremlin results
  // nest a few dozen levels at most.
  static constexpr std::size_t max_depth = 256;
  bool open() {
    if (frames.size() >= max_depth) return fail("nested deeper than " + std::to_string(max_depth) + " levels");
    if (!frames.empty() && frames.back().w == wrap::type_key) unwrap(frames.back());
    frames.push_back({vals.size(), wrap::none, {}});
    return true;
  }

  // Closes the innermost container as a value of kind `k`.
  bool close(kind k) {
    const std::size_t base = frames.back().base;
    frames.pop_back();
    auto [block, n] = vals.take_from(base);
    access::adopt(slot(), k, block, n); // where the values were: no allocation, no leak
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    frame& f = frames.back();
    if (f.w == wrap::value_key && vals.size() == f.base + 1) {
      const std::string_view tag = f.tag;
      frames.pop_back();
      if (frames.empty()) { // the payload was the root's only child
        root = std::move(vals.back());
        vals.pop_back();
        return retyped(tag, root);
      }
      return retyped(tag, vals.back());
    }
    unwrap(f);
    return close(kind::object);
  }
  bool EndArray(rapidjson::SizeType) { return close(ver == version::v3 ? kind::array : kind::list); }

  bool int_payload(value& p, kind k) {
    if (!p.is_numeric()) return fail("expected an integer payload");
    std::int64_t i = p.as_int();
    if (k == kind::int32) i = static_cast<std::int32_t>(i);
    access::set_int(p, k, i);
    return true;
  }
  bool double_payload(value& p, kind k) {
    double d = 0;
    if (p.is_numeric()) {
      d = p.as_double();
    } else if (p.is_string()) {
      std::string s(p.as_string());
      for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (s == "nan") d = std::nan("");
      else if (s == "infinity" || s == "inf") d = HUGE_VAL;
      else if (s == "-infinity" || s == "-inf") d = -HUGE_VAL;
      else return fail("expected a number payload");
      p = value();
    } else {
      return fail("expected a number payload");
    }
    if (k == kind::float32) d = static_cast<float>(d);
    access::set_double(p, k, d);
    return true;
  }
  bool string_payload(value& p, kind k) {
    if (!p.is_string()) return fail("expected a string payload");
    access::retype(p, k);
    return true;
  }
  bool seq_payload(value& p, kind k, bool pairs) {
    if (!p.is_sequence()) return fail("expected an array payload");
    if (pairs && p.items().size() % 2 != 0) return fail("odd number of items in a g:Map or g:BulkSet");
    access::retype(p, k);
    return true;
  }
  // A bulk set stands for its items repeated and the client expands it: a
  // few bytes with a bulk of 10^13 must not become 10^13 copies. 2^20
  // copies of a 48-byte value are ~50 MB, on the order of the largest
  // message the client accepts (64 MB).
  static constexpr std::int64_t max_bulk_total = std::int64_t{1} << 20;
  bool bulks_bounded(const value& p) {
    std::int64_t total = 0;
    for (std::size_t i = 1; i < p.items().size(); i += 2) {
      const value& b = p.items()[i];
      if (!b.is_integral() || b.as_int() < 0) return fail("a g:BulkSet bulk is not a count");
      total += b.as_int();
      if (total > max_bulk_total) return fail("a g:BulkSet of more than 2^20 items");
    }
    return true;
  }
  bool element_payload(value& p, kind k) {
    if (p.k() != kind::object) return fail("expected an object payload");
    access::retype(p, k);
    return true;
  }

  // Turns payload `p` of a wrapper tagged `tag` into the value it stands for.
  bool retyped(std::string_view tag, value& p) {
    if (tag.size() > 2 && tag[0] == 'g' && tag[1] == ':') {
      const std::string_view t = tag.substr(2);
      // The most frequent tags first.
      if (is(t, "Int64")) return int_payload(p, kind::int64);
      if (is(t, "List")) return seq_payload(p, kind::list, false);
      if (is(t, "VertexProperty")) return element_payload(p, kind::vertex_property);
      if (is(t, "Vertex")) return element_payload(p, kind::vertex);
      if (is(t, "Int32")) return int_payload(p, kind::int32);
      if (is(t, "Double")) return double_payload(p, kind::float64);
      if (is(t, "Float")) return double_payload(p, kind::float32);
      if (is(t, "UUID")) return string_payload(p, kind::uuid);
      if (is(t, "Date")) return int_payload(p, kind::date);
      if (is(t, "Timestamp")) return int_payload(p, kind::timestamp);
      if (is(t, "T")) return string_payload(p, kind::t);
      if (is(t, "Direction")) return string_payload(p, kind::direction);
      if (is(t, "Set")) return seq_payload(p, kind::set, false);
      if (is(t, "Map")) return seq_payload(p, kind::map, true);
      if (is(t, "BulkSet")) return seq_payload(p, kind::bulkset, true) && bulks_bounded(p);
      if (is(t, "Edge")) return element_payload(p, kind::edge);
      if (is(t, "Property")) return element_payload(p, kind::property);
      if (is(t, "Path")) return element_payload(p, kind::path);
      if (is(t, "Traverser")) return element_payload(p, kind::traverser);
    }
    p = value::typed(tag, std::move(p));
    return true;
  }
};

result<value> parse_value(std::string_view text, version ver) {
  thread_local value_stack stack;
  thread_local std::vector<sax_builder::frame> frames;
  sax_builder b(ver, stack, frames);
  rapidjson::Reader reader;
  // Parsed in place in a per-thread, null-terminated copy: strings are
  // unescaped where they lie instead of char by char through a stack. The
  // zeros after it are for set_padded_string and the SSE2 scans (see the
  // includes).
  thread_local std::string buf;
  buf.assign(text.data(), text.size());
  buf.append(sax_access::padding, '\0');
  rapidjson::InsituStringStream is(buf.data());
  reader.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseInsituFlag>(is, b);
  if (buf.capacity() > (std::size_t{4} << 20)) std::string().swap(buf); // keep at most 4 MB
  if (reader.HasParseError()) {
    if (!b.error.empty()) return error{errc::invalid_argument, "GraphSON: " + b.error};
    return error{errc::malformed_json, std::string("GraphSON: ") + rapidjson::GetParseError_En(reader.GetParseErrorCode()) +
                                           " at offset " + std::to_string(reader.GetErrorOffset())};
  }
  return std::move(b.root);
}

// Moves a member out of an object (leaving null behind).
value take(value& obj, std::string_view key) {
  auto it = obj.items();
  for (std::size_t i = 0; i + 1 < it.size(); i += 2)
    if (it[i].is_string() && it[i].as_string() == key) return std::move(it[i + 1]);
  return {};
}

} // namespace

// ---- writer ---------------------------------------------------------------

namespace {

// Compact JSON appended to one std::string, byte-for-byte what
// rapidjson::Writer produces (same escapes, same integer and Grisu double
// text), without its per-call bookkeeping: one comma/colon decision per value.
class json_writer {
public:
  // Writes into `out` from its start, sized up front and trimmed by the
  // destructor, so that each piece is a bounds check and a memcpy.
  explicit json_writer(std::string& out) : out_(out) {
    levels_.reserve(32);
    out_.resize(std::max<std::size_t>(out_.capacity(), 256));
  }
  ~json_writer() { out_.resize(n_); }
  json_writer(const json_writer&) = delete;
  json_writer& operator=(const json_writer&) = delete;

  void Null() { prefix(); put("null"); }
  void Bool(bool b) { prefix(); if (b) put("true"); else put("false"); }
  void Int(int i) { Int64(i); }
  void Int64(std::int64_t i) {
    prefix();
    char* p = room(24);
    n_ += static_cast<std::size_t>(rapidjson::internal::i64toa(i, p) - p);
  }
  void Double(double d) {
    prefix();
    char* p = room(32);
    n_ += static_cast<std::size_t>(rapidjson::internal::dtoa(d, p, 324) - p);
  }
  void String(const char* s) { String(s, std::strlen(s)); }
  void String(const char* s, std::size_t n) { prefix(); quoted(s, n); }
  void Key(const char* s) { Key(s, std::strlen(s)); }
  void Key(const char* s, std::size_t n) { prefix(); quoted(s, n); }
  // A key that needs no escaping, given with its quotes.
  template <std::size_t N> void RawKey(const char (&k)[N]) {
    prefix();
    put(k);
  }
  // {"@type":"tag","@value" for a tag that needs no escaping; the payload
  // that follows brings its colon, EndObject the closing brace.
  template <std::size_t N> void StartTyped(const char (&tag)[N]) {
    prefix();
    put("{\"@type\":\"");
    put(tag);
    put("\",\"@value\"");
    levels_.push_back(3);
  }
  void StartObject() { prefix(); put("{"); levels_.push_back(0); }
  void EndObject() { levels_.pop_back(); put("}"); }
  void StartArray() { prefix(); put("["); levels_.push_back(array_mark); }
  void EndArray() { levels_.pop_back(); put("]"); }

private:
  static constexpr std::uint32_t array_mark = 0x80000000u; // high bit: array; low bits: count
  TLFLOW_INLINE char* room(std::size_t n) {
    if (n_ + n > out_.size()) out_.resize(std::max(out_.size() * 2, n_ + n));
    return &out_[n_];
  }
  TLFLOW_INLINE void put(const char* s, std::size_t n) {
    std::memcpy(room(n), s, n);
    n_ += n;
  }
  template <std::size_t N> TLFLOW_INLINE void put(const char (&lit)[N]) { put(lit, N - 1); }
  TLFLOW_INLINE void prefix() {
    if (levels_.empty()) return;
    std::uint32_t& l = levels_.back();
    std::uint32_t n = l & ~array_mark;
    if (n > 0) put((l & array_mark) || n % 2 == 0 ? "," : ":");
    ++l;
  }
  static bool needs_escape(unsigned char c) {
    static constexpr auto table = [] {
      std::array<bool, 256> t{};
      for (std::size_t i = 0; i < 0x20; ++i) t[i] = true;
      t['"'] = t['\\'] = true;
      return t;
    }();
    return table[c];
  }
  void quoted(const char* s, std::size_t n) {
    std::size_t clean = 0;
    while (clean < n && !needs_escape(static_cast<unsigned char>(s[clean]))) ++clean;
    if (clean == n) { // the usual case: one copy
      char* p = room(n + 2);
      p[0] = '"';
      std::memcpy(p + 1, s, n);
      p[n + 1] = '"';
      n_ += n + 2;
      return;
    }
    static const char hex[] = "0123456789ABCDEF";
    put("\"");
    put(s, clean);
    std::size_t run = clean;
    for (std::size_t i = clean; i < n; ++i) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (!needs_escape(c)) continue;
      put(s + run, i - run);
      run = i + 1;
      char e[6] = {'\\', 0, 0, 0, 0, 0};
      std::size_t len = 2;
      switch (c) {
      case '"': e[1] = '"'; break;
      case '\\': e[1] = '\\'; break;
      case '\b': e[1] = 'b'; break;
      case '\t': e[1] = 't'; break;
      case '\n': e[1] = 'n'; break;
      case '\f': e[1] = 'f'; break;
      case '\r': e[1] = 'r'; break;
      default: e[1] = 'u'; e[2] = '0'; e[3] = '0'; e[4] = hex[c >> 4]; e[5] = hex[c & 0xF]; len = 6;
      }
      put(e, len);
    }
    put(s + run, n - run);
    put("\"");
  }
  std::string& out_;
  std::size_t n_ = 0; // bytes written; out_ is longer until the destructor
  std::vector<std::uint32_t> levels_;
};

// The shortest decimal that reads back as the same float, as a double, so
// that the JSON shows 0.1 (as Java's Float.toString does), not 0.100000001.
double float_as_decimal(float f) {
  char buf[48];
  for (int prec = 1; prec <= 9; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, static_cast<double>(f));
    if (std::strtof(buf, nullptr) == f) break;
  }
  return std::strtod(buf, nullptr);
}

struct writer {
  version ver;
  json_writer& w;
  bool objects_as_maps = false; // GraphSON 3 requests: every object as g:Map

  void str(std::string_view s) { w.String(s.data(), s.size()); }
  void key(std::string_view s) { w.Key(s.data(), s.size()); }
  template <std::size_t N> void open(const char (&tag)[N]) { w.StartTyped(tag); }
  void open(std::string_view tag) { // any tag, escaped
    w.StartObject();
    w.RawKey("\"@type\"");
    str(tag);
    w.RawKey("\"@value\"");
  }
  void close() { w.EndObject(); }

  void dbl(double d) {
    if (std::isnan(d)) w.String("NaN");
    else if (std::isinf(d)) w.String(d > 0 ? "Infinity" : "-Infinity");
    else w.Double(d);
  }
  void flt(double d) {
    if (!std::isfinite(d)) { dbl(d); return; }
    w.Double(float_as_decimal(static_cast<float>(d)));
  }

  bool typed_mode() const { return ver != version::v1; }

  template <std::size_t N, class F> void wrap(const char (&tag)[N], F&& body) {
    if (typed_mode()) { open(tag); body(); close(); } else body();
  }

  static std::string key_text(const value& k) {
    switch (k.k()) {
    case kind::string: case kind::uuid: case kind::t: case kind::direction: return std::string(k.as_string());
    case kind::boolean: return k.as_bool() ? "true" : "false";
    case kind::null: return "null";
    default:
      if (k.is_integral()) return std::to_string(k.as_int());
      if (k.is_numeric()) { char b[32]; std::snprintf(b, sizeof b, "%.17g", k.as_double()); return b; }
      return write(k, version::v1);
    }
  }

  void array(span<const value> items) {
    w.StartArray();
    for (const auto& x : items) any(x);
    w.EndArray();
  }

  void members(const value& v, const char* type_name = nullptr, bool skip_label = false) {
    w.StartObject();
    const auto it = v.items();
    for (std::size_t i = 0; i + 1 < it.size(); i += 2) {
      const std::string_view k = it[i].as_string();
      if (skip_label && k == "label") continue;
      key(k);
      const value& x = it[i + 1];
      if (v.k() == kind::edge && !typed_mode() && k == "properties" && x.k() == kind::object) {
        // GraphSON 1.0 edges carry bare property values.
        w.StartObject();
        for (std::size_t j = 0; j + 1 < x.items().size(); j += 2) {
          const value& p = x.items()[j + 1];
          key(x.items()[j].as_string());
          const value* pv = p.k() == kind::property ? p.get("value") : nullptr;
          any(pv ? *pv : p);
        }
        w.EndObject();
      } else {
        any(x);
      }
      if (type_name && k == "label") { w.Key("type"); w.String(type_name); }
    }
    w.EndObject();
  }

  template <std::size_t N>
  void element(const char (&tag)[N], const value& v, const char* v1_type = nullptr, bool v1_skip_label = false) {
    bool maps = std::exchange(objects_as_maps, false); // an element's payload stays an object
    if (typed_mode()) { open(tag); members(v); close(); }
    else members(v, v1_type, v1_skip_label);
    objects_as_maps = maps;
  }

  void any(const value& v) {
    switch (v.k()) {
    case kind::null: w.Null(); return;
    case kind::boolean: w.Bool(v.as_bool()); return;
    case kind::int32: wrap("g:Int32", [&] { w.Int64(v.as_int()); }); return;
    case kind::int64: wrap("g:Int64", [&] { w.Int64(v.as_int()); }); return;
    case kind::float32: wrap("g:Float", [&] { flt(v.as_double()); }); return;
    case kind::float64: wrap("g:Double", [&] { dbl(v.as_double()); }); return;
    case kind::integer: w.Int64(v.as_int()); return;
    case kind::number: dbl(v.as_double()); return;
    case kind::string: str(v.as_string()); return;
    case kind::uuid: wrap("g:UUID", [&] { str(v.as_string()); }); return;
    case kind::date: wrap("g:Date", [&] { w.Int64(v.as_int()); }); return;
    case kind::timestamp: wrap("g:Timestamp", [&] { w.Int64(v.as_int()); }); return;
    case kind::t: wrap("g:T", [&] { str(v.as_string()); }); return;
    case kind::direction: wrap("g:Direction", [&] { str(v.as_string()); }); return;
    case kind::list:
      if (ver == version::v3) { open("g:List"); array(v.items()); close(); } else array(v.items());
      return;
    case kind::set:
      if (ver == version::v3) { open("g:Set"); array(v.items()); close(); } else array(v.items());
      return;
    case kind::array: array(v.items()); return;
    case kind::map:
      if (ver == version::v3) { open("g:Map"); array(v.items()); close(); return; }
      w.StartObject();
      for (std::size_t i = 0; i + 1 < v.items().size(); i += 2) {
        key(key_text(v.items()[i]));
        any(v.items()[i + 1]);
      }
      w.EndObject();
      return;
    case kind::object:
      if (objects_as_maps && ver == version::v3) {
        open("g:Map");
        array(v.items());
        close();
        return;
      }
      members(v);
      return;
    case kind::bulkset:
      if (ver == version::v3) { open("g:BulkSet"); array(v.items()); close(); return; }
      w.StartArray();
      for (std::size_t i = 0; i + 1 < v.items().size(); i += 2)
        for (std::int64_t n = 0; n < v.items()[i + 1].as_int(); ++n) any(v.items()[i]);
      w.EndArray();
      return;
    case kind::vertex: element("g:Vertex", v, "vertex"); return;
    case kind::edge: element("g:Edge", v, "edge"); return;
    case kind::vertex_property: element("g:VertexProperty", v, nullptr, true); return;
    case kind::property: element("g:Property", v); return;
    case kind::path: element("g:Path", v); return;
    case kind::traverser: element("g:Traverser", v); return;
    case kind::typed: {
      bool maps = std::exchange(objects_as_maps, false); // kept verbatim
      if (typed_mode()) { open(v.as_string()); any(v.payload()); close(); }
      else any(v.payload());
      objects_as_maps = maps;
      return;
    }
    }
  }
};

void render_into(std::string& out, version ver, const std::function<void(writer&)>& body) {
  out.clear();
  json_writer w(out);
  writer wr{ver, w};
  body(wr);
}
std::string render(version ver, const std::function<void(writer&)>& body) {
  std::string out;
  out.reserve(256);
  render_into(out, ver, body);
  return out;
}

std::optional<std::string> id_text(const value& v) {
  if (v.k() == kind::string || v.k() == kind::uuid) return std::string(v.as_string());
  return std::nullopt;
}

} // namespace

std::string write(const value& v, version ver) {
  return render(ver, [&](writer& w) { w.any(v); });
}

result<value> read(std::string_view text, version ver) {
  return parse_value(text, ver);
}

std::string write_request(const request& req, version ver) {
  return render(ver, [&](writer& w) {
    w.w.StartObject();
    w.w.Key("requestId"); w.str(req.request_id);
    w.w.Key("op"); w.str(req.op);
    w.w.Key("processor"); w.str(req.processor);
    w.w.Key("args");
    w.objects_as_maps = true;
    const bool v3 = ver == version::v3;
    auto member = [&](const std::string& k, const value& v) {
      if (v3) w.str(k); else w.key(k);
      w.any(v);
    };
    if (v3) { w.open("g:Map"); w.w.StartArray(); } else { w.w.StartObject(); }
    const auto a = req.args.items();
    for (std::size_t i = 0; i + 1 < a.size(); i += 2) member(writer::key_text(a[i]), a[i + 1]);
    if (req.bindings) member("bindings", *req.bindings);
    if (v3) { w.w.EndArray(); w.close(); } else { w.w.EndObject(); }
    w.w.EndObject();
  });
}

result<request> read_request(std::string_view text, version ver) {
  auto parsed = parse_value(text, ver);
  if (!parsed) return std::move(parsed).err();
  value& v = *parsed;
  if (v.k() != kind::object) return error{errc::invalid_argument, "request is not an object"};
  request out;
  const value* id = v.get("requestId");
  if (!id || !id_text(*id)) return error{errc::invalid_argument, "requestId missing"};
  out.request_id = *id_text(*id);
  const value* op = v.get("op");
  if (!op || !op->is_string()) return error{errc::invalid_argument, "op missing"};
  out.op = op->as_string();
  if (const value* p = v.get("processor"); p && p->is_string()) out.processor = p->as_string();
  if (const value* a = v.get("args"); a && a->is_mapping()) out.args = take(v, "args");
  return out;
}

result<response> read_response(std::string_view text, version ver) {
  auto parsed = parse_value(text, ver);
  if (!parsed) return std::move(parsed).err();
  value& v = *parsed;
  if (v.k() != kind::object) return error{errc::invalid_argument, "response is not an object"};
  response out;
  if (const value* id = v.get("requestId"); id) out.request_id = id_text(*id);
  value st = take(v, "status");
  if (st.k() != kind::object) return error{errc::invalid_argument, "status missing"};
  const value* code = st.get("code");
  if (!code || !code->is_numeric()) return error{errc::invalid_argument, "status.code missing"};
  out.code = static_cast<int>(code->as_int());
  if (const value* m = st.get("message"); m && m->is_string()) out.message = m->as_string();
  if (st.get("attributes")) out.attributes = take(st, "attributes");
  value res = take(v, "result");
  if (res.k() == kind::object) {
    if (res.get("data")) out.data = take(res, "data");
    if (res.get("meta")) out.meta = take(res, "meta");
  }
  return out;
}

std::string write_response(const response& resp, version ver) {
  std::string out;
  out.reserve(256);
  write_response(resp, ver, out);
  return out;
}

void write_response(const response& resp, version ver, std::string& out) {
  render_into(out, ver, [&](writer& w) {
    w.w.StartObject();
    w.w.Key("requestId");
    if (resp.request_id) w.str(*resp.request_id); else w.w.Null();
    w.w.Key("status");
    w.w.StartObject();
    w.w.Key("message"); w.str(resp.message);
    w.w.Key("code"); w.w.Int(resp.code);
    w.w.Key("attributes");
    w.objects_as_maps = true;
    w.any(resp.attributes);
    w.objects_as_maps = false;
    w.w.EndObject();
    w.w.Key("result");
    w.w.StartObject();
    w.w.Key("data"); w.any(resp.data);
    w.w.Key("meta");
    w.objects_as_maps = true;
    w.any(resp.meta);
    w.w.EndObject();
    w.w.EndObject();
  });
}

std::string random_uuid() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   (static_cast<std::uint64_t>(std::random_device{}()) << 32)};
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL; // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; // variant 10
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xffff),
                static_cast<unsigned>(hi & 0xffff), static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}
} // namespace tlflow::gremlin::graphson
