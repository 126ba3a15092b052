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

#include <rapidjson/document.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/internal/dtoa.h>
#include <rapidjson/internal/itoa.h>

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

// Builds values in place: for the reader, and the factories below.
struct sax_access {
  static void retype(value& v, kind k) { v.kind_ = k; }
  static void set_int(value& v, kind k, std::int64_t i) { v.kind_ = k; v.i_ = i; }
  static void set_double(value& v, kind k, double d) { v.kind_ = k; v.d_ = d; }
  static void set_bool(value& v, bool b) { v.kind_ = kind::boolean; v.b_ = b; }
  // v holds no storage (a fresh slot).
  static void set_string(value& v, const char* s, std::size_t n) {
    v.kind_ = kind::string;
    new (&v.s_) std::string(s, n);
  }
  static void set_text(value& v, kind k, std::string&& s) {
    v.kind_ = k;
    new (&v.s_) std::string(std::move(s));
  }
  static void set_items(value& v, kind k, std::vector<value>&& items) {
    v.kind_ = k;
    new (&v.items_) std::vector<value>(std::move(items));
  }
};

void value::destroy() noexcept {
  switch (storage_of(kind_)) {
  case storage::text: s_.~basic_string(); break;
  case storage::children: items_.~vector(); break;
  case storage::none: break;
  }
}

void value::steal(value& o) noexcept {
  kind_ = o.kind_;
  b_ = o.b_;
  std::memcpy(&i_, &o.i_, sizeof i_); // i_ or d_
  switch (storage_of(kind_)) {
  case storage::text: new (&s_) std::string(std::move(o.s_)); break;
  case storage::children: new (&items_) std::vector<value>(std::move(o.items_)); break;
  case storage::none: break;
  }
}

value::value(const value& o) : kind_(o.kind_), b_(o.b_) {
  std::memcpy(&i_, &o.i_, sizeof i_);
  switch (storage_of(kind_)) {
  case storage::text: new (&s_) std::string(o.s_); break;
  case storage::children: new (&items_) std::vector<value>(o.items_); break;
  case storage::none: break;
  }
}

value::value(value&& o) noexcept { steal(o); }

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

value::~value() { destroy(); }

const std::string& value::text_of_other() const noexcept {
  static const std::string none;
  if (kind_ == kind::typed && !items_.empty()) return items_.front().as_string();
  return none;
}

const std::vector<value>& value::no_items() noexcept {
  static const std::vector<value> none;
  return none;
}

std::vector<value>& value::dropped_items() noexcept {
  thread_local std::vector<value> dropped;
  dropped.clear();
  return dropped;
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
value text_of(kind k, std::string s) {
  value v;
  sax_access::set_text(v, k, std::move(s));
  return v;
}
value children_of(kind k, std::vector<value> items) {
  value v;
  sax_access::set_items(v, k, std::move(items));
  return v;
}
} // namespace

value value::string(std::string s) { return text_of(kind::string, std::move(s)); }
value value::uuid(std::string s) { return text_of(kind::uuid, std::move(s)); }
value value::t(std::string s) { return text_of(kind::t, std::move(s)); }
value value::direction(std::string s) { return text_of(kind::direction, std::move(s)); }

value value::list(std::vector<value> items) { return children_of(kind::list, std::move(items)); }
value value::set(std::vector<value> items) { return children_of(kind::set, std::move(items)); }
value value::array(std::vector<value> items) { return children_of(kind::array, std::move(items)); }
value value::list() { return list({}); }
value value::set() { return set({}); }
value value::array() { return array({}); }
value value::map() { return children_of(kind::map, {}); }
value value::object() { return children_of(kind::object, {}); }
value value::vertex(value id, std::string label) { return vertex(std::move(id), std::move(label), value()); }
value value::vertex_property(value id, value x, std::string label) {
  return vertex_property(std::move(id), std::move(x), std::move(label), value());
}

value value::map(std::vector<std::pair<value, value>> entries) {
  std::vector<value> items;
  items.reserve(entries.size() * 2);
  for (auto& [k, x] : entries) { items.push_back(std::move(k)); items.push_back(std::move(x)); }
  return children_of(kind::map, std::move(items));
}

value value::object(std::vector<std::pair<std::string, value>> members) {
  std::vector<value> items;
  items.reserve(members.size() * 2);
  for (auto& [k, x] : members) { items.push_back(value::string(std::move(k))); items.push_back(std::move(x)); }
  return children_of(kind::object, std::move(items));
}

value value::bulkset(std::vector<std::pair<value, std::int64_t>> entries) {
  std::vector<value> items;
  items.reserve(entries.size() * 2);
  for (auto& [x, n] : entries) { items.push_back(std::move(x)); items.push_back(value::int64(n)); }
  return children_of(kind::bulkset, std::move(items));
}

value value::element_of(kind k, value obj) {
  if (storage_of(obj.kind_) != storage::children) obj = value::object();
  obj.kind_ = k;
  return obj;
}

#define TLFLOW_ELEMENT(k_, members_) return element_of((k_), value::object(members_))

value value::vertex(value id, std::string label, value properties) {
  std::vector<std::pair<std::string, value>> m;
  m.emplace_back("id", std::move(id));
  m.emplace_back("label", value::string(std::move(label)));
  if (!properties.is_null()) m.emplace_back("properties", std::move(properties));
  TLFLOW_ELEMENT(kind::vertex, std::move(m));
}

value value::vertex_property(value id, value x, std::string label, value meta) {
  std::vector<std::pair<std::string, value>> m;
  m.emplace_back("id", std::move(id));
  m.emplace_back("value", std::move(x));
  m.emplace_back("label", value::string(std::move(label)));
  if (!meta.is_null()) m.emplace_back("properties", std::move(meta));
  TLFLOW_ELEMENT(kind::vertex_property, std::move(m));
}

value value::property(std::string key, value x) {
  std::vector<std::pair<std::string, value>> m;
  m.emplace_back("key", value::string(std::move(key)));
  m.emplace_back("value", std::move(x));
  TLFLOW_ELEMENT(kind::property, std::move(m));
}

value value::edge(value id, std::string label, std::string in_label, std::string out_label,
                  value in_v, value out_v, value properties) {
  std::vector<std::pair<std::string, value>> m;
  m.emplace_back("id", std::move(id));
  m.emplace_back("label", value::string(std::move(label)));
  m.emplace_back("inVLabel", value::string(std::move(in_label)));
  m.emplace_back("outVLabel", value::string(std::move(out_label)));
  m.emplace_back("inV", std::move(in_v));
  m.emplace_back("outV", std::move(out_v));
  if (!properties.is_null()) m.emplace_back("properties", std::move(properties));
  TLFLOW_ELEMENT(kind::edge, std::move(m));
}

value value::path(value labels, value objects) {
  std::vector<std::pair<std::string, value>> m;
  m.emplace_back("labels", std::move(labels));
  m.emplace_back("objects", std::move(objects));
  TLFLOW_ELEMENT(kind::path, std::move(m));
}

value value::traverser(std::int64_t bulk, value x) {
  std::vector<std::pair<std::string, value>> m;
  m.emplace_back("bulk", value::int64(bulk));
  m.emplace_back("value", std::move(x));
  TLFLOW_ELEMENT(kind::traverser, std::move(m));
}
#undef TLFLOW_ELEMENT

value value::typed(std::string tag, value payload) {
  std::vector<value> items;
  items.reserve(2);
  items.push_back(value::string(std::move(tag)));
  items.push_back(std::move(payload));
  return children_of(kind::typed, std::move(items));
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
  for (std::size_t i = 0; i + 1 < items_.size(); i += 2)
    if (items_[i].kind_ == kind::string && items_[i].s_ == key) return &items_[i + 1];
  return nullptr;
}

std::vector<std::pair<value, value>> value::entries() const {
  std::vector<std::pair<value, value>> out;
  if (!keyed()) return out;
  for (std::size_t i = 0; i + 1 < items_.size(); i += 2) out.emplace_back(items_[i], items_[i + 1]);
  return out;
}

void value::put(std::string key, value v) {
  items_.push_back(value::string(std::move(key)));
  items_.push_back(std::move(v));
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
    return a.s_ == b.s_;
  default:
    return a.items_ == b.items_; // children (a typed value's tag is its first)
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

struct sax_builder : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, sax_builder> {
  // Children of every open container (an object's keys as strings, each
  // before its value) sit on one flat stack; a container's closing event
  // moves its range into an exactly sized vector.
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
  std::vector<value>& vals;
  std::vector<frame>& frames;
  value root;
  std::string error;

  sax_builder(version v, std::vector<value>& stack, std::vector<frame>& open_frames)
      : ver(v), vals(stack), frames(open_frames) {}
  ~sax_builder() { // left over after an error
    vals.clear();
    frames.clear();
    if (vals.capacity() > 4096) std::vector<value>().swap(vals);
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
    vals.insert(vals.begin() + static_cast<std::ptrdiff_t>(f.base), std::make_move_iterator(put_back),
                std::make_move_iterator(put_back + n));
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
    access::set_string(slot(), s, n);
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
    access::set_string(vals.emplace_back(), s, n);
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
    const frame f = frames.back();
    frames.pop_back();
    std::vector<value> items(std::make_move_iterator(vals.begin() + static_cast<std::ptrdiff_t>(f.base)),
                             std::make_move_iterator(vals.end()));
    vals.resize(f.base);
    access::set_items(slot(), k, std::move(items));
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
      std::string s = p.as_string();
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
    p = value::typed(std::string(tag), std::move(p));
    return true;
  }
};

result<value> parse_value(std::string_view text, version ver) {
  thread_local std::vector<value> stack;
  thread_local std::vector<sax_builder::frame> frames;
  sax_builder b(ver, stack, frames);
  rapidjson::Reader reader;
  // Parsed in place in a per-thread, null-terminated copy: strings are
  // unescaped where they lie instead of char by char through a stack.
  thread_local std::string buf;
  buf.assign(text.data(), text.size());
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
  auto& it = obj.items();
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

  void str(const std::string& s) { w.String(s.data(), s.size()); }
  void key(const std::string& s) { w.Key(s.data(), s.size()); }
  template <std::size_t N> void open(const char (&tag)[N]) { w.StartTyped(tag); }
  void open(const std::string& tag) { // any tag, escaped
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
    case kind::string: case kind::uuid: case kind::t: case kind::direction: return k.as_string();
    case kind::boolean: return k.as_bool() ? "true" : "false";
    case kind::null: return "null";
    default:
      if (k.is_integral()) return std::to_string(k.as_int());
      if (k.is_numeric()) { char b[32]; std::snprintf(b, sizeof b, "%.17g", k.as_double()); return b; }
      return write(k, version::v1);
    }
  }

  void array(const std::vector<value>& items) {
    w.StartArray();
    for (const auto& x : items) any(x);
    w.EndArray();
  }

  void members(const value& v, const char* type_name = nullptr, bool skip_label = false) {
    w.StartObject();
    const auto& it = v.items();
    for (std::size_t i = 0; i + 1 < it.size(); i += 2) {
      const std::string& k = it[i].as_string();
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
  if (v.k() == kind::string || v.k() == kind::uuid) return v.as_string();
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
    const auto& a = req.args.items();
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
